package queryrange

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"time"

	"github.com/sluicelog/sluice/pkg/api"
	"github.com/sluicelog/sluice/pkg/logql"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
	"github.com/sluicelog/sluice/pkg/validation"
)

// maxInstantSplits bounds the pieces of one instant query. Past it the pieces grow to a
// multiple of the interval: a [365d] range at the default 1h would otherwise make 8,760
// sub-queries, each with its own index lookup and chunk reads, for no more parallelism than
// a few dozen give.
const maxInstantSplits = 1024

// instantPlan is how the frontend answers a splittable instant query: one instant sub-query
// per piece of the range, oldest piece first, and how their vectors merge.
type instantPlan struct {
	subs []string
	// merge is syntax.OpSum, OpMax or OpMin: how one series' values from different pieces
	// combine.
	merge string
	// perSecond, when not 0, divides every merged value: rate and bytes_rate run as counts and
	// byte sums over the pieces and become rates over the whole range at the end.
	perSecond float64
}

// piece is one sub-range of an instant query's range: the window (T-offset-rng, T-offset].
type piece struct {
	rng, offset time.Duration
}

// splitInstantRange cuts the window (T-offset-rng, T-offset] into consecutive windows of at
// most interval each, oldest first; the newest one ends at T-offset and the oldest, shorter
// when rng is not a multiple of interval, starts at T-offset-rng. Windows are left-open and
// right-closed like the whole, so every instant of the whole is in exactly one piece. It
// returns nil when there is nothing to split (rng not longer than interval).
//
// At most maxPieces pieces are made (and never more than maxInstantSplits): past that, each
// piece covers a multiple of interval. The frontend passes the number of sub-queries it runs
// at once: more pieces than that add no parallelism, only index lookups and, for every block
// that straddles a boundary between pieces, a second decompression (with 24 pieces of 1h over
// chunks whose blocks span an hour or more, a filtered scan decoded every block twice).
func splitInstantRange(rng, offset, interval time.Duration, maxPieces int) []piece {
	if interval <= 0 || rng <= interval {
		return nil
	}
	limit := time.Duration(min(max(maxPieces, 1), maxInstantSplits))
	if n := (rng + interval - 1) / interval; n > limit {
		interval *= (n + limit - 1) / limit
	}
	if rng <= interval {
		return nil
	}
	n := rng / interval
	out := make([]piece, 0, n+1)
	if rem := rng - n*interval; rem > 0 {
		out = append(out, piece{rem, offset + n*interval})
	}
	for k := n - 1; k >= 0; k-- {
		out = append(out, piece{interval, offset + k*interval})
	}
	return out
}

// planInstant returns the plan of an instant query, or nil when it must run unsplit.
//
// A range aggregation over a window is split when its value over the whole window follows
// exactly from its values over the pieces: counts and sums add up (count_over_time,
// bytes_over_time, sum_over_time), rates are those sums divided by the whole range (rate,
// bytes_rate), and max_over_time and min_over_time are the max and min of the pieces'. An
// enclosing sum, max or min (with or without by/without) is kept when it merges the same way
// as the range aggregation (sum of sums, max of maxes, min of mins), since grouping series
// does not depend on time. Everything else (count, avg, topk, quantiles, binary operations,
// label_replace, first/last_over_time, ...) has no exact merge and runs unsplit.
func planInstant(expr syntax.Expr, interval time.Duration, maxPieces int) *instantPlan {
	var outer *syntax.VectorAggregation
	ra, ok := expr.(*syntax.RangeAggregation)
	if !ok {
		outer, ok = expr.(*syntax.VectorAggregation)
		if !ok {
			return nil
		}
		if ra, ok = outer.Left.(*syntax.RangeAggregation); !ok {
			return nil
		}
	}
	subOp, merge := ra.Op, syntax.OpSum
	var perSecond float64
	switch ra.Op {
	case syntax.OpCountOverTime, syntax.OpBytesOverTime, syntax.OpSumOverTime:
	case syntax.OpRate, syntax.OpBytesRate:
		// The engine divides by the range in seconds computed just so; dividing the same
		// integer count (or byte sum) by the same number gives the same float.
		perSecond = float64(ra.Left.Interval) / 1e9
		switch {
		case ra.Op == syntax.OpBytesRate:
			subOp = syntax.OpBytesOverTime
		case ra.Left.Unwrap != nil:
			subOp = syntax.OpSumOverTime
		default:
			subOp = syntax.OpCountOverTime
		}
		if outer != nil && ra.Grouping != nil {
			// sum of rates is the rate of the sum only when the engine groups the entries
			// before dividing (its sum pushdown, which a grouping of the rate's own prevents);
			// otherwise it adds per-series quotients, which a division at the end does not
			// reproduce bit for bit.
			return nil
		}
	case syntax.OpMaxOverTime:
		merge = syntax.OpMax
	case syntax.OpMinOverTime:
		merge = syntax.OpMin
	default:
		return nil
	}
	if outer != nil && outer.Op != merge {
		return nil
	}
	lr := ra.Left
	if lr.Offset > 0 && lr.Interval > math.MaxInt64-lr.Offset {
		return nil // the oldest piece's offset would overflow
	}
	pieces := splitInstantRange(lr.Interval, lr.Offset, interval, maxPieces)
	if pieces == nil {
		return nil
	}
	plan := &instantPlan{subs: make([]string, len(pieces)), merge: merge, perSecond: perSecond}
	for i, p := range pieces {
		sub := *ra
		sub.Op = subOp
		subRange := *lr
		subRange.Interval, subRange.Offset = p.rng, p.offset
		sub.Left = &subRange
		var s string
		if outer != nil {
			o := *outer
			o.Left = &sub
			s = o.String()
		} else {
			s = sub.String()
		}
		// A duration that is not a whole number of milliseconds prints in a form that may
		// not read back to the same nanosecond; a sub-query over a slightly different window
		// would be wrong, so check the round trip and run such queries unsplit.
		if !readsBackAs(s, p) {
			return nil
		}
		plan.subs[i] = s
	}
	return plan
}

