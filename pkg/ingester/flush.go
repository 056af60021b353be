package ingester

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/sluicelog/sluice/pkg/iter"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/storage"
	"github.com/sluicelog/sluice/pkg/wal"
)

// Start runs the flush loop and, with the WAL on, the checkpoint loop until Stop.
func (i *Ingester) Start() {
	// The loops' work (a flush retrying against an unreachable store, say) stops with them.
	ctx, cancel := context.WithCancel(context.Background())
	i.cancelLoops = cancel
	i.done.Add(1)
	go func() {
		defer i.done.Done()
		t := time.NewTicker(i.cfg.FlushCheckPeriod.D())
		defer t.Stop()
		for {
			select {
			case <-i.stop:
				return
			case <-t.C:
				i.flush(ctx, false)
			case <-i.flushNow:
				i.flushSealed(ctx)
			}
		}
	}()
	if i.wal != nil {
		i.done.Add(1)
		go func() {
			defer i.done.Done()
			t := time.NewTicker(i.cfg.WAL.CheckpointDuration.D())
			defer t.Stop()
			for {
				select {
				case <-i.stop:
					return
				case <-t.C:
					if err := i.Checkpoint(ctx); err != nil {
						i.logger.Error("wal checkpoint", "err", err)
					}
				}
			}
		}()
	}
}

// sealed records that s (of tenant) has a newly sealed chunk and wakes the flush loop to write
// it now rather than at its next tick. It never blocks: wake-ups made while one is pending are
// one. Called with s.mu held.
func (i *Ingester) sealed(tenant string, s *stream) {
	i.sealedMu.Lock()
	i.sealedQueue = append(i.sealedQueue, sealedStream{tenant, s})
	i.sealedMu.Unlock()
	select {
	case i.flushNow <- struct{}{}:
	default:
	}
}

// sealedStream is a stream with a chunk sealed since the flush loop last looked at it.
type sealedStream struct {
	tenant string
	s      *stream
}

// flushSealed writes the chunks sealed since the last call (see sealed), and releases those
// streams' flushed chunks whose retain period is over. Unlike flush it looks only at those
// streams, so a busy ingester with many streams does not scan them all for every chunk that
// fills up.
func (i *Ingester) flushSealed(ctx context.Context) {
	i.flushMu.Lock()
	defer i.flushMu.Unlock()
	i.sealedMu.Lock()
	queue := i.sealedQueue
	i.sealedQueue = nil
	i.sealedMu.Unlock()
	var jobs []flushJob
	seen := make(map[*stream]bool, len(queue))
	for _, q := range queue {
		if seen[q.s] {
			continue
		}
		seen[q.s] = true
		q.s.mu.Lock()
		for _, sc := range q.s.closed {
			if !sc.flushed {
				jobs = append(jobs, flushJob{q.tenant, q.s, sc})
			}
		}
		q.s.mu.Unlock()
	}
	if err := i.runFlushJobs(ctx, jobs); err != nil {
		i.logger.Error("flush sealed chunks; the periodic flush retries them", "err", err)
	}
	now := i.now()
	if i.overRetainBound() {
		i.removeFlushed(i.tenantsSnapshot(), now) // releases early in every stream
		return
	}
	for s := range seen {
		s.mu.Lock()
		i.release(s, now, time.Time{})
		s.mu.Unlock()
	}
}

