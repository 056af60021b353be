package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"sort"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/chunk"
	"github.com/sluicelog/sluice/pkg/index"
	"github.com/sluicelog/sluice/pkg/iter"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql"
	"github.com/sluicelog/sluice/pkg/querystats"
)

// Store is the chunk store: chunk objects in an ObjectClient, found through the label index.
type Store struct {
	objects ObjectClient
	index   *index.Index
	// reader answers the store's index look-ups: index itself, or a Union with shipped tables.
	reader IndexReader
	// onCorrupt is told of each chunk skipped because its bytes are damaged; may be nil.
	onCorrupt func(key string, err error)
	// deferred is objects, or the client a cache wraps, when it can make many writes durable
	// at once (WriteChunk, CommitChunks); nil otherwise.
	deferred deferredPutter
}

// NewStore returns a Store over objects and idx.
func NewStore(objects ObjectClient, idx *index.Index) *Store {
	s := &Store{objects: objects, index: idx, reader: idx}
	inner := objects
	if c, ok := objects.(*cachedObjects); ok { // caches reads only: writes may go around it
		inner = c.ObjectClient
	}
	s.deferred, _ = inner.(deferredPutter)
	return s
}

// Index returns the store's label index.
func (s *Store) Index() *index.Index { return s.index }

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// PutChunk writes c's object, then its index entry: a chunk is findable only once it is
// readable, and a crash in between leaves an unreferenced object, never a dangling reference.
func (s *Store) PutChunk(ctx context.Context, c *Chunk) error {
	ref := c.indexRef()
	if err := s.objects.Put(ctx, ref.Key(), bytes.NewReader(c.Data)); err != nil {
		return fmt.Errorf("put chunk: %w", err)
	}
	if err := s.index.Add(ctx, c.Tenant, c.Labels, ref); err != nil {
		return fmt.Errorf("index chunk: %w", err)
	}
	return nil
}

// deferredPutter is an ObjectClient that can write objects without waiting for the disk and
// make many of them durable at once (FS).
type deferredPutter interface {
	PutDeferred(ctx context.Context, key string, r io.Reader) error
	Sync(ctx context.Context) error
}

// WriteChunk writes c's object but does not index it: the first half of PutChunk, for a writer
// that commits many chunks at once with CommitChunks. Until then queries do not find the chunk,
// and on the filesystem it may not survive a crash of the machine.
func (s *Store) WriteChunk(ctx context.Context, c *Chunk) error {
	key := c.indexRef().Key()
	var err error
	if s.deferred != nil {
		err = s.deferred.PutDeferred(ctx, key, bytes.NewReader(c.Data))
	} else {
		err = s.objects.Put(ctx, key, bytes.NewReader(c.Data))
	}
	if err != nil {
		return fmt.Errorf("put chunk: %w", err)
	}
	return nil
}

// CommitChunks makes the chunks WriteChunk wrote durable, with one sync for all of them where
// the object client needs one, and then adds them to the index in one transaction per tenant
// and day table. As with PutChunk, a chunk is referenced only once it is durable. Committing
// chunks again is harmless.
func (s *Store) CommitChunks(ctx context.Context, cs []*Chunk) error {
	if len(cs) == 0 {
		return nil
	}
	if s.deferred != nil {
		if err := s.deferred.Sync(ctx); err != nil {
			return fmt.Errorf("put chunks: %w", err)
		}
	}
	byTenant := map[string][]index.SeriesRefs{}
	for _, c := range cs {
		byTenant[c.Tenant] = append(byTenant[c.Tenant], index.SeriesRefs{Labels: c.Labels, Refs: []index.ChunkRef{c.indexRef()}})
	}
	tenants := make([]string, 0, len(byTenant))
	for t := range byTenant {
		tenants = append(tenants, t)
	}
	sort.Strings(tenants)
	for _, t := range tenants {
		if err := s.index.AddBatch(ctx, t, byTenant[t]); err != nil {
			return fmt.Errorf("index chunks: %w", err)
		}
	}
	return nil
}