// readsBackAs reports whether sub-query s parses to a range aggregation over piece p.
func readsBackAs(s string, p piece) bool {
	e, err := syntax.ParseExpr(s)
	if err != nil {
		return false
	}
	if va, ok := e.(*syntax.VectorAggregation); ok {
		e = va.Left
	}
	ra, ok := e.(*syntax.RangeAggregation)
	return ok && ra.Left.Interval == p.rng && ra.Left.Offset == p.offset
}

// instantPiece is a piece's vector, or the series limit error it failed with.
type instantPiece struct {
	res      *api.QueryResult
	limitErr error
}

// queryInstant answers an instant query: split into pieces of the tenant's
// split_instant_metric_queries_by_interval when planInstant finds an exact merge, and as it
// is otherwise.
func (f *Frontend) queryInstant(ctx context.Context, q api.QueryRequest, expr syntax.Expr, lim *validation.Limits) (*api.QueryResult, error) {
	interval := lim.SplitInstantMetricQueriesByInterval.D()
	if interval <= 0 || !q.Start.Equal(q.End) {
		return f.run(ctx, expr, q, lim)
	}
	// As many pieces as cores, not as the frontend's parallelism: each piece reads every
	// stream of the query at once (a decoded block each), so pieces beyond the cores cost
	// memory (a 24h count over 100 streams peaked 100 MiB higher with 4 pieces than with 2
	// on 2 cores) without making the query faster.
	pieces := min(f.parallelism(lim), max(2, runtime.GOMAXPROCS(0)))
	if f.instantPieces > 0 {
		pieces = f.instantPieces
	}
	plan := planInstant(expr, interval, pieces)
	if plan == nil {
		return f.run(ctx, expr, q, lim)
	}
	if t := lim.QueryTimeout.D(); t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	began := f.now()
	res, err := f.runInstant(ctx, q, plan, lim)
	if err != nil {
		return nil, err
	}
	res.Stats.ExecTime = f.now().Sub(began)
	return res, nil
}

// runInstant runs the plan's sub-queries and merges their vectors.
//
// Errors are those of the unsplit query. The engine fails a query whose vector has too many
// series only once it has evaluated everything, so an evaluation error (an __error__ label, a
// timeout) wins over the series limit: a piece failing on the limit does not stop the others,
// and the limit is reported only when no piece failed otherwise. Pieces are consumed oldest
// first and the first failure in that order is returned, which is the error the engine meets
// first reading the whole range forward in time.
func (f *Frontend) runInstant(ctx context.Context, q api.QueryRequest, plan *instantPlan, lim *validation.Limits) (*api.QueryResult, error) {
	maxSeries := lim.MaxQuerySeries
	if maxSeries <= 0 {
		maxSeries = logql.DefaultMaxSeries // as the engine reads a limit of 0
	}
	m := newVectorMerger(plan.merge)
	out := &api.QueryResult{Type: api.ResultVector}
	var limitErr error
	err := runOrdered(ctx, len(plan.subs), f.parallelism(lim),
		func(ctx context.Context, i int) (instantPiece, error) {
			f.subQueries.Inc()
			sub := q
			sub.Query = plan.subs[i]
			r, err := f.run(ctx, nil, sub, lim)
			if err != nil && isSeriesLimit(err, maxSeries) {
				return instantPiece{limitErr: err}, nil
			}
			return instantPiece{res: r}, err
		},
		func(i int, p instantPiece) (bool, error) {
			out.Stats.Splits++
			if p.limitErr != nil {
				if limitErr == nil {
					limitErr = p.limitErr
				}
				return true, nil
			}
			if p.res.Type != api.ResultVector {
				return false, fmt.Errorf("instant sub-query returned %s, want vector (bug)", p.res.Type)
			}
			m.add(p.res.Vector)
			addStats(&out.Stats, p.res.Stats)
			return true, nil
		})
	if err != nil {
		return nil, err
	}
	if limitErr != nil {
		return nil, limitErr
	}
	if m.len() > maxSeries {
		return nil, &badRequestError{&logql.SeriesLimitError{Limit: maxSeries}}
	}
	// The engine stamps an instant vector with the evaluation time in milliseconds, so.
	out.Vector = m.result(q.End.UnixNano()/1e6, plan.perSecond)
	out.Stats.TotalEntriesReturned = int64(len(out.Vector))
	return out, nil
}

// isSeriesLimit reports whether err is the engine's series limit error. The server's engine
// hands it on as a status error with the same text, which is matched exactly.
func isSeriesLimit(err error, limit int) bool {
	var sle *logql.SeriesLimitError
	if errors.As(err, &sle) {
		return true
	}
	return err.Error() == (&logql.SeriesLimitError{Limit: limit}).Error()
}
