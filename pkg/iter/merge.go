package iter

import (
	"math"

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

// merge is a tournament of loser tree over the sources, keyed by their current timestamp: each
// inner node keeps the source that lost the match played there, and the winner is the source
// whose entry comes next. Moving the winner on replays only the matches on its path to the root,
// one comparison per level (a binary heap makes two per level on its way down). The order key
// is cached beside each source, so a match costs no interface call and, but for equal
// timestamps, no branch the processor must guess (timestamps of interleaved streams are
// coin flips to its predictor): this is the hot loop of every query over many streams.
type merge struct {
	dir     logproto.Direction
	pending []EntryIterator // not yet primed
	// its are the sources, in the order given (leaf i is node len(its)+i of the tree); a
	// used-up source is nil. keys are their current entries' order keys (key), maxKey for a
	// used-up one, which loses every match.
	its  []EntryIterator
	keys []int64
	// losers[n] is the leaf that lost at inner node n (1 to len(its)-1; node n's children
	// are 2n and 2n+1).
	losers  []int32
	win     int // the leaf whose entry comes next
	live    int // sources not used up
	started bool
	err     error
	all     []EntryIterator
}

const maxKey = math.MaxInt64

// key orders timestamps in the merge's direction: ascending keys forward. ^ts reverses the
// order of int64s without overflow.
func (m *merge) key(ts int64) int64 {
	if m.dir == logproto.Forward {
		return ts
	}
	return ^ts
}

// beatsOnTie reports whether leaf a wins against leaf b when their keys are equal: by stream
// labels, a used-up source losing.
func (m *merge) beatsOnTie(a, b int32) bool {
	x, y := m.its[a], m.its[b]
	if x == nil || y == nil {
		return y == nil && x != nil
	}
	return labels.Compare(x.Labels(), y.Labels()) < 0
}

// beats reports whether leaf a wins its match against leaf b.
func (m *merge) beats(a, b int32) bool {
	if ka, kb := m.keys[a], m.keys[b]; ka != kb {
		return ka < kb
	}
	return m.beatsOnTie(a, b)
}

// start primes every source and plays the whole tournament.
func (m *merge) start() {
	m.started = true
	m.all = m.pending
	k := len(m.pending)
	m.its = make([]EntryIterator, k)
	m.keys = make([]int64, k)
	for i, it := range m.pending {
		m.keys[i] = maxKey
		if it.Next() {
			m.its[i], m.keys[i] = it, m.key(it.At().Timestamp)
			m.live++
		} else if err := it.Err(); err != nil {
			m.err = err
			return
		}
	}
	m.pending = nil
	// winners[n] is the winner below node n, leaves included.
	winners := make([]int32, 2*k)
	for i := range k {
		winners[k+i] = int32(i)
	}
	m.losers = make([]int32, k)
	for n := k - 1; n >= 1; n-- {
		a, b := winners[2*n], winners[2*n+1]
		if m.beats(b, a) {
			a, b = b, a
		}
		winners[n], m.losers[n] = a, b
	}
	if k > 0 {
		m.win = int(winners[1]) // with one leaf, node 1 is the leaf
	}
}

func (m *merge) Next() bool {
	if m.err != nil {
		return false
	}
	if !m.started {
		m.start()
		return m.err == nil && m.live > 0
	}
	if m.live == 0 {
		return false
	}
	w := int32(m.win)
	top := m.its[w]
	var wk int64 = maxKey
	if top.Next() {
		wk = m.key(top.At().Timestamp)
	} else {
		if err := top.Err(); err != nil {
			m.err = err
			return false
		}
		m.its[w] = nil
		if m.live--; m.live == 0 {
			return false
		}
	}
	m.keys[w] = wk
	// Replay the winner's matches up to the root. The selects below compile to conditional
	// moves; only equal keys take a branch.
	for n := (int(w) + len(m.its)) / 2; n >= 1; n /= 2 {
		l := m.losers[n]
		lk := m.keys[l]
		if lk == wk {
			if m.beatsOnTie(l, w) {
				m.losers[n], w = w, l
			}
			continue
		}
		loser, winner, winKey := l, w, wk
		if lk < wk {
			loser, winner, winKey = w, l, lk
		}
		m.losers[n], w, wk = loser, winner, winKey
	}
	m.win = int(w)
	return true
}

func (m *merge) At() *logproto.Entry   { return m.its[m.win].At() }
func (m *merge) Labels() labels.Labels { return m.its[m.win].Labels() }
func (m *merge) StreamHash() uint64    { return m.its[m.win].StreamHash() }
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
		fromDistinct := d.m != nil && d.m.win == d.distinct
		if fromDistinct && d.m.live == 1 {
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
