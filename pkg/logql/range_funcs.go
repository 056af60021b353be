package logql

import (
	"fmt"
	"math"
	"sort"

	"github.com/sluicelog/sluice/pkg/logql/syntax"
)

// rangeFunc computes a range aggregation over the samples of one window (windowStart,
// windowEnd], in Unix ns. pts is never empty. ok false means no value for this window.
type rangeFunc func(pts []point, windowStart, windowEnd int64) (v float64, ok bool)

func rangeFuncFor(ra *syntax.RangeAggregation) (rangeFunc, error) {
	seconds := float64(ra.Left.Interval) / 1e9
	switch ra.Op {
	case syntax.OpCountOverTime:
		return func(pts []point, _, _ int64) (float64, bool) { return float64(len(pts)), true }, nil
	case syntax.OpRate:
		if ra.Left.Unwrap != nil {
			return func(pts []point, _, _ int64) (float64, bool) { return sumOf(pts) / seconds, true }, nil
		}
		return func(pts []point, _, _ int64) (float64, bool) { return float64(len(pts)) / seconds, true }, nil
	case syntax.OpBytesOverTime, syntax.OpSumOverTime:
		return func(pts []point, _, _ int64) (float64, bool) { return sumOf(pts), true }, nil
	case syntax.OpBytesRate:
		return func(pts []point, _, _ int64) (float64, bool) { return sumOf(pts) / seconds, true }, nil
	case syntax.OpAvgOverTime:
		return func(pts []point, _, _ int64) (float64, bool) { return sumOf(pts) / float64(len(pts)), true }, nil
	case syntax.OpMinOverTime:
		return func(pts []point, _, _ int64) (float64, bool) {
			m := pts[0].v
			for _, p := range pts[1:] {
				if p.v < m || math.IsNaN(m) {
					m = p.v
				}
			}
			return m, true
		}, nil
	case syntax.OpMaxOverTime:
		return func(pts []point, _, _ int64) (float64, bool) {
			m := pts[0].v
			for _, p := range pts[1:] {
				if p.v > m || math.IsNaN(m) {
					m = p.v
				}
			}
			return m, true
		}, nil
	case syntax.OpFirstOverTime:
		return func(pts []point, _, _ int64) (float64, bool) { return pts[0].v, true }, nil
	case syntax.OpLastOverTime:
		return func(pts []point, _, _ int64) (float64, bool) { return pts[len(pts)-1].v, true }, nil
	case syntax.OpStdvarOver:
		return func(pts []point, _, _ int64) (float64, bool) { return variance(pts), true }, nil
	case syntax.OpStddevOver:
		return func(pts []point, _, _ int64) (float64, bool) { return math.Sqrt(variance(pts)), true }, nil
	case syntax.OpQuantileOver:
		q := *ra.Param
		var buf []float64
		return func(pts []point, _, _ int64) (float64, bool) {
			buf = buf[:0]
			for _, p := range pts {
				buf = append(buf, p.v)
			}
			return quantile(q, buf), true
		}, nil
	case syntax.OpRateCounter:
		return func(pts []point, ws, we int64) (float64, bool) {
			return extrapolatedRate(pts, ws, we, seconds), true
		}, nil
	case syntax.OpAbsentOver:
		return func([]point, int64, int64) (float64, bool) { return 1, true }, nil
	}
	return nil, fmt.Errorf("range aggregation %s: not supported", ra.Op)
}

// sumOf adds with Kahan compensation, so long windows of small values stay exact.
func sumOf(pts []point) float64 {
	var sum, c float64
	for _, p := range pts {
		y := p.v - c
		t := sum + y
		c = (t - sum) - y
		sum = t
	}
	return sum
}

// variance is the population variance (Welford's method).
func variance(pts []point) float64 {
	var mean, m2 float64
	for i, p := range pts {
		d := p.v - mean
		mean += d / float64(i+1)
		m2 += d * (p.v - mean)
	}
	return m2 / float64(len(pts))
}

// quantile is PromQL's φ-quantile with linear interpolation; vs is reordered.
func quantile(q float64, vs []float64) float64 {
	switch {
	case len(vs) == 0 || math.IsNaN(q):
		return math.NaN()
	case q < 0:
		return math.Inf(-1)
	case q > 1:
		return math.Inf(1)
	}
	sort.Float64s(vs)
	n := float64(len(vs))
	rank := q * (n - 1)
	lo := math.Max(0, math.Floor(rank))
	hi := math.Min(n-1, lo+1)
	w := rank - math.Floor(rank)
	return vs[int(lo)]*(1-w) + vs[int(hi)]*w
}

