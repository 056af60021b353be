// Package querier answers reads by merging what the ingesters hold in memory with what the
// chunk store holds, without duplicates. It implements the LogQL engine's Querier and the
// label and series look-ups of the HTTP API.
package querier

import (
	"context"
	"slices"
	"sort"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/ingester"
	"github.com/sluicelog/sluice/pkg/iter"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql"
	"github.com/sluicelog/sluice/pkg/storage"
	"github.com/sluicelog/sluice/pkg/tenant"
)

// Querier reads from the ingesters and the store. The tenant comes from the context.
type Querier struct {
	ingesters Ingesters
	store     *storage.Store
	limits    Limits // nil: no max_chunks_per_query
}

var _ logql.Querier = (*Querier)(nil)

// New returns a Querier over ings and store: ings is the ingester of this process (Local), or
// those of other processes (Remote), or nil; the querier then answers from the store only,
// which holds what the ingesters flushed.
func New(ings Ingesters, store *storage.Store) *Querier {
	return &Querier{ingesters: ings, store: store}
}

// local returns the ingester of this process, or nil.
func (q *Querier) local() *ingester.Ingester {
	if l, ok := q.ingesters.(Local); ok {
		return l.Ingester
	}
	return nil
}

// SelectLogs implements logql.Querier.
//
// The ingesters are asked first: a chunk flushed meanwhile is then in the store's answer too,
// and de-duplicated, where asking the store first could miss a chunk flushed and dropped from
// the ingester's memory between the two.
func (q *Querier) SelectLogs(ctx context.Context, p logql.SelectLogParams) (iter.EntryIterator, error) {
	id, err := tenant.From(ctx)
	if err != nil {
		return nil, err
	}
	p.MaxChunks = q.maxChunks(id)
	if q.ingesters == nil {
		return q.store.SelectLogs(ctx, id, p)
	}
	if local := q.local(); local != nil {
		return q.selectSplit(ctx, local, id, p)
	}
	fromIngester, err := q.ingesters.SelectLogs(ctx, id, p)
	if err != nil {
		return nil, err
	}
	if p.NoLinesBefore > p.Start {
		// The store's entries are compared with the ingesters' only from the oldest of the
		// latter on: before it, the store may leave the lines out.
		fromIngester, p.NoLinesBefore = oldestFirst(fromIngester, p)
	}
	fromStore, err := q.store.SelectLogs(ctx, id, p)
	if err != nil {
		fromIngester.Close()
		return nil, err
	}
	// A chunk just flushed is in both until the ingester drops it. The store's answer holds no
	// duplicate of its own (it merges overlapping chunks without them), so once the ingesters'
	// entries are used up the rest of it needs no comparing.
	return iter.MergeDedupeAfter([]iter.EntryIterator{fromIngester, fromStore}, p.Direction, 1), nil
}

// selectSplit answers p from this process's ingester and the store, stream by stream. The
// ingester gives the entries it has not flushed, then the store's index is looked up (in that
// order: a chunk flushed and dropped between the two would otherwise be missed). A stream's
// entries are compared between the two, which takes their lines and copies each, only where
// they can repeat each other: where the ingester's entries do not start after the store's end
// (a chunk flushed in between, entries replayed from the WAL after their flush, a client's
// resend of flushed entries). Otherwise the two are merged as they are, and a caller that reads
// no line gets none from either.
func (q *Querier) selectSplit(ctx context.Context, local *ingester.Ingester, id string, p logql.SelectLogParams) (iter.EntryIterator, error) {
	unflushed := local.SelectUnflushed(ctx, id, p)
	byHash := make(map[uint64][]*ingester.UnflushedStream, len(unflushed))
	for _, u := range unflushed {
		h := u.Labels.Hash()
		byHash[h] = append(byHash[h], u)
	}
	// find takes the hash of ls too: a stored stream's iterator has it already, and keeps it
	// for the merge below.
	find := func(ls labels.Labels, h uint64) *ingester.UnflushedStream {
		for _, u := range byHash[h] {
			if labels.Equal(u.Labels, ls) {
				return u
			}
		}
		return nil
	}
	// The store's entries of a stream keep their lines from the ingester's first one on.
	linesFrom := func(ls labels.Labels) int64 {
		if u := find(ls, ls.Hash()); u != nil {
			return u.MinT
		}
		return p.NoLinesBefore
	}
	stored, err := q.store.SelectStreams(ctx, id, p, linesFrom)
	if err != nil {
		for _, u := range unflushed {
			u.It.Close()
		}
		return nil, err
	}
	its := make([]iter.EntryIterator, 0, len(stored)+len(unflushed))
	compared := make(map[*ingester.UnflushedStream]bool)
	for _, st := range stored {
		if u := find(st.Labels, st.It.StreamHash()); u != nil && u.MinT <= st.MaxThrough {
			compared[u] = true
			its = append(its, iter.MergeDedupeAfter([]iter.EntryIterator{u.It, st.It}, p.Direction, 1))
			continue
		}
		its = append(its, st.It)
	}
	noLines := p.NoLinesBefore >= p.End && p.LineFilter == nil && len(p.Needle) == 0
	for _, u := range unflushed {
		if compared[u] {
			continue
		}
		if noLines {
			u.WithoutLines()
		}
		its = append(its, u.It)
	}
	return iter.Merge(its, p.Direction), nil
}

