package logql

import (
	"context"
	"fmt"
	"sort"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logql/syntax"
)

// newEvaluator builds the step evaluator of a metric expression.
func (e *Engine) newEvaluator(ctx context.Context, expr syntax.SampleExpr, st steps, c *counters) (stepEvaluator, error) {
	switch expr := expr.(type) {
	case *syntax.RangeAggregation:
		return e.newRangeEvaluator(ctx, expr, expr.Grouping, st, c)
	case *syntax.VectorAggregation:
		var inner stepEvaluator
		var err error
		if ra, ok := expr.Left.(*syntax.RangeAggregation); ok && pushdownGrouping(expr, ra) != nil {
			inner, err = e.newRangeEvaluator(ctx, ra, pushdownGrouping(expr, ra), st, c)
		} else {
			inner, err = e.newEvaluator(ctx, expr.Left, st, c)
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
		l, err := e.newEvaluator(ctx, expr.Left, st, c)
		if err != nil {
			return nil, err
		}
		r, err := e.newEvaluator(ctx, expr.Right, st, c)
		if err != nil {
			l.Close()
			return nil, err
		}
		return newBinOpEvaluator(expr, l, r), nil
	case *syntax.Literal:
		return newConstEvaluator(st, expr.Value, true), nil
	case *syntax.VectorExpr:
		return newConstEvaluator(st, expr.Value, false), nil
	case *syntax.LabelReplace:
		inner, err := e.newEvaluator(ctx, expr.Left, st, c)
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

// execSamples runs a metric query: one vector for an instant query, a matrix for a range one.
func (e *Engine) execSamples(ctx context.Context, expr syntax.SampleExpr, p Params, c *counters) (Value, error) {
	st := steps{start: p.Start, end: p.End, step: int64(p.Step)}
	if p.IsInstant() {
		st = steps{start: p.End, end: p.End}
	}
	if lit, ok := expr.(*syntax.Literal); ok && p.IsInstant() {
		return Scalar{T: p.End / 1e6, V: lit.Value}, nil
	}
	ev, err := e.newEvaluator(ctx, expr, st, c)
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
