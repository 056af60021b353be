package logql

import (
	"context"
	"fmt"
	"sort"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logql/syntax"
)

// evalBuilder builds the step evaluators of one query. Range aggregations that occur more
// than once (with the same pushed-down grouping) share one evaluator, so their entries are
// read and extracted once.
type evalBuilder struct {
	e      *Engine
	ctx    context.Context
	st     steps
	c      *counters
	shared map[string]*sharedEvaluator
}

func (b *evalBuilder) rangeEvaluator(ra *syntax.RangeAggregation, g *syntax.Grouping) (stepEvaluator, error) {
	key := ra.String()
	if g != nil {
		key += "\x00" + g.String()
	}
	if s, ok := b.shared[key]; ok {
		return s.handle(), nil
	}
	ev, err := b.e.newRangeEvaluator(b.ctx, ra, g, b.st, b.c)
	if err != nil {
		return nil, err
	}
	s := &sharedEvaluator{inner: ev}
	b.shared[key] = s
	return s.handle(), nil
}

// build returns the step evaluator of a metric expression.
func (b *evalBuilder) build(expr syntax.SampleExpr) (stepEvaluator, error) {
	switch expr := expr.(type) {
	case *syntax.RangeAggregation:
		return b.rangeEvaluator(expr, expr.Grouping)
	case *syntax.VectorAggregation:
		var inner stepEvaluator
		var err error
		if ra, ok := expr.Left.(*syntax.RangeAggregation); ok && pushdownGrouping(expr, ra) != nil {
			inner, err = b.rangeEvaluator(ra, pushdownGrouping(expr, ra))
		} else {
			inner, err = b.build(expr.Left)
		}
		if err != nil {
			return nil, err
		}
		if isScalar(inner) {
			inner.Close()
			return nil, &syntax.ParseError{Msg: fmt.Sprintf("%s: expected a vector, got a scalar", expr.Op)}
		}
		return &vectorAggEvaluator{expr: expr, inner: inner}, nil
	case *syntax.BinOp:
		l, err := b.build(expr.Left)
		if err != nil {
			return nil, err
		}
		r, err := b.build(expr.Right)
		if err != nil {
			l.Close()
			return nil, err
		}
		return newBinOpEvaluator(expr, l, r), nil
	case *syntax.Literal:
		return newConstEvaluator(b.st, expr.Value, true), nil
	case *syntax.VectorExpr:
		return newConstEvaluator(b.st, expr.Value, false), nil
	case *syntax.LabelReplace:
		inner, err := b.build(expr.Left)
		if err != nil {
			return nil, err
		}
		lr, err := newLabelReplaceEvaluator(expr, inner)
		if err != nil {
			inner.Close()
			return nil, err
		}
		return lr, nil
	}
	return nil, fmt.Errorf("evaluate %s: unsupported expression %T", expr, expr)
}

// sharedEvaluator lets several consumers read one evaluator. Consumers advance in lockstep
// (a binary operation steps both sides together), so each step is computed once, by the
// first consumer to ask for it, and the others get the same vector.
type sharedEvaluator struct {
	inner  stepEvaluator
	step   int // steps computed so far
	ts     int64
	vec    []sample
	ok     bool
	users  int
	closed int
}

func (s *sharedEvaluator) handle() stepEvaluator {
	s.users++
	return &sharedHandle{s: s}
}

type sharedHandle struct {
	s    *sharedEvaluator
	step int
}

func (h *sharedHandle) Next() (int64, []sample, bool) {
	s := h.s
	if h.step == s.step {
		s.ts, s.vec, s.ok = s.inner.Next()
		s.step++
	}
	h.step++
	return s.ts, s.vec, s.ok
}

func (h *sharedHandle) Err() error { return h.s.inner.Err() }

// Close closes the shared evaluator when its last consumer closes.
func (h *sharedHandle) Close() error {
	s := h.s
	if s.closed++; s.closed == s.users {
		return s.inner.Close()
	}
	return nil
}

// execSamples runs a metric query: one vector for an instant query, a matrix for a range one.
func (e *Engine) execSamples(ctx context.Context, expr syntax.SampleExpr, p Params, c *counters) (Value, error) {
	st := steps{start: p.Start, end: p.End, step: int64(p.Step)}
	if p.IsInstant() {
		st = steps{start: p.End, end: p.End}
	}
	if lit, ok := expr.(*syntax.Literal); ok && p.IsInstant() {
		return Scalar{T: p.End / 1e6, V: lit.Value}, nil
	}
	b := &evalBuilder{e: e, ctx: ctx, st: st, c: c, shared: map[string]*sharedEvaluator{}}
	ev, err := b.build(expr)
	if err != nil {
		return nil, err
	}
	defer ev.Close()
	if p.IsInstant() {
		ts, vec, ok := ev.Next()
		if !ok {
			if err := ev.Err(); err != nil {
				return nil, err
			}
			return Vector{}, nil
		}
		if len(vec) > e.opts.MaxSeries {
			return nil, &SeriesLimitError{Limit: e.opts.MaxSeries}
		}
		out := make(Vector, len(vec))
		for i, s := range vec {
			out[i] = Sample{Metric: s.metric, T: ts / 1e6, V: s.v}
		}
		if !hasSort(expr) {
			sort.SliceStable(out, func(i, j int) bool { return labels.Compare(out[i].Metric, out[j].Metric) < 0 })
		}
		return out, nil
	}
	series := map[uint64]*Series{}
	for n := 0; ; n++ {
		if n&63 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		ts, vec, ok := ev.Next()
		if !ok {
			break
		}
		for _, s := range vec {
			sr := series[s.hash]
			if sr == nil {
				if len(series) >= e.opts.MaxSeries {
					return nil, &SeriesLimitError{Limit: e.opts.MaxSeries}
				}
				sr = &Series{Metric: s.metric}
				series[s.hash] = sr
			}
			sr.Points = append(sr.Points, Point{T: ts / 1e6, V: s.v})
		}
	}
	if err := ev.Err(); err != nil {
		return nil, err
	}
	out := make(Matrix, 0, len(series))
	for _, s := range series {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return labels.Compare(out[i].Metric, out[j].Metric) < 0 })
	return out, nil
}

// hasSort reports whether the query uses sort or sort_desc, whose order an instant result keeps.
func hasSort(e syntax.SampleExpr) bool {
	switch e := e.(type) {
	case *syntax.VectorAggregation:
		return e.Op == syntax.OpSort || e.Op == syntax.OpSortDesc || hasSort(e.Left)
	case *syntax.BinOp:
		return hasSort(e.Left) || hasSort(e.Right)
	case *syntax.LabelReplace:
		return hasSort(e.Left)
	}
	return false
}
