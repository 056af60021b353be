package validation

import (
	"fmt"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/flagext"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
)

// StreamRetention is one entry of Loki's retention_stream limit: the streams Selector matches
// keep their entries for Period. When several entries match a stream, the one with the highest
// Priority wins (the longer period on a tie).
type StreamRetention struct {
	Period   flagext.Duration `yaml:"period"`
	Priority int              `yaml:"priority"`
	Selector string           `yaml:"selector"`
	// Matchers is Selector parsed; UnmarshalYAML fills it, and Parse does for values built in code.
	Matchers []*labels.Matcher `yaml:"-"`
}

// Parse parses Selector into Matchers.
func (s *StreamRetention) Parse() error {
	ms, err := syntax.ParseMatchers(s.Selector)
	if err != nil {
		return fmt.Errorf("retention_stream selector %q: %w", s.Selector, err)
	}
	s.Matchers = ms
	return nil
}

// UnmarshalYAML reads an entry and parses its selector, so a bad selector fails at load time.
func (s *StreamRetention) UnmarshalYAML(unmarshal func(any) error) error {
	type plain StreamRetention
	if err := unmarshal((*plain)(s)); err != nil {
		return err
	}
	return s.Parse()
}

// Matches reports whether the stream lbls is selected by the entry. An entry whose selector was
// never parsed selects nothing.
func (s *StreamRetention) Matches(lbls labels.Labels) bool {
	if len(s.Matchers) == 0 {
		return false
	}
	for _, m := range s.Matchers {
		if !m.Matches(lbls.Get(m.Name)) {
			return false
		}
	}
	return true
}
