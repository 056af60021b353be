package index

import (
	"cmp"
	"context"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
)

// Series is one series (stream) a query selected.
type Series struct {
	Labels      labels.Labels
	Fingerprint uint64
}

// SeriesChunks is a series and the chunks of it that a query selected.
type SeriesChunks struct {
	Labels      labels.Labels
	Fingerprint uint64
	// Chunks are sorted by From, then Through, then Checksum, without duplicates.
	Chunks []ChunkRef
}

// queryer is a query run over one or more tables; the results merge across them.
type queryer interface {
	run(ctx context.Context, t *Table) error
}

// seriesQuery collects Series.
type seriesQuery struct {
	from, through int64
	ms            []*labels.Matcher
	out           []Series
	sb            labels.ScratchBuilder
}

func (q *seriesQuery) run(ctx context.Context, t *Table) error {
	return t.visit(ctx, q.from, q.through, q.ms, seriesVisitor{series: func(rec seriesRecord) error {
		lbls, err := decodeLabels(rec.lbls, &q.sb)
		if err != nil {
			return err
		}
		q.out = append(q.out, Series{Labels: lbls, Fingerprint: rec.fp})
		return nil
	}})
}

// result sorts the series and drops the copies that several day tables returned.
func (q *seriesQuery) result() []Series {
	slices.SortFunc(q.out, func(a, b Series) int { return labels.Compare(a.Labels, b.Labels) })
	return slices.CompactFunc(q.out, func(a, b Series) bool { return labels.Equal(a.Labels, b.Labels) })
}

// chunksQuery collects SeriesChunks.
type chunksQuery struct {
	from, through int64
	ms            []*labels.Matcher
	out           []SeriesChunks
	sb            labels.ScratchBuilder
	// lastID and lastTable say which series the last element of out is: a table visits the
	// chunks of one series one after another.
	lastID    uint64
	lastTable *Table
}

func (q *chunksQuery) run(ctx context.Context, t *Table) error {
	return t.visit(ctx, q.from, q.through, q.ms, seriesVisitor{chunk: func(id uint64, rec seriesRecord, ref *ChunkRef) error {
		if len(q.out) == 0 || q.lastTable != t || q.lastID != id {
			lbls, err := decodeLabels(rec.lbls, &q.sb)
			if err != nil {
				return err
			}
			q.out = append(q.out, SeriesChunks{Labels: lbls, Fingerprint: rec.fp})
			q.lastID, q.lastTable = id, t
		}
		last := &q.out[len(q.out)-1]
		last.Chunks = append(last.Chunks, *ref)
		return nil
	}})
}

// result sorts the series, merges the parts that several day tables returned, and drops the
// copies of chunks that span days.
func (q *chunksQuery) result() []SeriesChunks {
	slices.SortStableFunc(q.out, func(a, b SeriesChunks) int { return labels.Compare(a.Labels, b.Labels) })
	out := q.out[:0]
	for _, s := range q.out {
		if n := len(out); n > 0 && labels.Equal(out[n-1].Labels, s.Labels) {
			out[n-1].Chunks = append(out[n-1].Chunks, s.Chunks...)
			continue
		}
		out = append(out, s)
	}
	for i := range out {
		cs := out[i].Chunks
		slices.SortFunc(cs, compareChunks)
		out[i].Chunks = slices.CompactFunc(cs, func(a, b ChunkRef) bool { return compareChunks(a, b) == 0 })
	}
	return out
}

func compareChunks(a, b ChunkRef) int {
	return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.Through, b.Through), cmp.Compare(a.Checksum, b.Checksum))
}

// namesQuery collects label names.
type namesQuery struct {
	from, through int64
	ms            []*labels.Matcher
	set           map[string]struct{}
}

func (q *namesQuery) run(ctx context.Context, t *Table) error {
	if q.set == nil {
		q.set = map[string]struct{}{}
	}
	add := func(name []byte) {
		if _, ok := q.set[string(name)]; !ok {
			q.set[string(name)] = struct{}{}
		}
	}
	if len(q.ms) == 0 && t.coversDay(q.from, q.through) {
		return t.labelNames(add)
	}
	return t.visit(ctx, q.from, q.through, q.ms, seriesVisitor{series: func(rec seriesRecord) error {
		return rangeLabels(rec.lbls, func(name, _ []byte) { add(name) })
	}})
}

func (q *namesQuery) result() []string { return sortedKeys(q.set) }

// valuesQuery collects the values of one label.
type valuesQuery struct {
	from, through int64
	name          string
	ms            []*labels.Matcher
	set           map[string]struct{}
}

func (q *valuesQuery) run(ctx context.Context, t *Table) error {
	if q.set == nil {
		q.set = map[string]struct{}{}
	}
	add := func(value []byte) {
		if _, ok := q.set[string(value)]; !ok {
			q.set[string(value)] = struct{}{}
		}
	}
	if len(q.ms) == 0 && t.coversDay(q.from, q.through) {
		return t.labelValues(q.name, add)
	}
	return t.visit(ctx, q.from, q.through, q.ms, seriesVisitor{series: func(rec seriesRecord) error {
		v, ok, err := labelValue(rec.lbls, q.name)
		if ok {
			add(v)
		}
		return err
	}})
}

func (q *valuesQuery) result() []string { return sortedKeys(q.set) }

func sortedKeys(set map[string]struct{}) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