// extrapolatedRate is rate_counter: the per-second increase of a counter over the window,
// with resets detected and the result extrapolated to the window's edges as PromQL's rate()
// does. Fewer than two samples give 0.
func extrapolatedRate(pts []point, windowStart, windowEnd int64, rangeSeconds float64) float64 {
	if len(pts) < 2 {
		return 0
	}
	first, last := pts[0], pts[len(pts)-1]
	delta := last.v - first.v
	prev := first.v
	for _, p := range pts[1:] {
		if p.v < prev { // counter reset: the value before the reset was lost
			delta += prev
		}
		prev = p.v
	}
	toStart := float64(first.t-windowStart) / 1e9
	toEnd := float64(windowEnd-last.t) / 1e9
	sampled := float64(last.t-first.t) / 1e9
	if sampled <= 0 {
		return 0
	}
	avgGap := sampled / float64(len(pts)-1)
	if delta > 0 && first.v >= 0 {
		// A counter cannot go below zero: do not extrapolate past the point it would be 0.
		if toZero := sampled * (first.v / delta); toZero < toStart {
			toStart = toZero
		}
	}
	threshold := avgGap * 1.1
	interval := sampled
	if toStart < threshold {
		interval += toStart
	} else {
		interval += avgGap / 2
	}
	if toEnd < threshold {
		interval += toEnd
	} else {
		interval += avgGap / 2
	}
	return delta * (interval / sampled) / rangeSeconds
}

// accFlags say what a rangeAcc keeps besides its count.
type accFlags uint8

const (
	accSum     accFlags = 1 << iota // Kahan sum, as sumOf
	accVar                          // Welford mean and m2, as variance
	accExtrema                      // min, max, first and last, as the *_over_time functions
)

// rangeAcc aggregates the samples of one window as they come. When a query's windows cannot
// overlap (an instant query, or a step at least as long as the range, as Grafana's $__auto and
// $__interval give), each sample belongs to one window only, and a series needs these few
// values instead of every sample of its window: a count_over_time over 24 hours of 2 million
// lines kept 32 MB of samples before. Each value is computed with the same operations, in the
// same order, as the rangeFunc over the window's samples, so the results are bit for bit the
// same.
type rangeAcc struct {
	n                     int
	sum, c                float64
	mean, m2              float64
	min, max, first, last float64
}

func (a *rangeAcc) add(v float64, f accFlags) {
	if f&accSum != 0 {
		y := v - a.c
		t := a.sum + y
		a.c = (t - a.sum) - y
		a.sum = t
	}
	if f&accVar != 0 {
		d := v - a.mean
		a.mean += d / float64(a.n+1)
		a.m2 += d * (v - a.mean)
	}
	if f&accExtrema != 0 {
		if a.n == 0 {
			a.min, a.max, a.first = v, v, v
		} else {
			if v < a.min || math.IsNaN(a.min) {
				a.min = v
			}
			if v > a.max || math.IsNaN(a.max) {
				a.max = v
			}
		}
		a.last = v
	}
	a.n++
}

// accFuncFor returns what a rangeAcc must keep for ra and how its value is computed, or
// ok false for the functions that need every sample (quantile_over_time, rate_counter).
func accFuncFor(ra *syntax.RangeAggregation) (f accFlags, fn func(a *rangeAcc) float64, ok bool) {
	seconds := float64(ra.Left.Interval) / 1e9
	switch ra.Op {
	case syntax.OpCountOverTime:
		return 0, func(a *rangeAcc) float64 { return float64(a.n) }, true
	case syntax.OpRate:
		if ra.Left.Unwrap != nil {
			return accSum, func(a *rangeAcc) float64 { return a.sum / seconds }, true
		}
		return 0, func(a *rangeAcc) float64 { return float64(a.n) / seconds }, true
	case syntax.OpBytesOverTime, syntax.OpSumOverTime:
		return accSum, func(a *rangeAcc) float64 { return a.sum }, true
	case syntax.OpBytesRate:
		return accSum, func(a *rangeAcc) float64 { return a.sum / seconds }, true
	case syntax.OpAvgOverTime:
		return accSum, func(a *rangeAcc) float64 { return a.sum / float64(a.n) }, true
	case syntax.OpMinOverTime:
		return accExtrema, func(a *rangeAcc) float64 { return a.min }, true
	case syntax.OpMaxOverTime:
		return accExtrema, func(a *rangeAcc) float64 { return a.max }, true
	case syntax.OpFirstOverTime:
		return accExtrema, func(a *rangeAcc) float64 { return a.first }, true
	case syntax.OpLastOverTime:
		return accExtrema, func(a *rangeAcc) float64 { return a.last }, true
	case syntax.OpStdvarOver:
		return accVar, func(a *rangeAcc) float64 { return a.m2 / float64(a.n) }, true
	case syntax.OpStddevOver:
		return accVar, func(a *rangeAcc) float64 { return math.Sqrt(a.m2 / float64(a.n)) }, true
	case syntax.OpAbsentOver:
		return 0, func(*rangeAcc) float64 { return 1 }, true
	}
	return 0, nil, false
}
