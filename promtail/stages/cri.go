package stages

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/sluicelog/sluice/promtail/entry"
)

// CRIConfig is the cri stage's config.
type CRIConfig struct {
	MaxPartialLines            int    `yaml:"max_partial_lines"`
	MaxPartialLineSize         string `yaml:"max_partial_line_size"`
	MaxPartialLineSizeTruncate bool   `yaml:"max_partial_line_size_truncate"`
	maxSize                    int
}

func (c *CRIConfig) defaults() {
	if c.MaxPartialLines <= 0 {
		c.MaxPartialLines = 100
	}
	if c.MaxPartialLineSize != "" {
		if n, err := parseBytes(c.MaxPartialLineSize); err == nil {
			c.maxSize = int(n)
		}
	}
}

// CRILine is one decoded line of the CRI log format:
// `<RFC3339Nano time> <stdout|stderr> <P|F>[:tags] <content>`.
type CRILine struct {
	Time    time.Time
	Stream  string
	Partial bool
	Content string
}

// ErrNotCRI is returned for a line that is not in the CRI format.
var ErrNotCRI = errors.New("not a CRI log line")

// ParseCRI decodes one CRI line. Content aliases line.
func ParseCRI(line string) (CRILine, error) {
	var l CRILine
	i := strings.IndexByte(line, ' ')
	if i <= 0 {
		return l, ErrNotCRI
	}
	t, err := time.Parse(time.RFC3339Nano, line[:i])
	if err != nil {
		return l, ErrNotCRI
	}
	rest := line[i+1:]
	j := strings.IndexByte(rest, ' ')
	if j <= 0 {
		return l, ErrNotCRI
	}
	l.Stream = rest[:j]
	if l.Stream != "stdout" && l.Stream != "stderr" {
		return l, ErrNotCRI
	}
	rest = rest[j+1:]
	k := strings.IndexByte(rest, ' ')
	var flags string
	if k < 0 {
		flags, rest = rest, ""
	} else {
		flags, rest = rest[:k], rest[k+1:]
	}
	if tag, _, _ := strings.Cut(flags, ":"); tag == "P" {
		l.Partial = true
	} else if tag != "F" {
		return l, ErrNotCRI
	}
	l.Time, l.Content = t, rest
	return l, nil
}

// criStage decodes CRI lines and joins partial ones, per stream (stdout, stderr).
type criStage struct {
	cfg     CRIConfig
	partial map[string]*Item
	count   map[string]int
	memo    entry.LabelMemo // every line of a file gets one of two label sets (stdout, stderr)
}

func newCRI(c CRIConfig) *criStage {
	return &criStage{cfg: c, partial: map[string]*Item{}, count: map[string]int{}}
}

func (s *criStage) Process(ctx context.Context, it Item, next Emit) error {
	l, err := ParseCRI(it.Line)
	if err != nil {
		// promtail passes lines it cannot parse through unchanged.
		return next(ctx, it)
	}
	// The raw fields, as promtail's cri regex extracts them (time as written, not reformatted).
	it.Set("stream", l.Stream)
	it.Set("time", it.Line[:strings.IndexByte(it.Line, ' ')])
	if l.Partial {
		it.Set("flags", "P")
	} else {
		it.Set("flags", "F")
	}
	it.Set("content", l.Content)
	if p := s.partial[l.Stream]; p != nil {
		p.Line += l.Content
		p.Ack = p.Ack.Merge(it.Ack)
		s.count[l.Stream]++
		if s.cfg.maxSize > 0 && len(p.Line) > s.cfg.maxSize && s.cfg.MaxPartialLineSizeTruncate {
			p.Line = p.Line[:s.cfg.maxSize]
		}
		if l.Partial && s.count[l.Stream] < s.cfg.MaxPartialLines {
			return nil
		}
		delete(s.partial, l.Stream)
		delete(s.count, l.Stream)
		p.Timestamp = l.Time.UnixNano()
		p.Set("content", p.Line)
		return next(ctx, *p)
	}
	it.Timestamp = l.Time.UnixNano()
	it.SetLabelMemo("stream", l.Stream, &s.memo)
	it.Line = l.Content
	if l.Partial {
		if s.cfg.MaxPartialLines <= 1 {
			return next(ctx, it)
		}
		cp := it
		s.partial[l.Stream] = &cp
		s.count[l.Stream] = 1
		return nil
	}
	return next(ctx, it)
}

// Flush releases partial lines only when the pipeline is flushed for good; a partial line
// waits for its final part otherwise, as the runtime always writes one.
func (s *criStage) Flush(ctx context.Context, now time.Time, next Emit) error {
	for k, p := range s.partial {
		// A partial line older than a minute will not be completed (the container died).
		if now.Sub(time.Unix(0, p.Timestamp)) > time.Minute {
			delete(s.partial, k)
			delete(s.count, k)
			if err := next(ctx, *p); err != nil {
				return err
			}
		}
	}
	return nil
}
