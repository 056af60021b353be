package queryrange

import (
	"math"
	"slices"
	"sort"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/api"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
)

// logMerger joins the results of a log query's sub-queries, given in the query's direction
// (newest first for backward). Sub-ranges do not overlap, so appending keeps each stream's
// entries in direction order without duplicates; the limit keeps the first limit entries in
// direction order over all streams, as the engine does for the whole range.
type logMerger struct {
	limit   int // 0: no limit
	dir     logproto.Direction
	n       int
	streams map[string]*api.Stream
}

func newLogMerger(limit int, dir logproto.Direction) *logMerger {
	return &logMerger{limit: limit, dir: dir, streams: map[string]*api.Stream{}}
}

// full reports whether the limit has been reached.
func (m *logMerger) full() bool { return m.limit > 0 && m.n >= m.limit }

// add appends the streams of the next sub-result.
func (m *logMerger) add(streams []api.Stream) {
	total := 0
	for _, s := range streams {
		total += len(s.Entries)
	}
	if m.limit > 0 && m.n+total > m.limit {
		streams = m.firstN(streams, m.limit-m.n)
	}
	for _, s := range streams {
		if len(s.Entries) == 0 {
			continue
		}
		key := s.Labels.String()
		acc := m.streams[key]
		if acc == nil {
			acc = &api.Stream{Labels: s.Labels}
			m.streams[key] = acc
		}
		acc.Entries = append(acc.Entries, s.Entries...)
		m.n += len(s.Entries)
	}
}

// firstN keeps the first n entries, in direction order, of a sub-result's streams. Entries
// with equal timestamps in different streams are taken in stream label order.
func (m *logMerger) firstN(streams []api.Stream, n int) []api.Stream {
	type ref struct {
		ts     int64
		stream int
	}
	refs := make([]ref, 0, n)
	for i, s := range streams {
		for _, e := range s.Entries {
			refs = append(refs, ref{e.Timestamp, i})
		}
	}
	order := make([]int, len(streams)) // stream indexes by label, for ties
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool {
		return labels.Compare(streams[order[a]].Labels, streams[order[b]].Labels) < 0
	})
	rank := make([]int, len(streams))
	for r, i := range order {
		rank[i] = r
	}
	backward := m.dir == logproto.Backward
	slices.SortStableFunc(refs, func(a, b ref) int {
		if a.ts != b.ts {
			if (a.ts < b.ts) != backward {
				return -1
			}
			return 1
		}
		return rank[a.stream] - rank[b.stream]
	})
	keep := make([]int, len(streams))
	for _, r := range refs[:n] {
		keep[r.stream]++
	}
	out := make([]api.Stream, 0, len(streams))
	for i, s := range streams {
		if keep[i] > 0 {
			out = append(out, api.Stream{Labels: s.Labels, Entries: s.Entries[:keep[i]]})
		}
	}
	return out
}

// result returns the merged streams sorted by their labels' text, as the engine sorts them.
func (m *logMerger) result() []api.Stream {
	out := make([]api.Stream, 0, len(m.streams))
	for _, s := range m.streams {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Labels.String() < out[j].Labels.String() })
	return out
}

// matrixMerger joins the matrices of a range query's sub-queries, given in time order. Each
// evaluation time belongs to one sub-query, so a series' points are the concatenation of its
// points in each. The sub-results may be cached: they are copied, never modified.
type matrixMerger struct {
	series map[string]*api.Series
	b      []byte
}

func newMatrixMerger() *matrixMerger { return &matrixMerger{series: map[string]*api.Series{}} }

func (m *matrixMerger) add(matrix []api.Series) {
	for _, s := range matrix {
		m.b = s.Metric.Bytes(m.b[:0])
		acc := m.series[string(m.b)]
		if acc == nil {
			acc = &api.Series{Metric: s.Metric}
			m.series[string(m.b)] = acc
		}
		acc.Points = append(acc.Points, s.Points...)
	}
}

