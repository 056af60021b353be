package index

import (
	"context"

	"github.com/prometheus/prometheus/model/labels"
)

// Stats summarises what a selector covers over a time range, as Loki's /index/stats reports it.
type Stats struct {
	// Streams counts the series with at least one chunk in the range.
	Streams uint64
	// Chunks counts those series' chunks that overlap the range.
	Chunks uint64
	// Bytes and Entries add up the chunks' uncompressed bytes and entries. A chunk only partly
	// inside the range contributes the share of its time span that is inside, as Loki estimates.
	Bytes   uint64
	Entries uint64
}

// chunkID identifies a chunk across tables.
type chunkID struct {
	fp            uint64
	from, through int64
	checksum      uint32
}

// chunkDedup remembers the chunks that span days, which the table of each day holds; chunks within
// one day are read from one table only and need no memory.
type chunkDedup map[chunkID]struct{}

// first reports whether ref is seen for the first time.
func (d chunkDedup) first(ref *ChunkRef) bool {
	if DayOf(ref.From) == DayOf(ref.Through) {
		return true
	}
	id := chunkID{ref.Fingerprint, ref.From, ref.Through, ref.Checksum}
	if _, ok := d[id]; ok {
		return false
	}
	d[id] = struct{}{}
	return true
}

// prorate returns the bytes and entries of ref that fall in [from, through], assuming the entries
// are spread evenly over the chunk's time span.
func prorate(ref *ChunkRef, from, through int64) (bytes, entries uint64) {
	if ref.From >= from && ref.Through <= through {
		return ref.UncompressedBytes, uint64(ref.Entries)
	}
	span := float64(ref.Through - ref.From + 1) // subtract first: float64 of a ns timestamp rounds
	in := float64(min(through, ref.Through) - max(from, ref.From) + 1)
	if in <= 0 {
		return 0, 0
	}
	f := in / span
	return uint64(float64(ref.UncompressedBytes) * f), uint64(float64(ref.Entries) * f)
}

// statsQuery adds up Stats.
type statsQuery struct {
	from, through int64
	ms            []*labels.Matcher
	streams       map[string]struct{}
	dedup         chunkDedup
	st            Stats
}

func (q *statsQuery) run(ctx context.Context, t *Table) error {
	if q.streams == nil {
		q.streams, q.dedup = map[string]struct{}{}, chunkDedup{}
	}
	return t.visit(ctx, q.from, q.through, q.ms, seriesVisitor{chunk: func(_ uint64, rec seriesRecord, ref *ChunkRef) error {
		if !q.dedup.first(ref) {
			return nil
		}
		if _, ok := q.streams[string(rec.lbls)]; !ok {
			q.streams[string(rec.lbls)] = struct{}{}
		}
		b, e := prorate(ref, q.from, q.through)
		q.st.Chunks++
		q.st.Bytes += b
		q.st.Entries += e
		return nil
	}})
}

func (q *statsQuery) result() Stats {
	q.st.Streams = uint64(len(q.streams))
	return q.st
}
