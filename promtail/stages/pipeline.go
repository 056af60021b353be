package stages

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/sluicelog/sluice/promtail/entry"
)

// Item is an entry with the values stages extracted from it so far.
type Item struct {
	entry.Entry
	// Extracted holds named values parsed out of the line; nil until a stage sets one.
	Extracted map[string]any
}

// Set stores an extracted value.
func (it *Item) Set(name string, v any) {
	if it.Extracted == nil {
		it.Extracted = make(map[string]any, 4)
	}
	it.Extracted[name] = v
}

// Emit hands an entry to the next stage (or out of the pipeline).
type Emit func(ctx context.Context, it Item) error

// Stage is one step. Process must call next for each entry it lets through (possibly
// later, from Flush) and Drop the Ack of every entry it removes.
type Stage interface {
	Process(ctx context.Context, it Item, next Emit) error
}

// Flusher is a Stage that holds entries back and releases them after a timeout.
type Flusher interface {
	Flush(ctx context.Context, now time.Time, next Emit) error
}

// Options are what stages may need from their scrape config.
type Options struct {
	JobName    string
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// factory makes a stage for one Pipeline. Stateless stages return one shared value.
type factory func() Stage

// Template is a parsed pipeline_stages list.
type Template struct {
	factories []factory
}

// Build parses pipeline_stages.
func Build(nodes []yaml.Node, o Options) (*Template, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	fs, err := buildList(nodes, o)
	if err != nil {
		return nil, err
	}
	return &Template{factories: fs}, nil
}

func buildList(nodes []yaml.Node, o Options) ([]factory, error) {
	var out []factory
	for i := range nodes {
		n := &nodes[i]
		if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
			return nil, fmt.Errorf("pipeline stage %d: want a map with exactly one stage name", i)
		}
		var name string
		if err := n.Content[0].Decode(&name); err != nil {
			return nil, fmt.Errorf("pipeline stage %d: %w", i, err)
		}
		f, err := newStage(name, n.Content[1], o)
		if err != nil {
			return nil, fmt.Errorf("pipeline stage %d (%s): %w", i, name, err)
		}
		out = append(out, f)
	}
	return out, nil
}

// New returns a Pipeline with fresh stage state.
func (t *Template) New() *Pipeline {
	p := &Pipeline{}
	for _, f := range t.factories {
		p.stages = append(p.stages, f())
	}
	p.build()
	return p
}

// Pipeline runs stages over entries of one source; it is not safe for concurrent use.
type Pipeline struct {
	stages []Stage
	heads  []Emit // heads[i] feeds stages[i]; heads[len] is the output.
	out    Emit
}

func (p *Pipeline) build() {
	p.heads = make([]Emit, len(p.stages)+1)
	p.heads[len(p.stages)] = func(ctx context.Context, it Item) error { return p.out(ctx, it) }
	for i := len(p.stages) - 1; i >= 0; i-- {
		s, next := p.stages[i], p.heads[i+1]
		p.heads[i] = func(ctx context.Context, it Item) error { return s.Process(ctx, it, next) }
	}
}

// Process runs e through the stages, calling out for each entry that comes out.
func (p *Pipeline) Process(ctx context.Context, e entry.Entry, out Emit) error {
	p.out = out
	return p.heads[0](ctx, Item{Entry: e})
}

// Flush releases entries held back longer than the stages' timeouts.
func (p *Pipeline) Flush(ctx context.Context, now time.Time, out Emit) error {
	p.out = out
	for i, s := range p.stages {
		if f, ok := s.(Flusher); ok {
			if err := f.Flush(ctx, now, p.heads[i+1]); err != nil {
				return err
			}
		}
	}
	return nil
}

// Len is the number of stages.
func (p *Pipeline) Len() int { return len(p.stages) }

// processStages runs a nested list of stages (match) inside a parent stage.
type nested struct {
	p *Pipeline
}

func newNested(fs []factory) *nested {
	p := &Pipeline{}
	for _, f := range fs {
		p.stages = append(p.stages, f())
	}
	p.build()
	return &nested{p: p}
}

func (n *nested) run(ctx context.Context, it Item, next Emit) error {
	n.p.out = next
	return n.p.heads[0](ctx, it)
}

func (n *nested) flush(ctx context.Context, now time.Time, next Emit) error {
	return n.p.Flush(ctx, now, next)
}
