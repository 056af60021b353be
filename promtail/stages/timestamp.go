package stages

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

var nowNano = func() int64 { return time.Now().UnixNano() }

var namedLayouts = map[string]string{
	"ANSIC": time.ANSIC, "UnixDate": time.UnixDate, "RubyDate": time.RubyDate, "RFC822": time.RFC822,
	"RFC822Z": time.RFC822Z, "RFC850": time.RFC850, "RFC1123": time.RFC1123, "RFC1123Z": time.RFC1123Z,
	"RFC3339": time.RFC3339, "RFC3339Nano": time.RFC3339Nano, "Layout": time.Layout, "Kitchen": time.Kitchen,
	"Stamp": time.Stamp, "StampMilli": time.StampMilli, "StampMicro": time.StampMicro, "StampNano": time.StampNano,
}

// TimeParser parses one timestamp format of the timestamp stage.
type TimeParser func(string) (time.Time, error)

// NewTimeParser returns the parser for a promtail format name (RFC3339, Unix, UnixMs, UnixUs,
// UnixNs, ...) or a Go layout, in loc for layouts without a zone.
func NewTimeParser(format string, loc *time.Location) TimeParser {
	unix := func(scale float64) TimeParser {
		return func(s string) (time.Time, error) {
			f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("parse unix timestamp %q: %w", s, err)
			}
			ns := f * scale
			if math.IsNaN(ns) || math.IsInf(ns, 0) || math.Abs(ns) > math.MaxInt64 {
				return time.Time{}, fmt.Errorf("unix timestamp %q out of range", s)
			}
			// Integers are scaled exactly; floats lose precision beyond microseconds.
			if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil && math.Abs(float64(n)*scale) < math.MaxInt64 {
				return time.Unix(0, n*int64(scale)), nil
			}
			return time.Unix(0, int64(ns)), nil
		}
	}
	switch format {
	case "Unix":
		return unix(1e9)
	case "UnixMs":
		return unix(1e6)
	case "UnixUs":
		return unix(1e3)
	case "UnixNs":
		return unix(1)
	}
	layout := format
	if l, ok := namedLayouts[format]; ok {
		layout = l
	}
	return func(s string) (time.Time, error) {
		t, err := time.ParseInLocation(layout, s, loc)
		if err != nil {
			return t, err
		}
		// Layouts without a year (Stamp, syslog) parse as year 0: use the current year.
		if t.Year() == 0 {
			now := time.Now().In(loc)
			t = t.AddDate(now.Year(), 0, 0)
		}
		return t, nil
	}
}

type timestampStage struct {
	source  string
	parsers []TimeParser
	fudge   bool
	last    map[string]int64
}

type timestampConfig struct {
	Source          string   `yaml:"source"`
	Format          string   `yaml:"format"`
	FallbackFormats []string `yaml:"fallback_formats"`
	Location        *string  `yaml:"location"`
	ActionOnFailure string   `yaml:"action_on_failure"`
}

func newTimestamp(n *yaml.Node) (Stage, error) {
	var c timestampConfig
	if err := decode(n, &c); err != nil {
		return nil, err
	}
	if c.Source == "" {
		return nil, fmt.Errorf("source is required")
	}
	if c.Format == "" {
		return nil, fmt.Errorf("format is required")
	}
	loc := time.UTC
	if c.Location != nil {
		l, err := time.LoadLocation(*c.Location)
		if err != nil {
			return nil, fmt.Errorf("location %q: %w", *c.Location, err)
		}
		loc = l
	}
	s := &timestampStage{source: c.Source, last: map[string]int64{}}
	switch c.ActionOnFailure {
	case "", "fudge":
		s.fudge = true
	case "skip":
	default:
		return nil, fmt.Errorf("action_on_failure %q: want fudge or skip", c.ActionOnFailure)
	}
	for _, f := range append([]string{c.Format}, c.FallbackFormats...) {
		s.parsers = append(s.parsers, NewTimeParser(f, loc))
	}
	return s, nil
}

func (s *timestampStage) Process(ctx context.Context, it Item, next Emit) error {
	v, ok := it.Extracted[s.source]
	if !ok {
		return next(ctx, it)
	}
	str := toString(v)
	for _, p := range s.parsers {
		if t, err := p(str); err == nil {
			it.Timestamp = t.UnixNano()
			if s.fudge {
				if len(s.last) > 10000 {
					clear(s.last)
				}
				s.last[it.Key()] = it.Timestamp
			}
			return next(ctx, it)
		}
	}
	if s.fudge {
		// As promtail: one nanosecond after the last good timestamp of the stream, so the
		// entry keeps its order.
		if last, ok := s.last[it.Key()]; ok {
			it.Timestamp = last + 1
			s.last[it.Key()] = it.Timestamp
		}
	}
	return next(ctx, it)
}
