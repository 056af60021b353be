// Package ingester holds the recent past of every stream in memory: the open chunk taking
// appends, sealed chunks waiting to be flushed, and the write-ahead log that makes an
// acknowledged push survive a crash. It flushes chunks to the store when they are full, idle
// or old, on request and on shutdown, and answers queries for the data it holds. A flushed
// chunk stays in memory, still answering queries, for chunk_retain_period: the querier of a
// read process learns of it only once the index table listing it is shipped and fetched.
//
// A push is applied to memory first and then written to the WAL; Push returns only once the
// WAL record is durable, so every acknowledged entry is either flushed or in the WAL.
package ingester

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/chunk"
	"github.com/sluicelog/sluice/pkg/distributor"
	"github.com/sluicelog/sluice/pkg/iter"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
	"github.com/sluicelog/sluice/pkg/querystats"
	"github.com/sluicelog/sluice/pkg/storage"
	"github.com/sluicelog/sluice/pkg/validation"
	"github.com/sluicelog/sluice/pkg/wal"
)

// Store receives flushed chunks.
type Store interface {
	PutChunk(ctx context.Context, c *storage.Chunk) error
}

// Ingester holds every tenant's recent streams.
type Ingester struct {
	cfg     Config
	enc     chunk.Encoding
	store   Store
	limits  *validation.Overrides
	logger  *slog.Logger
	metrics *metrics
	wal     *wal.WAL // nil when the WAL is disabled
	tailer  Tailer   // live tails (tail.go); nil when none
	now     func() time.Time

	mu      sync.RWMutex
	tenants map[string]*instance

	flushMu sync.Mutex // one flush pass at a time
	// retained is the compressed size of the flushed chunks still in memory (see release).
	retained atomic.Int64
	// flushNow wakes the flush loop before its next tick: a chunk was sealed (full, or
	// spanning max_chunk_age) and should leave memory now rather than up to a period later.
	// sealedQueue lists the streams with such chunks (see sealed).
	flushNow    chan struct{}
	sealedMu    sync.Mutex
	sealedQueue []sealedStream
	stop        chan struct{}
	cancelLoops context.CancelFunc
	done        sync.WaitGroup
}

// instance is one tenant's streams.
type instance struct {
	mu      sync.RWMutex
	streams map[string]*stream             // by canonical label string
	onSeal  func(tenant string, s *stream) // called by every stream: see stream.onSeal
	// memStreams is loki_ingester_memory_streams, counting every stream of every tenant.
	memStreams prometheus.Gauge
}

// New builds an ingester. When cfg.WAL.Enabled, it replays the WAL in cfg.WAL.Dir before
// returning, so the ingester is ready only after replay. Call Start to run the flush and
// checkpoint loops and Stop to shut down.
func New(cfg Config, limits *validation.Overrides, store Store, logger *slog.Logger, reg prometheus.Registerer) (*Ingester, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	enc, _ := chunk.ParseEncoding(cfg.ChunkEncoding)
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	i := &Ingester{
		cfg: cfg, enc: enc, store: store, limits: limits, logger: logger,
		now:     time.Now,
		tenants: map[string]*instance{}, stop: make(chan struct{}), flushNow: make(chan struct{}, 1),
	}
	i.metrics = newMetrics(reg, func() float64 { return float64(i.retained.Load()) })
	if cfg.WAL.Enabled {
		if cfg.WAL.Dir == "" {
			return nil, errors.New("ingester.wal.dir: must be set when the WAL is enabled")
		}
		opts := wal.Options{Logger: logger, Metrics: wal.NewMetrics(reg)}
		if err := i.replay(opts); err != nil {
			return nil, err
		}
		w, err := wal.Open(cfg.WAL.Dir, opts)
		if err != nil {
			return nil, fmt.Errorf("open wal: %w", err)
		}
		i.wal = w
	}
	return i, nil
}