// SelectLogs returns the stored entries of tenant that p selects, merged in order. Chunks are
// fetched lazily, one run of time-overlapping chunks per series at a time. The answer holds no
// duplicate: a run of several chunks, or a chunk whose blocks overlap, is de-duplicated, and
// each series appears once. The querier relies on it (iter.MergeDedupeAfter).
func (s *Store) SelectLogs(ctx context.Context, tenant string, p logql.SelectLogParams) (iter.EntryIterator, error) {
	streams, err := s.SelectStreams(ctx, tenant, p, nil)
	if err != nil {
		return nil, err
	}
	its := make([]iter.EntryIterator, len(streams))
	for k, st := range streams {
		its[k] = st.It
	}
	return iter.Merge(its, p.Direction), nil
}

// StoredStream is one series' part of SelectStreams' answer.
type StoredStream struct {
	Labels labels.Labels
	// MaxThrough is the latest entry timestamp of the series' chunks that the selection
	// reads: no entry It gives is later.
	MaxThrough int64
	It         iter.EntryIterator
}

// SelectStreams is SelectLogs series by series, in no particular order, each without
// duplicates. linesFrom, when not nil, gives for a series the time from which its entries keep
// their lines though p.NoLinesBefore is later (a caller comparing them from there with another
// source's); nil leaves p.NoLinesBefore for every series.
func (s *Store) SelectStreams(ctx context.Context, tenant string, p logql.SelectLogParams, linesFrom func(labels.Labels) int64) ([]StoredStream, error) {
	if p.End <= p.Start {
		return nil, nil
	}
	series, err := s.reader.ChunkRefs(ctx, tenant, p.Start, p.End-1, p.Matchers...)
	if err != nil {
		return nil, fmt.Errorf("look up chunks: %w", err)
	}
	if p.MaxChunks > 0 {
		n := 0
		for _, sc := range series {
			n += len(sc.Chunks)
		}
		if n > p.MaxChunks {
			return nil, &logql.ChunkLimitError{Matchers: p.Matchers, Chunks: n, Limit: p.MaxChunks}
		}
	}
	st := querystats.From(ctx)
	if st != nil {
		for _, sc := range series {
			st.ChunksRef.Add(int64(len(sc.Chunks)))
		}
	}
	out := make([]StoredStream, 0, len(series))
	// A filtered scan of several series decodes them in parallel (prefetch.go); without a
	// filter nearly every entry is kept and copying them between goroutines costs more than
	// it saves.
	var group *prefetchGroup
	if p.LineFilter != nil && len(series) > 1 {
		group = newPrefetchGroup()
	}
	for _, sc := range series {
		if len(sc.Chunks) == 0 {
			continue
		}
		sp := p
		if linesFrom != nil {
			sp.NoLinesBefore = min(sp.NoLinesBefore, linesFrom(sc.Labels))
		}
		maxThrough := int64(math.MinInt64)
		for _, r := range sc.Chunks {
			maxThrough = max(maxThrough, r.Through)
		}
		var it iter.EntryIterator = &seriesIterator{ctx: ctx, store: s, lbls: sc.Labels, groups: overlapGroups(sc.Chunks, p.Direction), p: sp, stats: st}
		if group != nil {
			it = group.start(ctx, it, sc.Labels)
		}
		out = append(out, StoredStream{Labels: sc.Labels, MaxThrough: min(maxThrough, p.End-1), It: it})
	}
	return out, nil
}

// overlapGroups sorts refs into runs whose time ranges overlap, in dir order: the runs can be
// read one after the other, the chunks of one run must be merged.
func overlapGroups(refs []index.ChunkRef, dir logproto.Direction) [][]index.ChunkRef {
	sorted := append([]index.ChunkRef(nil), refs...)
	sort.Slice(sorted, func(a, b int) bool { return sorted[a].From < sorted[b].From })
	var groups [][]index.ChunkRef
	var through int64
	for i, r := range sorted {
		if i > 0 && r.From <= through {
			g := &groups[len(groups)-1]
			*g = append(*g, r)
			through = max(through, r.Through)
			continue
		}
		groups = append(groups, []index.ChunkRef{r})
		through = r.Through
	}
	if dir == logproto.Backward {
		for l, r := 0, len(groups)-1; l < r; l, r = l+1, r-1 {
			groups[l], groups[r] = groups[r], groups[l]
		}
	}
	return groups
}

// seriesIterator walks one series' chunks group by group.
type seriesIterator struct {
	ctx    context.Context
	store  *Store
	lbls   labels.Labels
	groups [][]index.ChunkRef
	p      logql.SelectLogParams
	cur    iter.EntryIterator
	hash   uint64
	err    error
	// chunks are the chunk iterators of the current group, whose decoding is added to the
	// query's statistics when the group is done.
	chunks []*chunk.Iterator
	stats  *querystats.Stats
}

