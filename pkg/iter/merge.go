package iter

import (
	"container/heap"
	"slices"

	"github.com/cespare/xxhash/v2"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
)

// Merge returns an iterator over the entries of its, in dir order by timestamp, ties broken by
// stream labels; an entry equal to the previous one of the same stream (same timestamp and line)
// is skipped, so replicas and data both in an ingester and in the store come out once. Each of
// its must itself be in dir order. Merge owns its and closes them.
func Merge(its []EntryIterator, dir logproto.Direction) EntryIterator {
	switch len(its) {
	case 0:
		return empty{}
	case 1:
		return &dedupe{EntryIterator: its[0]}
	}
	m := &merge{dir: dir, pending: its}
	return &dedupe{EntryIterator: m}
}

type merge struct {
	dir     logproto.Direction
	pending []EntryIterator // not yet primed into the heap
	h       []EntryIterator
	cur     EntryIterator
	err     error
	all     []EntryIterator
}

func (m *merge) Len() int { return len(m.h) }
func (m *merge) Less(i, j int) bool {
	a, b := m.h[i].At().Timestamp, m.h[j].At().Timestamp
	if a != b {
		if m.dir == logproto.Forward {
			return a < b
		}
		return a > b
	}
	return labels.Compare(m.h[i].Labels(), m.h[j].Labels()) < 0
}
func (m *merge) Swap(i, j int) { m.h[i], m.h[j] = m.h[j], m.h[i] }
func (m *merge) Push(x any)    { m.h = append(m.h, x.(EntryIterator)) }
func (m *merge) Pop() any {
	x := m.h[len(m.h)-1]
	m.h = m.h[:len(m.h)-1]
	return x
}

func (m *merge) Next() bool {
	if m.err != nil {
		return false
	}
	if m.pending != nil {
		for _, it := range m.pending {
			m.all = append(m.all, it)
			if it.Next() {
				m.h = append(m.h, it)
			} else if err := it.Err(); err != nil {
				m.err = err
				return false
			}
		}
		m.pending = nil
		heap.Init(m)
	} else if m.cur != nil {
		if m.cur.Next() {
			heap.Fix(m, 0)
		} else {
			if err := m.cur.Err(); err != nil {
				m.err = err
				return false
			}
			heap.Pop(m)
		}
	}
	if len(m.h) == 0 {
		m.cur = nil
		return false
	}
	m.cur = m.h[0]
	return true
}

func (m *merge) At() logproto.Entry    { return m.cur.At() }
func (m *merge) Labels() labels.Labels { return m.cur.Labels() }
func (m *merge) StreamHash() uint64    { return m.cur.StreamHash() }
func (m *merge) Err() error            { return m.err }
func (m *merge) Close() error {
	var first error
	for _, it := range append(m.all, m.pending...) {
		if err := it.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// dedupe drops an entry identical to one already returned for the same stream at the same
// timestamp. Entries of one timestamp come out adjacent from a merge, so it remembers the
// (stream, line hash) pairs seen at the current timestamp only; with 64-bit hashes of both, a
// false match needs a collision of both at one timestamp, which is negligible.
type dedupe struct {
	EntryIterator
	ts   int64
	seen []dedupeKey
}

type dedupeKey struct{ stream, line uint64 }

func (d *dedupe) Next() bool {
	for d.EntryIterator.Next() {
		e := d.EntryIterator.At()
		if len(d.seen) == 0 || e.Timestamp != d.ts {
			d.seen = d.seen[:0]
			d.ts = e.Timestamp
		}
		k := dedupeKey{d.EntryIterator.StreamHash(), xxhash.Sum64String(e.Line)}
		if slices.Contains(d.seen, k) {
			continue
		}
		d.seen = append(d.seen, k)
		return true
	}
	return false
}

type empty struct{}

func (empty) Next() bool            { return false }
func (empty) At() logproto.Entry    { return logproto.Entry{} }
func (empty) Labels() labels.Labels { return labels.EmptyLabels() }
func (empty) StreamHash() uint64    { return 0 }
func (empty) Err() error            { return nil }
func (empty) Close() error          { return nil }

// Empty returns an iterator with no entries.
func Empty() EntryIterator { return empty{} }