func (i *Ingester) replay(opts wal.Options) error {
	start := time.Now()
	var dec wal.Decoder
	entries := 0
	// held counts the bytes replayed since the last flush the ceiling forced: an upper bound of
	// what the replay keeps in memory (chunks hold them compressed, but for the open block).
	// Before a crash the flush loop wrote chunks as they filled; a replay has no flush loop, and
	// would otherwise hold everything the segments after the checkpoint carry.
	var held int64
	ceiling := int64(i.cfg.WAL.ReplayMemoryCeiling)
	stats, err := wal.Replay(context.Background(), i.cfg.WAL.Dir, opts, func(rec []byte) error {
		r, err := dec.DecodeAlias(rec)
		if err != nil {
			return err
		}
		var bytes int64
		for _, s := range r.Streams {
			entries += len(s.Entries)
			for k := range s.Entries {
				bytes += int64(entryBytes(&s.Entries[k]))
			}
		}
		// The head copies what it keeps, so aliasing the record buffer is safe.
		if _, err = i.apply(r.Tenant, r.Streams, false); err != nil {
			return err
		}
		i.metrics.replayBytes.Add(float64(bytes))
		// Flush at 90% of the ceiling, as Loki does, leaving room for the next record.
		if held += bytes; held > ceiling/10*9 {
			i.replayFlush(held)
			held = 0
		}
		return nil
	})
	if err != nil && !errors.Is(err, wal.ErrCorrupt) {
		return fmt.Errorf("replay wal: %w", err)
	}
	if err != nil {
		// Loki starts with whatever it recovered; the corruption is logged and counted.
		i.logger.Error("wal replay found corruption; starting with what was recovered", "err", err)
	}
	i.logger.Info("wal replayed", "entries", entries, "stats", fmt.Sprintf("%+v", stats), "duration", time.Since(start))
	return nil
}

// entryBytes is what an entry weighs in replay_memory_ceiling: its line and structured metadata.
func entryBytes(e *logproto.Entry) int {
	n := len(e.Line)
	e.StructuredMetadata.Range(func(l labels.Label) { n += len(l.Name) + len(l.Value) })
	return n
}

// replayFlush writes every chunk the replay has built so far to the store and drops it from
// memory, retained or not: the ingester is not ready yet, so no query has read them. held is
// the bytes replayed since the last call, for the log. A failed flush leaves the chunks in
// memory; the flush loop retries them once the ingester runs.
func (i *Ingester) replayFlush(held int64) {
	start := time.Now()
	i.metrics.replayFlushes.Inc()
	i.flushMu.Lock()
	tenants := i.tenantsSnapshot()
	now := i.now()
	if err := i.sealAndWrite(context.Background(), tenants, now, true); err != nil {
		i.logger.Error("wal replay: flush at replay_memory_ceiling failed; replaying on", "err", err)
	}
	// Every chunk flushed by now goes, whatever its retain period.
	i.removeFlushedBy(tenants, now, i.now())
	i.flushMu.Unlock()
	i.logger.Info("wal replay reached replay_memory_ceiling; flushed what it had replayed",
		"bytes", held, "ceiling", i.cfg.WAL.ReplayMemoryCeiling.String(), "duration", time.Since(start))
}

// Push stores the streams of one tenant. Streams must carry canonical label strings.
// Rejected entries (too far behind) are reported as a *distributor.Error with status 400
// after the others were stored.
func (i *Ingester) Push(ctx context.Context, tenant string, streams []logproto.Stream) error {
	accepted, err := i.apply(tenant, streams, true)
	if len(accepted) > 0 && i.wal != nil {
		// Encoded straight into the WAL's pending batch: no record buffer per push.
		werr := i.wal.LogAppend(ctx, wal.RecordSize(tenant, accepted), func(dst []byte) []byte {
			return wal.AppendRecord(dst, tenant, accepted)
		})
		if werr != nil {
			return fmt.Errorf("write wal: %w", werr)
		}
	}
	i.tail(tenant, accepted)
	return err
}

