package stages

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
)

type multilineConfig struct {
	FirstLine   string `yaml:"firstline"`
	MaxWaitTime string `yaml:"max_wait_time"`
	MaxLines    int    `yaml:"max_lines"`
	re          *regexp.Regexp
	wait        time.Duration
}

func (c *multilineConfig) validate() error {
	if c.FirstLine == "" {
		return fmt.Errorf("firstline is required")
	}
	re, err := regexp.Compile(c.FirstLine)
	if err != nil {
		return fmt.Errorf("firstline: %w", err)
	}
	c.re = re
	c.wait = 3 * time.Second
	if c.MaxWaitTime != "" {
		d, err := time.ParseDuration(c.MaxWaitTime)
		if err != nil {
			return fmt.Errorf("max_wait_time: %w", err)
		}
		c.wait = d
	}
	if c.MaxLines <= 0 {
		c.MaxLines = 128
	}
	return nil
}

// multilineStage joins lines into blocks that start with a line matching firstline.
type multilineStage struct {
	cfg    multilineConfig
	blocks map[string]*mlBlock
}

type mlBlock struct {
	first Item
	lines []string
	seen  time.Time
}

func newMultiline(c multilineConfig) *multilineStage {
	return &multilineStage{cfg: c, blocks: map[string]*mlBlock{}}
}

func (s *multilineStage) Process(ctx context.Context, it Item, next Emit) error {
	key := it.Key()
	b := s.blocks[key]
	if s.cfg.re.MatchString(it.Line) || b == nil {
		if b != nil {
			delete(s.blocks, key)
			if err := next(ctx, b.item()); err != nil {
				return err
			}
		}
		s.blocks[key] = &mlBlock{first: it, lines: []string{it.Line}, seen: time.Now()}
		return nil
	}
	b.lines = append(b.lines, it.Line)
	b.first.Ack = b.first.Ack.Merge(it.Ack)
	b.seen = time.Now()
	if len(b.lines) >= s.cfg.MaxLines {
		delete(s.blocks, key)
		return next(ctx, b.item())
	}
	return nil
}

func (b *mlBlock) item() Item {
	it := b.first
	it.Line = strings.Join(b.lines, "\n")
	return it
}

// Flush emits blocks that saw no line for max_wait_time.
func (s *multilineStage) Flush(ctx context.Context, now time.Time, next Emit) error {
	for k, b := range s.blocks {
		if now.Sub(b.seen) >= s.cfg.wait {
			delete(s.blocks, k)
			if err := next(ctx, b.item()); err != nil {
				return err
			}
		}
	}
	return nil
}
