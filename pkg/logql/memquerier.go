package logql

import (
	"context"
	"fmt"
	"sort"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/iter"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
)

// MemQuerier is a Querier over streams held in memory: the engine's twin of the real querier,
// for tests, examples and benchmarks. It is safe for concurrent use once built.
type MemQuerier struct {
	streams []labels.Labels
	hashes  []uint64
	all     []memItem // every entry, by timestamp then stream labels
}

type memItem struct {
	e      logproto.Entry
	stream int
}

var _ Querier = (*MemQuerier)(nil)

// NewMemQuerier returns a querier over streams. Streams with equal labels are merged.
func NewMemQuerier(streams []logproto.Stream) (*MemQuerier, error) {
	q := &MemQuerier{}
	index := map[string]int{}
	for _, s := range streams {
		ls, err := syntax.ParseLabels(s.Labels)
		if err != nil {
			return nil, fmt.Errorf("parse stream labels %q: %w", s.Labels, err)
		}
		key := ls.String()
		i, ok := index[key]
		if !ok {
			i = len(q.streams)
			index[key] = i
			q.streams = append(q.streams, ls)
			q.hashes = append(q.hashes, ls.Hash())
		}
		for _, e := range s.Entries {
			q.all = append(q.all, memItem{e: e, stream: i})
		}
	}
	sort.SliceStable(q.all, func(i, j int) bool {
		a, b := q.all[i], q.all[j]
		if a.e.Timestamp != b.e.Timestamp {
			return a.e.Timestamp < b.e.Timestamp
		}
		return labels.Compare(q.streams[a.stream], q.streams[b.stream]) < 0
	})
	return q, nil
}

// SelectLogs implements Querier. Entries are read lazily from the shared sorted slice.
func (q *MemQuerier) SelectLogs(ctx context.Context, p SelectLogParams) (iter.EntryIterator, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	match := make([]bool, len(q.streams))
	for i, ls := range q.streams {
		match[i] = matchesAll(p.Matchers, ls)
	}
	lo := sort.Search(len(q.all), func(i int) bool { return q.all[i].e.Timestamp >= p.Start })
	hi := sort.Search(len(q.all), func(i int) bool { return q.all[i].e.Timestamp >= p.End })
	it := &memIterator{q: q, match: match, filter: p.LineFilter, lo: lo, hi: hi, forward: p.Direction == logproto.Forward}
	if it.forward {
		it.pos = lo - 1
	} else {
		it.pos = hi
	}
	return it, nil
}

func matchesAll(ms []*labels.Matcher, ls labels.Labels) bool {
	for _, m := range ms {
		if !m.Matches(ls.Get(m.Name)) {
			return false
		}
	}
	return true
}

type memIterator struct {
	q       *MemQuerier
	match   []bool
	filter  func([]byte) bool
	lo, hi  int
	pos     int
	forward bool
}

func (it *memIterator) Next() bool {
	for {
		if it.forward {
			it.pos++
			if it.pos >= it.hi {
				return false
			}
		} else {
			it.pos--
			if it.pos < it.lo {
				return false
			}
		}
		item := &it.q.all[it.pos]
		if !it.match[item.stream] {
			continue
		}
		if it.filter != nil && !it.filter(bytesOf(item.e.Line)) {
			continue
		}
		return true
	}
}

func (it *memIterator) At() *logproto.Entry   { return &it.q.all[it.pos].e }
func (it *memIterator) Labels() labels.Labels { return it.q.streams[it.q.all[it.pos].stream] }
func (it *memIterator) StreamHash() uint64    { return it.q.hashes[it.q.all[it.pos].stream] }
func (it *memIterator) Err() error            { return nil }
func (it *memIterator) Close() error          { return nil }