// account adds what the current group's chunks decoded to the query's statistics.
func (it *seriesIterator) account() {
	if it.stats != nil {
		for _, c := range it.chunks {
			d := c.Decoded()
			it.stats.DecompressedLines.Add(d.Entries)
			it.stats.DecompressedBytes.Add(d.Bytes)
		}
	}
	it.chunks = it.chunks[:0]
}

func (it *seriesIterator) Next() bool {
	for {
		if it.err != nil {
			return false
		}
		if it.cur != nil {
			if it.cur.Next() {
				return true
			}
			if err := it.cur.Err(); err != nil {
				it.err = err
				return false
			}
			it.account()
			it.cur.Close()
			it.cur = nil
		}
		if len(it.groups) == 0 {
			return false
		}
		g := it.groups[0]
		it.groups = it.groups[1:]
		its := make([]iter.EntryIterator, 0, len(g))
		inOrder := len(g) == 1
		// A lone chunk cut in time order needs no de-duplication, which compares lines: when
		// the caller reads none of the lines it returns (those before End), they are not
		// decompressed at all.
		noLines := inOrder && min(g[0].Through, it.p.End-1) < it.p.NoLinesBefore
		for _, ref := range g {
			c, err := it.store.fetch(it.ctx, ref)
			if errors.Is(err, chunk.ErrCorrupt) {
				it.store.reportCorrupt(ref.Key(), err)
				continue
			}
			if err != nil {
				for _, o := range its {
					o.Close()
				}
				it.err = err
				return false
			}
			ci := c.Iterator(it.lbls, it.p.Start, it.p.End, it.p.Direction, it.p.LineFilter).Prefilter(it.p.Needle)
			if noLines && c.InOrder() {
				ci.WithoutLines()
			}
			it.chunks = append(it.chunks, ci)
			its = append(its, ci)
			inOrder = inOrder && c.InOrder()
		}
		if inOrder && len(its) == 1 {
			// A lone chunk cut in time order holds no duplicates (Chunk.InOrder): de-duplicating
			// would copy every line for nothing.
			it.cur = its[0]
			continue
		}
		it.cur = iter.MergeDedupe(its, it.p.Direction)
	}
}

func (it *seriesIterator) At() *logproto.Entry   { return it.cur.At() }
func (it *seriesIterator) Labels() labels.Labels { return it.lbls }
func (it *seriesIterator) StreamHash() uint64 {
	if it.hash == 0 {
		it.hash = it.lbls.Hash()
	}
	return it.hash
}
func (it *seriesIterator) Err() error { return it.err }
func (it *seriesIterator) Close() error {
	it.account()
	if it.cur != nil {
		return it.cur.Close()
	}
	return nil
}

// fetch reads and decodes one chunk.
func (s *Store) fetch(ctx context.Context, ref index.ChunkRef) (*chunk.Chunk, error) {
	key := ref.Key()
	rc, err := s.objects.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("fetch chunk %s: %w", key, err)
	}
	b, err := readObject(rc)
	if err != nil {
		return nil, fmt.Errorf("fetch chunk %s: %w", key, err)
	}
	if st := querystats.From(ctx); st != nil {
		st.ChunksDownloaded.Add(1)
		st.CompressedBytes.Add(int64(len(b)))
	}
	if sum := crc32.Checksum(b, castagnoli); sum != ref.Checksum {
		return nil, fmt.Errorf("fetch chunk %s: %w: %w: got %08x", key, chunk.ErrCorrupt, errCorruptChecksum, sum)
	}
	c, err := chunk.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("decode chunk %s: %w", key, err)
	}
	return c, nil
}

// Series returns the stored series of tenant in [from, through) matching ms.
func (s *Store) Series(ctx context.Context, tenant string, from, through int64, ms []*labels.Matcher) ([]labels.Labels, error) {
	if through <= from {
		return nil, nil
	}
	series, err := s.reader.Series(ctx, tenant, from, through-1, ms...)
	if err != nil {
		return nil, err
	}
	out := make([]labels.Labels, len(series))
	for i, se := range series {
		out[i] = se.Labels
	}
	return out, nil
}
