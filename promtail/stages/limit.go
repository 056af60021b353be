package stages

import (
	"context"
	"fmt"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// bucket is a token bucket shared by every pipeline of a scrape config.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate float64, burst int) *bucket {
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: time.Now()}
}

// take takes a token, or returns how long until one is available.
func (b *bucket) take() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	b.tokens += now.Sub(b.last).Seconds() * b.rate
	if b.tokens > b.burst {
		b.tokens = b.burst
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}

// limitStage rate-limits entries, waiting (back-pressure) or dropping.
type limitStage struct {
	rate    float64
	burst   int
	drop    bool
	byLabel string
	maxKeys int
	mu      sync.Mutex
	global  *bucket
	keyed   map[string]*bucket
}

func newLimit(n *yaml.Node, _ Options) (Stage, error) {
	var c struct {
		Rate              float64 `yaml:"rate"`
		Burst             int     `yaml:"burst"`
		Drop              bool    `yaml:"drop"`
		ByLabelName       string  `yaml:"by_label_name"`
		MaxDistinctLabels int     `yaml:"max_distinct_labels"`
	}
	if err := decode(n, &c); err != nil {
		return nil, err
	}
	if c.Rate <= 0 || c.Burst <= 0 {
		return nil, fmt.Errorf("rate and burst must be positive")
	}
	if c.MaxDistinctLabels <= 0 {
		c.MaxDistinctLabels = 10000
	}
	return &limitStage{rate: c.Rate, burst: c.Burst, drop: c.Drop, byLabel: c.ByLabelName, maxKeys: c.MaxDistinctLabels,
		global: newBucket(c.Rate, c.Burst), keyed: map[string]*bucket{}}, nil
}

func (s *limitStage) bucketFor(it *Item) *bucket {
	if s.byLabel == "" {
		return s.global
	}
	v, ok := it.Label(s.byLabel)
	if !ok {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.keyed[v]
	if b == nil {
		if len(s.keyed) >= s.maxKeys {
			clear(s.keyed)
		}
		b = newBucket(s.rate, s.burst)
		s.keyed[v] = b
	}
	return b
}

func (s *limitStage) Process(ctx context.Context, it Item, next Emit) error {
	b := s.bucketFor(&it)
	if b == nil {
		return next(ctx, it)
	}
	for {
		wait := b.take()
		if wait == 0 {
			return next(ctx, it)
		}
		if s.drop {
			it.Ack.Drop()
			return nil
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