// Stop ends the loops, flushes everything when configured to (always when the WAL is off, as
// nothing else would keep the data), and closes the WAL.
func (i *Ingester) Stop(ctx context.Context) error {
	close(i.stop)
	if i.cancelLoops != nil {
		i.cancelLoops()
	}
	i.done.Wait()
	var errs []error
	if i.wal == nil || i.cfg.WAL.FlushOnShutdown {
		if err := i.flush(ctx, true); err != nil {
			errs = append(errs, err)
		}
	}
	if i.wal != nil {
		if len(errs) == 0 {
			// Everything is in the store: a checkpoint of the unflushed state, now empty (chunks
			// still retained are flushed, so left out), retires the segments, and the next start
			// replays nothing.
			if err := i.Checkpoint(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		if err := i.wal.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Flush seals and flushes every chunk now (Loki's POST /flush), then checkpoints the WAL so
// the segments holding what was flushed are deleted.
func (i *Ingester) Flush(ctx context.Context) error {
	if err := i.flush(ctx, true); err != nil {
		return err
	}
	return i.Checkpoint(ctx)
}

type flushJob struct {
	tenant string
	s      *stream
	sc     *sealedChunk
}

// flush seals chunks that are idle or old (all of them when force), writes every sealed chunk
// to the store with retries, and drops from memory the flushed chunks whose retain period is
// over and the empty idle streams.
func (i *Ingester) flush(ctx context.Context, force bool) error {
	i.flushMu.Lock()
	defer i.flushMu.Unlock()
	now := i.now()
	tenants := i.tenantsSnapshot()
	first := i.sealAndWrite(ctx, tenants, now, force)
	i.removeFlushed(tenants, now)
	return first
}

// sealAndWrite seals the chunks of tenants that are idle or old at now (all of them when
// force) and writes every sealed chunk to the store with retries, returning the first error.
// Called with flushMu held.
func (i *Ingester) sealAndWrite(ctx context.Context, tenants map[string]*instance, now time.Time, force bool) error {
	var jobs []flushJob
	for tenant, inst := range tenants {
		inst.mu.RLock()
		streams := make([]*stream, 0, len(inst.streams))
		for _, s := range inst.streams {
			streams = append(streams, s)
		}
		inst.mu.RUnlock()
		for _, s := range streams {
			s.mu.Lock()
			if s.head != nil && s.head.Entries() > 0 && (force ||
				now.Sub(s.lastAppend) >= i.cfg.ChunkIdlePeriod.D() ||
				now.Sub(s.opened) >= i.cfg.MaxChunkAge.D()) {
				if err := s.seal(); err != nil {
					i.logger.Error("seal chunk", "stream", s.key, "err", err)
				}
			}
			for _, sc := range s.closed {
				if !sc.flushed {
					jobs = append(jobs, flushJob{tenant, s, sc})
				}
			}
			s.mu.Unlock()
		}
	}

	return i.runFlushJobs(ctx, jobs)
}

// runFlushJobs writes the jobs' chunks with up to concurrent_flushes workers, and returns the
// first error. With a store that commits in batches (storage.Store), the workers only write
// the objects; the chunks written are then made durable and indexed together, which on the
// filesystem is one sync for the whole flush instead of one per chunk.
func (i *Ingester) runFlushJobs(ctx context.Context, jobs []flushJob) error {
	if len(jobs) == 0 {
		return nil
	}
	bs, batched := i.store.(batchStore)
	put := i.store.PutChunk
	if batched {
		put = bs.WriteChunk
	}
	var (
		wg      sync.WaitGroup
		errMu   sync.Mutex
		first   error
		work    = make(chan int)
		chunks  = make([]*storage.Chunk, len(jobs))
		started = make([]time.Time, len(jobs))
	)
	fail := func(err error) {
		errMu.Lock()
		if first == nil {
			first = err
		}
		errMu.Unlock()
	}
	for w := 0; w < min(i.cfg.ConcurrentFlushes, len(jobs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range work {
				j := jobs[n]
				c := j.storageChunk()
				started[n] = time.Now()
				if err := i.retryFlush(ctx, func(ctx context.Context) error { return put(ctx, c) }, "tenant", j.tenant, "stream", j.s.key); err != nil {
					fail(err)
					continue
				}
				if !batched {
					i.flushed(j, started[n])
					continue
				}
				chunks[n] = c
			}
		}()
	}
	for n := range jobs {
		work <- n
	}
	close(work)
	wg.Wait()
	if !batched {
		return first
	}
	var written []*storage.Chunk
	for _, c := range chunks {
		if c != nil {
			written = append(written, c)
		}
	}
	if len(written) == 0 {
		return first
	}
	if err := i.retryFlush(ctx, func(ctx context.Context) error { return bs.CommitChunks(ctx, written) }, "chunks", len(written)); err != nil {
		fail(err)
		return first
	}
	for n, c := range chunks {
		if c != nil {
			i.flushed(jobs[n], started[n])
		}
	}
	return first
}

// batchStore is a Store that can write chunks and then commit many at once (storage.Store):
// a chunk is found by queries, and durable, only once committed.
type batchStore interface {
	WriteChunk(ctx context.Context, c *storage.Chunk) error
	CommitChunks(ctx context.Context, cs []*storage.Chunk) error
}

// storageChunk is j's chunk as the store takes it.
func (j flushJob) storageChunk() *storage.Chunk {
	minT, maxT := j.sc.c.Bounds()
	return &storage.Chunk{
		Tenant: j.tenant, Labels: j.s.labels, Data: j.sc.c.Bytes(),
		From: minT, Through: maxT, Entries: j.sc.c.Entries(), UncompressedSize: j.sc.bytes,
	}
}

// flushed records that j's chunk, whose flush started at start, is in the store.
func (i *Ingester) flushed(j flushJob, start time.Time) {
	i.metrics.chunksFlushed.Inc()
	i.metrics.flushDuration.Observe(time.Since(start).Seconds())
	j.s.mu.Lock()
	j.sc.flushed, j.sc.flushedAt = true, i.now()
	j.s.mu.Unlock()
	if i.cfg.ChunkRetainPeriod.D() > 0 {
		i.retained.Add(int64(j.sc.c.Size())) // what release subtracts
	}
}

// retryFlush runs op, a step of a flush, with backoff until it succeeds, the flush-op timeout
// passes or ctx ends; a failure is logged with logArgs, which say what is being flushed.
func (i *Ingester) retryFlush(ctx context.Context, op func(context.Context) error, logArgs ...any) error {
	ctx, cancel := context.WithTimeout(ctx, i.cfg.FlushOpTimeout.D())
	defer cancel()
	backoff := 100 * time.Millisecond
	for {
		err := op(ctx)
		if err == nil {
			return nil
		}
		i.metrics.flushFailures.Inc()
		i.logger.Warn("flush chunk; will retry", append(logArgs, "err", err, "backoff", backoff)...)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

// tenantsSnapshot returns the tenants as they are now.
func (i *Ingester) tenantsSnapshot() map[string]*instance {
	i.mu.RLock()
	defer i.mu.RUnlock()
	tenants := make(map[string]*instance, len(i.tenants))
	for t, inst := range i.tenants {
		tenants[t] = inst
	}
	return tenants
}

// overRetainBound reports whether the retained chunks take more than chunk_retain_max_bytes.
func (i *Ingester) overRetainBound() bool {
	return i.cfg.ChunkRetainMaxBytes > 0 && i.retained.Load() > int64(i.cfg.ChunkRetainMaxBytes)
}

// earlyRelease returns the flush time at or before which retained chunks go before their period
// ends, so that the rest fit in chunk_retain_max_bytes: the chunks flushed first go first. It is
// the zero time when they already fit.
func (i *Ingester) earlyRelease(tenants map[string]*instance) time.Time {
	if !i.overRetainBound() {
		return time.Time{}
	}
	type retainedChunk struct {
		at   time.Time
		size int
	}
	var all []retainedChunk
	for _, inst := range tenants {
		inst.mu.RLock()
		for _, s := range inst.streams {
			s.mu.Lock()
			for _, sc := range s.closed {
				if sc.flushed {
					all = append(all, retainedChunk{sc.flushedAt, sc.c.Size()})
				}
			}
			s.mu.Unlock()
		}
		inst.mu.RUnlock()
	}
	slices.SortFunc(all, func(a, b retainedChunk) int { return b.at.Compare(a.at) }) // newest first
	kept := 0
	for _, c := range all {
		if kept+c.size > i.cfg.ChunkRetainMaxBytes {
			return c.at
		}
		kept += c.size
	}
	return time.Time{}
}

// removeFlushed drops the flushed chunks whose retain period is over (or that do not fit in
// chunk_retain_max_bytes), and streams that hold nothing and have been idle since before now.
func (i *Ingester) removeFlushed(tenants map[string]*instance, now time.Time) {
	i.removeFlushedBy(tenants, now, i.earlyRelease(tenants))
}

// removeFlushedBy is removeFlushed with the flushed chunks released early those flushed at or
// before early (none when it is zero).
func (i *Ingester) removeFlushedBy(tenants map[string]*instance, now, early time.Time) {
	// The flushes just made may have ended after now: release against the clock as it is.
	releaseAt := i.now()
	for _, inst := range tenants {
		inst.mu.Lock()
		for key, s := range inst.streams {
			s.mu.Lock()
			i.release(s, releaseAt, early)
			empty := len(s.closed) == 0 && (s.head == nil || s.head.Entries() == 0)
			// A stream keeps its out-of-order window while it is active; an idle empty one
			// goes, as in Loki.
			if empty && now.Sub(s.lastAppend) >= i.cfg.ChunkIdlePeriod.D() {
				delete(inst.streams, key)
				i.metrics.streams.Dec()
				if s.head != nil { // an empty head, still counted as a chunk
					i.metrics.chunks.Dec()
				}
			}
			s.mu.Unlock()
		}
		inst.mu.Unlock()
	}
}

// release drops s's flushed chunks that have been retained for chunk_retain_period by now, or
// were flushed at or before early (not zero: they do not fit in chunk_retain_max_bytes).
// Retaining them lets a querier that reads the ingester's memory and the store's index, but
// sees the index only as shipped (a read process, every resync_interval), find their lines in
// the meantime; the querier removes the duplicates the two sources then give. Release happens
// at the flush passes, so a chunk stays up to flush_check_period longer. Called with s.mu held.
func (i *Ingester) release(s *stream, now, early time.Time) {
	if n, bytes, before := s.releaseFlushed(now, i.cfg.ChunkRetainPeriod.D(), early); n > 0 {
		i.metrics.chunks.Sub(float64(n))
		i.metrics.releasedEarly.Add(float64(before))
		if i.cfg.ChunkRetainPeriod.D() > 0 {
			i.retained.Add(-int64(bytes))
		}
	}
}

// Checkpoint writes the in-memory, unflushed state to a WAL checkpoint, which retires the
// segments it covers.
func (i *Ingester) Checkpoint(ctx context.Context) error {
	if i.wal == nil {
		return nil
	}
	return i.wal.Checkpoint(ctx, func(write func(rec []byte) error) error {
		i.mu.RLock()
		tenants := make(map[string]*instance, len(i.tenants))
		for t, inst := range i.tenants {
			tenants[t] = inst
		}
		i.mu.RUnlock()
		var buf []byte
		for tenant, inst := range tenants {
			inst.mu.RLock()
			streams := make([]*stream, 0, len(inst.streams))
			for _, s := range inst.streams {
				streams = append(streams, s)
			}
			inst.mu.RUnlock()
			for _, s := range streams {
				if err := ctx.Err(); err != nil {
					return err
				}
				s.mu.Lock()
				// Flushed chunks are in the store already; only the rest goes to the checkpoint.
				var its []iter.EntryIterator
				for _, sc := range s.closed {
					if !sc.flushed {
						its = append(its, sc.c.Iterator(s.labels, minInt64, maxInt64, logproto.Forward, nil))
					}
				}
				if s.head != nil && s.head.Entries() > 0 {
					its = append(its, s.head.Iterator(s.labels, minInt64, maxInt64, logproto.Forward, nil))
				}
				// Copy the entries out under the lock, in records of about 1 MiB.
				var entries []logproto.Entry
				size := 0
				flushRec := func() error {
					if len(entries) == 0 {
						return nil
					}
					buf = wal.AppendRecord(buf[:0], tenant, []logproto.Stream{{Labels: s.key, Entries: entries}})
					entries, size = entries[:0], 0
					return write(buf)
				}
				var err error
				for _, it := range its {
					for err == nil && it.Next() {
						e := it.At()
						entries = append(entries, logproto.Entry{Timestamp: e.Timestamp, Line: string([]byte(e.Line)), StructuredMetadata: e.StructuredMetadata.Copy()})
						size += len(e.Line)
						if size >= 1<<20 {
							err = flushRec()
						}
					}
					if err == nil {
						err = it.Err()
					}
					it.Close()
				}
				if err == nil {
					err = flushRec()
				}
				s.mu.Unlock()
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
}

const (
	minInt64 = -1 << 63
	maxInt64 = 1<<63 - 1
)