// apply appends streams to memory and returns what it accepted.
func (i *Ingester) apply(tenant string, streams []logproto.Stream, checkLimits bool) ([]logproto.Stream, error) {
	inst := i.instance(tenant)
	lim := i.limits.For(tenant)
	now := i.now()
	var firstErr error
	accepted := make([]logproto.Stream, 0, len(streams))
	for _, ps := range streams {
		s, err := inst.getOrCreate(tenant, ps.Labels, lim)
		if err != nil {
			i.metrics.discarded.WithLabelValues(validation.ReasonStreamLimit, tenant).Add(float64(len(ps.Entries)))
			if firstErr == nil {
				firstErr = &distributor.Error{Status: http.StatusTooManyRequests, Msg: err.Error()}
			}
			continue
		}
		s.mu.Lock()
		before := s.chunks()
		kept, dups, err := s.appendEntries(ps.Entries, &i.cfg, lim, i.enc, now, checkLimits)
		// Appending only adds chunks (a new head after a seal); the flush passes remove them.
		added := s.chunks() - before
		s.mu.Unlock()
		if added != 0 {
			i.metrics.chunks.Add(float64(added))
		}
		if dups > 0 {
			i.metrics.duplicates.WithLabelValues(tenant).Add(float64(dups))
		}
		var tfb *errTooFarBehind
		var srl *errStreamRateLimited
		if rejected := len(ps.Entries) - len(kept) - dups; rejected > 0 {
			reason := validation.ReasonTooFarBehind
			if errors.As(err, &srl) {
				reason = validation.ReasonStreamRateLimited
			}
			i.metrics.discarded.WithLabelValues(reason, tenant).Add(float64(rejected))
		}
		if err != nil && firstErr == nil {
			switch {
			case errors.As(err, &tfb):
				firstErr = &distributor.Error{Status: http.StatusBadRequest, Msg: err.Error()}
			case errors.As(err, &srl):
				firstErr = &distributor.Error{Status: http.StatusTooManyRequests, Msg: err.Error()}
			default:
				firstErr = err
			}
		}
		if len(kept) > 0 {
			accepted = append(accepted, logproto.Stream{Labels: s.key, Entries: kept})
		}
	}
	return accepted, firstErr
}

