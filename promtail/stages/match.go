package stages

import (
	"context"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

// matchStage runs nested stages on entries its selector matches, or drops them.
type matchStage struct {
	sel    *Selector
	drop   bool
	nested *nested
}

func newMatch(n *yaml.Node, o Options) (factory, error) {
	var c struct {
		Selector     string      `yaml:"selector"`
		Stages       []yaml.Node `yaml:"stages"`
		Action       string      `yaml:"action"`
		PipelineName string      `yaml:"pipeline_name"`
		Reason       string      `yaml:"drop_counter_reason"`
	}
	if err := decode(n, &c); err != nil {
		return nil, err
	}
	sel, err := ParseSelector(c.Selector)
	if err != nil {
		return nil, err
	}
	var fs []factory
	switch c.Action {
	case "", "keep":
		if len(c.Stages) == 0 {
			return nil, fmt.Errorf("stages are required with action keep")
		}
		fs, err = buildList(c.Stages, o)
		if err != nil {
			return nil, fmt.Errorf("match stages: %w", err)
		}
	case "drop":
		if len(c.Stages) > 0 {
			return nil, fmt.Errorf("stages are not allowed with action drop")
		}
	default:
		return nil, fmt.Errorf("action %q: want keep or drop", c.Action)
	}
	drop := c.Action == "drop"
	return func() Stage {
		s := &matchStage{sel: sel, drop: drop}
		if !drop {
			s.nested = newNested(fs)
		}
		return s
	}, nil
}

func (s *matchStage) Process(ctx context.Context, it Item, next Emit) error {
	if !s.sel.Matches(it.Label, it.Line) {
		return next(ctx, it)
	}
	if s.drop {
		it.Ack.Drop()
		return nil
	}
	return s.nested.run(ctx, it, next)
}

func (s *matchStage) Flush(ctx context.Context, now time.Time, next Emit) error {
	if s.nested == nil {
		return nil
	}
	return s.nested.flush(ctx, now, next)
}
