package stages

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// dropStage removes entries matching every condition it has (promtail's drop stage).
type dropStage struct {
	sources   []string
	separator string
	value     *string
	re        *regexp.Regexp
	olderThan time.Duration
	longer    int
}

func newDrop(n *yaml.Node) (Stage, error) {
	var c struct {
		Source     yaml.Node `yaml:"source"`
		Separator  *string   `yaml:"separator"`
		Value      *string   `yaml:"value"`
		Expression string    `yaml:"expression"`
		OlderThan  string    `yaml:"older_than"`
		LongerThan string    `yaml:"longer_than"`
		Reason     string    `yaml:"drop_counter_reason"`
	}
	if err := decode(n, &c); err != nil {
		return nil, err
	}
	s := &dropStage{separator: ";", value: c.Value}
	if c.Separator != nil {
		s.separator = *c.Separator
	}
	switch c.Source.Kind {
	case yaml.ScalarNode:
		s.sources = []string{c.Source.Value}
	case yaml.SequenceNode:
		if err := c.Source.Decode(&s.sources); err != nil {
			return nil, fmt.Errorf("source: %w", err)
		}
	}
	if c.Expression != "" {
		re, err := regexp.Compile(c.Expression)
		if err != nil {
			return nil, fmt.Errorf("expression: %w", err)
		}
		s.re = re
	}
	if c.Value != nil && c.Expression != "" {
		return nil, fmt.Errorf("value and expression are exclusive")
	}
	if c.OlderThan != "" {
		d, err := time.ParseDuration(c.OlderThan)
		if err != nil {
			return nil, fmt.Errorf("older_than: %w", err)
		}
		s.olderThan = d
	}
	if c.LongerThan != "" {
		b, err := parseBytes(c.LongerThan)
		if err != nil {
			return nil, fmt.Errorf("longer_than: %w", err)
		}
		s.longer = int(b)
	}
	if len(s.sources) == 0 && s.value == nil && s.re == nil && s.olderThan == 0 && s.longer == 0 {
		return nil, fmt.Errorf("at least one of source, value, expression, older_than, longer_than is required")
	}
	return s, nil
}

func (s *dropStage) matches(it *Item) bool {
	if s.olderThan > 0 && time.Unix(0, it.Timestamp).After(time.Now().Add(-s.olderThan)) {
		return false
	}
	if s.longer > 0 && len(it.Line) <= s.longer {
		return false
	}
	if s.value == nil && s.re == nil {
		for _, src := range s.sources {
			if _, ok := it.Extracted[src]; !ok {
				return false
			}
		}
		return true
	}
	var subject string
	if len(s.sources) == 0 {
		subject = it.Line
	} else {
		parts := make([]string, 0, len(s.sources))
		for _, src := range s.sources {
			v, ok := it.Extracted[src]
			if !ok {
				return false
			}
			parts = append(parts, toString(v))
		}
		subject = strings.Join(parts, s.separator)
	}
	if s.value != nil {
		return subject == *s.value
	}
	return s.re.MatchString(subject)
}

func (s *dropStage) Process(ctx context.Context, it Item, next Emit) error {
	if s.matches(&it) {
		it.Ack.Drop()
		return nil
	}
	return next(ctx, it)
}
