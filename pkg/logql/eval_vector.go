package logql

import (
	"container/heap"
	"math"
	"sort"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logql/syntax"
)

// vectorAggEvaluator applies sum, avg, topk, ... to its operand at every step.
type vectorAggEvaluator struct {
	expr  *syntax.VectorAggregation
	inner stepEvaluator
	out   []sample
	err   error
	// cache maps a series hash to its group's labels across steps (bounded by maxGroupCache).
	cache map[uint64]labels.Labels
}

func (v *vectorAggEvaluator) Err() error {
	if v.err != nil {
		return v.err
	}
	return v.inner.Err()
}
func (v *vectorAggEvaluator) Close() error { return v.inner.Close() }

// groupLabels returns the labels a sample keeps in its group.
func groupLabels(g *syntax.Grouping, ls labels.Labels) labels.Labels {
	if g == nil {
		return labels.EmptyLabels()
	}
	b := labels.NewBuilder(ls)
	if g.Without {
		b.Del(g.Labels...)
	} else {
		b.Keep(g.Labels...)
	}
	return b.Labels()
}

type aggGroup struct {
	metric labels.Labels
	sum    float64
	count  int
	min    float64
	max    float64
	mean   float64
	m2     float64
	top    sampleHeap
}

func (v *vectorAggEvaluator) Next() (int64, []sample, bool) {
	ts, in, ok := v.inner.Next()
	if !ok {
		return 0, nil, false
	}
	e := v.expr
	v.out = v.out[:0]
	switch e.Op {
	case syntax.OpSort, syntax.OpSortDesc:
		v.out = append(v.out, in...)
		desc := e.Op == syntax.OpSortDesc
		sort.SliceStable(v.out, func(i, j int) bool {
			a, b := v.out[i].v, v.out[j].v
			if math.IsNaN(a) || math.IsNaN(b) {
				return !math.IsNaN(a) // NaN last either way
			}
			if a == b { // ties in label order, so results do not depend on map order
				return labels.Compare(v.out[i].metric, v.out[j].metric) < 0
			}
			if desc {
				return a > b
			}
			return a < b
		})
		return ts, v.out, true
	}
	groups := map[uint64]*aggGroup{}
	var order []uint64
	if v.cache == nil || len(v.cache) >= maxGroupCache {
		v.cache = map[uint64]labels.Labels{}
	}
	for _, s := range in {
		gl, ok := v.cache[s.hash]
		if !ok {
			gl = groupLabels(e.Grouping, s.metric)
			v.cache[s.hash] = gl
		}
		h := gl.Hash()
		g := groups[h]
		if g == nil {
			g = &aggGroup{metric: gl, min: s.v, max: s.v}
			groups[h] = g
			order = append(order, h)
		}
		g.count++
		g.sum += s.v
		if s.v < g.min || math.IsNaN(g.min) {
			g.min = s.v
		}
		if s.v > g.max || math.IsNaN(g.max) {
			g.max = s.v
		}
		d := s.v - g.mean
		g.mean += d / float64(g.count)
		g.m2 += d * (s.v - g.mean)
		switch e.Op {
		case syntax.OpTopK, syntax.OpApproxTopK, syntax.OpBottomK:
			g.top.bottom = e.Op == syntax.OpBottomK
			if len(g.top.s) < e.Param {
				heap.Push(&g.top, s)
			} else if g.top.better(s, g.top.s[0]) {
				g.top.s[0] = s
				heap.Fix(&g.top, 0)
			}
		}
	}
	for _, h := range order {
		g := groups[h]
		var val float64
		switch e.Op {
		case syntax.OpSum:
			val = g.sum
		case syntax.OpAvg:
			val = g.mean
		case syntax.OpMin:
			val = g.min
		case syntax.OpMax:
			val = g.max
		case syntax.OpCount:
			val = float64(g.count)
		case syntax.OpStdvar:
			val = g.m2 / float64(g.count)
		case syntax.OpStddev:
			val = math.Sqrt(g.m2 / float64(g.count))
		case syntax.OpTopK, syntax.OpApproxTopK, syntax.OpBottomK:
			// Best first, as PromQL returns them.
			sorted := make([]sample, len(g.top.s))
			for i := len(sorted) - 1; i >= 0; i-- {
				sorted[i] = heap.Pop(&g.top).(sample)
			}
			v.out = append(v.out, sorted...)
			continue
		}
		v.out = append(v.out, sample{metric: g.metric, hash: h, v: val})
	}
	return ts, v.out, true
}

// sampleHeap keeps the k best samples with the worst at the root: for topk the smallest
// value, for bottomk the largest.
type sampleHeap struct {
	s      []sample
	bottom bool
}

// better reports whether a ranks above b (NaN ranks below everything).
func (h *sampleHeap) better(a, b sample) bool {
	if math.IsNaN(a.v) {
		return false
	}
	if math.IsNaN(b.v) {
		return true
	}
	if a.v == b.v { // ties go to the smaller label set, so results do not depend on map order
		return labels.Compare(a.metric, b.metric) < 0
	}
	if h.bottom {
		return a.v < b.v
	}
	return a.v > b.v
}

func (h *sampleHeap) Len() int           { return len(h.s) }
func (h *sampleHeap) Less(i, j int) bool { return h.better(h.s[j], h.s[i]) }
func (h *sampleHeap) Swap(i, j int)      { h.s[i], h.s[j] = h.s[j], h.s[i] }
func (h *sampleHeap) Push(x any)         { h.s = append(h.s, x.(sample)) }
func (h *sampleHeap) Pop() any {
	n := len(h.s) - 1
	x := h.s[n]
	h.s = h.s[:n]
	return x
}