func (m *matrixMerger) len() int { return len(m.series) }

// result returns the merged series sorted by labels, as the engine sorts a matrix.
func (m *matrixMerger) result() []api.Series {
	out := make([]api.Series, 0, len(m.series))
	for _, s := range m.series {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return labels.Compare(out[i].Metric, out[j].Metric) < 0 })
	return out
}

// addStats adds the figures of a sub-query to the total.
func addStats(dst *api.Stats, s api.Stats) {
	dst.ExecTime += s.ExecTime
	dst.QueueTime += s.QueueTime
	dst.TotalBytesProcessed += s.TotalBytesProcessed
	dst.TotalLinesProcessed += s.TotalLinesProcessed
	dst.PostFilterLines += s.PostFilterLines
	dst.Shards += s.Shards
	dst.ChunksRef += s.ChunksRef
	dst.ChunksDownloaded += s.ChunksDownloaded
	dst.CompressedBytes += s.CompressedBytes
	dst.DecompressedBytes += s.DecompressedBytes
	dst.DecompressedLines += s.DecompressedLines
	dst.HeadChunkBytes += s.HeadChunkBytes
	dst.HeadChunkLines += s.HeadChunkLines
	dst.Duplicates += s.Duplicates
}

// resultSize estimates the memory a cached result holds, for the cache's byte budget.
func resultSize(r *api.QueryResult) int64 {
	n := int64(256)
	for _, s := range r.Matrix {
		n += 64 + int64(len(s.Points))*16
		s.Metric.Range(func(l labels.Label) { n += int64(len(l.Name)+len(l.Value)) + 32 })
	}
	return n
}

// vectorMerger joins the vectors of an instant query's pieces, given oldest first. A series'
// values are combined with op: sum (Kahan-compensated, as the engine adds the samples of a
// window), max or min (a NaN is replaced by any other value, as the engine does). A series
// is in the result when it is in any piece, as it is in the whole window when any of its
// entries is. The sub-results are not modified.
type vectorMerger struct {
	op     string
	series map[string]*mergedSample
	b      []byte
}

type mergedSample struct {
	metric labels.Labels
	v, c   float64 // the value; c is the running compensation of a sum
}

func newVectorMerger(op string) *vectorMerger {
	return &vectorMerger{op: op, series: map[string]*mergedSample{}}
}

func (m *vectorMerger) add(vec []api.Sample) {
	for _, s := range vec {
		m.b = s.Metric.Bytes(m.b[:0])
		acc := m.series[string(m.b)]
		if acc == nil {
			acc = &mergedSample{metric: s.Metric}
			if m.op != syntax.OpSum {
				acc.v = s.V
			}
			m.series[string(m.b)] = acc
		}
		switch m.op {
		case syntax.OpSum:
			y := s.V - acc.c
			t := acc.v + y
			acc.c = (t - acc.v) - y
			acc.v = t
		case syntax.OpMax:
			if s.V > acc.v || math.IsNaN(acc.v) {
				acc.v = s.V
			}
		case syntax.OpMin:
			if s.V < acc.v || math.IsNaN(acc.v) {
				acc.v = s.V
			}
		}
	}
}

func (m *vectorMerger) len() int { return len(m.series) }

// result returns the merged vector at time t (Unix ms), each value divided by div when it is
// not 0, sorted by labels as the engine sorts an instant vector.
func (m *vectorMerger) result(t int64, div float64) []api.Sample {
	out := make([]api.Sample, 0, len(m.series))
	for _, s := range m.series {
		v := s.v
		if div != 0 {
			v /= div
		}
		out = append(out, api.Sample{Metric: s.metric, Point: api.Point{T: t, V: v}})
	}
	sort.Slice(out, func(i, j int) bool { return labels.Compare(out[i].Metric, out[j].Metric) < 0 })
	return out
}
