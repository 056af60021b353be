package iter

import (
	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
)

// Merge returns an iterator over the entries of its, in dir order by timestamp, ties broken by
// stream labels. Each of its must itself be in dir order. Merge owns its and closes them.
// It does not drop duplicates: use it where its cannot hold the same entry twice (different
// streams); MergeDedupe is for sources that may overlap.
func Merge(its []EntryIterator, dir logproto.Direction) EntryIterator {
	switch len(its) {
	case 0:
		return empty{}
	case 1:
		return its[0]
	}
	return &merge{dir: dir, pending: its}
}

// MergeDedupe is Merge that also skips an entry equal to one already returned for the same
// stream at the same timestamp (same line), so replicas, or data both in an ingester and in
// the store, come out once.
func MergeDedupe(its []EntryIterator, dir logproto.Direction) EntryIterator {
	if len(its) == 0 {
		return empty{}
	}
	return &dedupe{EntryIterator: Merge(its, dir)}
}

// MergeDedupeAfter is MergeDedupe where its[distinct] holds no duplicate of its own (a
// store's answer: MergeDedupe where its chunks overlap). Once every other source is used up,
// its entries are passed through without being remembered: no other source can repeat them,
// but at the timestamp where the last other one ended. For a query over flushed data alone
// (the ingesters hold none of it) that is from the first entry.
func MergeDedupeAfter(its []EntryIterator, dir logproto.Direction, distinct int) EntryIterator {
	if len(its) < 2 || distinct < 0 || distinct >= len(its) {
		return MergeDedupe(its, dir)
	}
	m := &merge{dir: dir, pending: its}
	return &dedupe{EntryIterator: m, m: m, distinct: distinct}
}

// merge is a binary heap of iterators keyed by their current timestamp. The timestamp is
// cached beside each iterator, so ordering costs no interface calls: the heap is the hot loop
// of every query over many streams.
type merge struct {
	dir     logproto.Direction
	pending []EntryIterator // not yet primed into the heap
	h       []item
	started bool
	err     error
	all     []EntryIterator
}

type item struct {
	ts  int64
	it  EntryIterator
	src int // the iterator's index in the sources given
}

func (m *merge) less(a, b *item) bool {
	if a.ts != b.ts {
		if m.dir == logproto.Forward {
			return a.ts < b.ts
		}
		return a.ts > b.ts
	}
	return labels.Compare(a.it.Labels(), b.it.Labels()) < 0
}

func (m *merge) down(i int) {
	n := len(m.h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		c := l
		if r := l + 1; r < n && m.less(&m.h[r], &m.h[l]) {
			c = r
		}
		if !m.less(&m.h[c], &m.h[i]) {
			return
		}
		m.h[i], m.h[c] = m.h[c], m.h[i]
		i = c
	}
}

func (m *merge) Next() bool {
	if m.err != nil {
		return false
	}
	if !m.started {
		m.started = true
		m.all = m.pending
		for i, it := range m.pending {
			if it.Next() {
				m.h = append(m.h, item{it.At().Timestamp, it, i})
			} else if err := it.Err(); err != nil {
				m.err = err
				return false
			}
		}
		m.pending = nil
		for i := len(m.h)/2 - 1; i >= 0; i-- {
			m.down(i)
		}
		return len(m.h) > 0
	}
	if len(m.h) == 0 {
		return false
	}
	top := &m.h[0]
	if top.it.Next() {
		top.ts = top.it.At().Timestamp
	} else {
		if err := top.it.Err(); err != nil {
			m.err = err
			return false
		}
		last := len(m.h) - 1
		m.h[0] = m.h[last]
		m.h[last] = item{}
		m.h = m.h[:last]
	}
	m.down(0)
	return len(m.h) > 0
}

func (m *merge) At() *logproto.Entry   { return m.h[0].it.At() }
func (m *merge) Labels() labels.Labels { return m.h[0].it.Labels() }
func (m *merge) StreamHash() uint64    { return m.h[0].it.StreamHash() }
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
// timestamp. Entries of one timestamp come out adjacent from a merge, so it remembers only the
// entries of the current timestamp. Nearly every timestamp has one entry, so the first one's
// line is kept as a copy, which costs less than hashing it, and compared only if another entry
// with its timestamp follows; from the second one on, (stream, line hash) pairs are kept. With
// 64-bit hashes of both, a false match needs a collision of both at one timestamp, which is
// negligible.
type dedupe struct {
	EntryIterator
	// m is the merge of the sources and distinct the index of the one without duplicates of
	// its own (MergeDedupeAfter; m is nil otherwise); solo is set while the entries at ts all
	// came from it, the one source left.
	m        *merge
	distinct int
	solo     bool
	ts       int64
	started  bool
	// The first entry at ts: its line (a copy), stream, and whether the distinct source gave it.
	first         []byte
	firstStream   uint64
	firstDistinct bool
	seen          []dedupeKey // the entries at ts, once there are two; empty before
}

// dedupeKey is an entry returned at the current timestamp. Two entries of the distinct source
// are never compared: they differ, even where they are alike (an answer may leave out the lines
// it is not asked for, logql.SelectLogParams.NoLinesBefore).
type dedupeKey struct {
	stream, line uint64
	distinct     bool
}

func (d *dedupe) Next() bool {
next:
	for d.EntryIterator.Next() {
		e := d.EntryIterator.At()
		fromDistinct := d.m != nil && d.m.h[0].src == d.distinct
		if fromDistinct && len(d.m.h) == 1 {
			// The distinct source is the one left: its entries differ from each other, and an
			// entry of another source can only equal one at the timestamp that source ended on.
			if d.solo && e.Timestamp == d.ts {
				return true
			}
			if !d.started || e.Timestamp != d.ts {
				d.started, d.ts, d.solo = true, e.Timestamp, true
				return true
			}
		}
		stream := d.EntryIterator.StreamHash()
		if !d.started || e.Timestamp != d.ts {
			d.started, d.ts, d.solo = true, e.Timestamp, false
			d.first, d.firstStream, d.firstDistinct = append(d.first[:0], e.Line...), stream, fromDistinct
			d.seen = d.seen[:0]
			return true
		}
		if len(d.seen) == 0 {
			if stream == d.firstStream && !(fromDistinct && d.firstDistinct) && string(d.first) == e.Line {
				continue
			}
			d.seen = append(d.seen, dedupeKey{d.firstStream, xxhash.Sum64(d.first), d.firstDistinct})
		}
		k := dedupeKey{stream, xxhash.Sum64String(e.Line), fromDistinct}
		for _, s := range d.seen {
			if s.stream == k.stream && s.line == k.line && !(s.distinct && k.distinct) {
				continue next
			}
		}
		d.seen = append(d.seen, k)
		return true
	}
	return false
}

type empty struct{}

func (empty) Next() bool            { return false }
func (empty) At() *logproto.Entry   { return new(logproto.Entry) }
func (empty) Labels() labels.Labels { return labels.EmptyLabels() }
func (empty) StreamHash() uint64    { return 0 }
func (empty) Err() error            { return nil }
func (empty) Close() error          { return nil }

// Empty returns an iterator with no entries.
func Empty() EntryIterator { return empty{} }