func (i *Ingester) instance(tenant string) *instance {
	i.mu.RLock()
	inst := i.tenants[tenant]
	i.mu.RUnlock()
	if inst != nil {
		return inst
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if inst = i.tenants[tenant]; inst == nil {
		inst = &instance{streams: map[string]*stream{}, onSeal: i.sealed, memStreams: i.metrics.streams}
		i.tenants[tenant] = inst
	}
	return inst
}

func (i *Ingester) instanceIfExists(tenant string) *instance {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return i.tenants[tenant]
}

func (inst *instance) getOrCreate(tenant, key string, lim *validation.Limits) (*stream, error) {
	inst.mu.RLock()
	s := inst.streams[key]
	inst.mu.RUnlock()
	if s != nil {
		return s, nil
	}
	inst.mu.Lock()
	defer inst.mu.Unlock()
	if s = inst.streams[key]; s != nil {
		return s, nil
	}
	max := lim.MaxGlobalStreamsPerUser
	if lim.MaxStreamsPerUser > 0 && (max == 0 || lim.MaxStreamsPerUser < max) {
		max = lim.MaxStreamsPerUser
	}
	if max > 0 && len(inst.streams) >= max {
		return nil, fmt.Errorf("Maximum active stream limit exceeded when trying to create stream %s, reduce the number of active streams (reduce labels or reduce label values), or contact your Loki administrator to see if the limit can be increased, user: '%s' (limit %d)", key, tenant, max)
	}
	// The key may alias a buffer the caller reuses (a WAL record during replay): the map and
	// the stream keep their own copy, and the labels are parsed from that copy.
	key = strings.Clone(key)
	ls, err := syntax.ParseLabels(key)
	if err != nil {
		return nil, err
	}
	s = &stream{labels: ls, key: key, fp: ls.Hash()}
	if inst.onSeal != nil {
		s.onSeal = func() { inst.onSeal(tenant, s) }
	}
	inst.streams[key] = s
	inst.memStreams.Inc()
	return s, nil
}

// streamsMatching returns the tenant's streams whose labels match every matcher.
func (inst *instance) streamsMatching(matchers []*labels.Matcher) []*stream {
	inst.mu.RLock()
	defer inst.mu.RUnlock()
	var out []*stream
	for _, s := range inst.streams {
		if matchesAll(s.labels, matchers) {
			out = append(out, s)
		}
	}
	return out
}

func matchesAll(ls labels.Labels, matchers []*labels.Matcher) bool {
	for _, m := range matchers {
		if !m.Matches(ls.Get(m.Name)) {
			return false
		}
	}
	return true
}

// SelectLogs returns the tenant's in-memory entries that p selects, merged in order.
func (i *Ingester) SelectLogs(ctx context.Context, tenant string, p logql.SelectLogParams) (iter.EntryIterator, error) {
	inst := i.instanceIfExists(tenant)
	if inst == nil {
		return iter.Empty(), nil
	}
	st := querystats.From(ctx)
	var its []iter.EntryIterator
	for _, s := range inst.streamsMatching(p.Matchers) {
		s.mu.Lock()
		sits, _, _ := s.sources(p, false)
		s.mu.Unlock()
		// One stream's chunks may overlap and, after a WAL replay, repeat entries; different
		// streams never share an entry, so only the per-stream merge drops duplicates.
		switch len(sits) {
		case 0:
		case 1:
			its = append(its, accountedAll(st, sits)[0])
		default:
			its = append(its, iter.MergeDedupe(accountedAll(st, sits), p.Direction))
		}
	}
	return iter.Merge(its, p.Direction), nil
}

// accountedAll returns its, each adding what it decoded to st when closed (st may be nil).
func accountedAll(st *querystats.Stats, its []*chunk.Iterator) []iter.EntryIterator {
	out := make([]iter.EntryIterator, len(its))
	for k, it := range its {
		out[k] = it
		if st != nil {
			out[k] = &accounted{it, st}
		}
	}
	return out
}

// UnflushedStream is one stream's part of SelectUnflushed's answer.
type UnflushedStream struct {
	Labels labels.Labels
	// MinT is at most the timestamp of any entry It gives: a store answer whose entries of
	// the stream all come before it holds none of them.
	MinT int64
	// It gives the stream's entries, without duplicates.
	It iter.EntryIterator
	// lone is It's chunk iterator when the entries come from one head or chunk in time order.
	lone *chunk.Iterator
}

// WithoutLines has It give its entries with empty lines, and not decompress its compressed
// blocks' lines, when they come from one head or chunk in time order (which needs no
// de-duplication, a comparison of lines); otherwise It keeps them. Call it before It's first
// Next.
func (u *UnflushedStream) WithoutLines() {
	if u.lone != nil {
		u.lone.WithoutLines()
	}
}

// SelectUnflushed returns, stream by stream, the tenant's in-memory entries that p selects from
// the heads and the sealed chunks not flushed yet: the flushed ones, still in memory for
// chunk_retain_period, are in the store. A chunk flushed after this call is in both answers,
// which a caller that asked the store afterwards finds by the streams' time ranges (MinT). The
// streams come in no particular order.
func (i *Ingester) SelectUnflushed(ctx context.Context, tenant string, p logql.SelectLogParams) []*UnflushedStream {
	inst := i.instanceIfExists(tenant)
	if inst == nil || p.End <= p.Start {
		return nil
	}
	st := querystats.From(ctx)
	var out []*UnflushedStream
	for _, s := range inst.streamsMatching(p.Matchers) {
		s.mu.Lock()
		sits, inOrder, minT := s.sources(p, true)
		s.mu.Unlock()
		if len(sits) == 0 {
			continue
		}
		u := &UnflushedStream{Labels: s.labels, MinT: max(minT, p.Start)}
		its := accountedAll(st, sits)
		if len(sits) == 1 && inOrder {
			u.It, u.lone = its[0], sits[0]
		} else {
			// Several sources of one stream, or one written out of order, may repeat entries.
			u.It = iter.MergeDedupe(its, p.Direction)
		}
		out = append(out, u)
	}
	return out
}

// Series returns the label sets of the tenant's in-memory streams that have entries in
// [from, through) and match the matchers.
func (i *Ingester) Series(ctx context.Context, tenant string, from, through int64, matchers []*labels.Matcher) []labels.Labels {
	inst := i.instanceIfExists(tenant)
	if inst == nil {
		return nil
	}
	var out []labels.Labels
	for _, s := range inst.streamsMatching(matchers) {
		s.mu.Lock()
		overlaps := s.overlaps(from, through)
		s.mu.Unlock()
		if overlaps {
			out = append(out, s.labels)
		}
	}
	sort.Slice(out, func(a, b int) bool { return labels.Compare(out[a], out[b]) < 0 })
	return out
}

// overlaps reports whether the stream holds entries in [from, through). Called with s.mu held.
func (s *stream) overlaps(from, through int64) bool {
	for _, sc := range s.closed {
		if minT, maxT := sc.c.Bounds(); maxT >= from && minT < through {
			return true
		}
	}
	if s.head != nil && s.head.Entries() > 0 {
		if minT, maxT := s.head.Bounds(); maxT >= from && minT < through {
			return true
		}
	}
	return false
}

// accounted adds what a chunk iterator decoded to the query's statistics when it is closed.
type accounted struct {
	iter.EntryIterator
	st *querystats.Stats
}

func (a *accounted) Close() error {
	if c, ok := a.EntryIterator.(interface{ Decoded() chunk.DecodeStats }); ok {
		d := c.Decoded()
		a.st.HeadChunkLines.Add(d.Entries)
		a.st.HeadChunkBytes.Add(d.Bytes)
	}
	return a.EntryIterator.Close()
}
