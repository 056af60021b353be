package stages

import (
	"context"
	"fmt"
	"math/rand/v2"

	"gopkg.in/yaml.v3"
)

// samplingStage keeps each entry with probability rate.
type samplingStage struct{ rate float64 }

func newSampling(n *yaml.Node) (Stage, error) {
	var c struct {
		Rate   float64 `yaml:"rate"`
		Reason string  `yaml:"drop_counter_reason"`
	}
	if err := decode(n, &c); err != nil {
		return nil, err
	}
	if c.Rate < 0 || c.Rate > 1 {
		return nil, fmt.Errorf("rate %v: want 0 to 1", c.Rate)
	}
	return &samplingStage{rate: c.Rate}, nil
}

func (s *samplingStage) Process(ctx context.Context, it Item, next Emit) error {
	if s.rate >= 1 || rand.Float64() < s.rate {
		return next(ctx, it)
	}
	it.Ack.Drop()
	return nil
}