// oldestFirst reads the first entry of it, the ingesters' answer to p, and returns an iterator
// that gives it again and then the rest, with the time before which the store's answer may leave
// its lines out: p.NoLinesBefore, or the oldest entry of it when that is earlier. Only a forward
// answer starts with its oldest entry; for a backward one nothing is left out. An answer that
// fails to start is returned as it is, its error to be seen by the caller's first Next.
func oldestFirst(it iter.EntryIterator, p logql.SelectLogParams) (iter.EntryIterator, int64) {
	if p.Direction != logproto.Forward {
		return it, 0
	}
	if !it.Next() {
		if it.Err() != nil {
			return it, 0
		}
		return it, p.NoLinesBefore // the ingesters hold nothing in range
	}
	return &peeked{EntryIterator: it, first: true}, min(p.NoLinesBefore, it.At().Timestamp)
}

// peeked is an iterator whose first entry was read already: its first Next only reports it.
type peeked struct {
	iter.EntryIterator
	first bool
}

func (p *peeked) Next() bool {
	if p.first {
		p.first = false
		return true
	}
	return p.EntryIterator.Next()
}

// Series returns the label sets of the streams with entries in [from, through) matching ms,
// sorted and without duplicates.
func (q *Querier) Series(ctx context.Context, from, through int64, ms []*labels.Matcher) ([]labels.Labels, error) {
	id, err := tenant.From(ctx)
	if err != nil {
		return nil, err
	}
	stored, err := q.store.Series(ctx, id, from, through, ms)
	if err != nil {
		return nil, err
	}
	all := stored
	if q.ingesters != nil {
		mem, err := q.ingesters.Series(ctx, id, from, through, ms)
		if err != nil {
			return nil, err
		}
		all = append(all, mem...)
	}
	sort.Slice(all, func(a, b int) bool { return labels.Compare(all[a], all[b]) < 0 })
	return slices.CompactFunc(all, labels.Equal), nil
}

// LabelNames returns the label names of the streams Series would return.
func (q *Querier) LabelNames(ctx context.Context, from, through int64, ms []*labels.Matcher) ([]string, error) {
	series, err := q.Series(ctx, from, through, ms)
	if err != nil {
		return nil, err
	}
	set := map[string]struct{}{}
	for _, s := range series {
		s.Range(func(l labels.Label) { set[l.Name] = struct{}{} })
	}
	return sortedKeys(set), nil
}

// LabelValues returns the values of label name among the streams Series would return.
func (q *Querier) LabelValues(ctx context.Context, name string, from, through int64, ms []*labels.Matcher) ([]string, error) {
	series, err := q.Series(ctx, from, through, ms)
	if err != nil {
		return nil, err
	}
	set := map[string]struct{}{}
	for _, s := range series {
		if v := s.Get(name); v != "" {
			set[v] = struct{}{}
		}
	}
	return sortedKeys(set), nil
}

func sortedKeys(set map[string]struct{}) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
