package ingester

import (
	"errors"
	"fmt"
	"github.com/sluicelog/sluice/pkg/logql"
	"math"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/chunk"
	"github.com/sluicelog/sluice/pkg/flagext"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/ratelimit"
	"github.com/sluicelog/sluice/pkg/validation"
)

// stream is one stream of one tenant: the open chunk taking appends and the full or idle chunks
// waiting to be flushed. Its mutex guards everything below it.
type stream struct {
	labels labels.Labels
	key    string // canonical label string, as the distributor sends it
	fp     uint64

	mu     sync.Mutex
	head   *chunk.Head
	opened time.Time // when head got its first entry
	// closed are sealed chunks not yet flushed, and flushed ones retained for
	// chunk_retain_period (see releaseFlushed).
	closed []*sealedChunk
	// newest is the highest timestamp ever accepted; entries older than newest minus the
	// out-of-order window are refused.
	newest     int64
	hasEntries bool
	lastAppend time.Time
	// rate limits the stream's bytes per second (per_stream_rate_limit).
	rate ratelimit.Bucket
	// onSeal, when set, is called (with mu held) after a chunk is sealed, to have it flushed.
	onSeal func()
}

// sealedChunk is a chunk that takes no more entries.
type sealedChunk struct {
	c *chunk.Chunk
	// bytes is the size of the entries' lines and metadata, what Loki's index stats count;
	// the chunk's own UncompressedSize also counts its encoding (timestamps, lengths).
	bytes   int
	flushed bool
	// flushedAt is when the store took the chunk; it stays in memory, answering queries like
	// any other, until chunk_retain_period after that.
	flushedAt time.Time
}

// errTooFarBehind is returned for entries older than the out-of-order window allows.
type errTooFarBehind struct {
	stream string
	ts     int64
	cutoff int64
}

func (e *errTooFarBehind) Error() string {
	return fmt.Sprintf("entry too far behind, entry timestamp is: %s, oldest acceptable timestamp is: %s for stream %s",
		time.Unix(0, e.ts).UTC().Format(time.RFC3339Nano), time.Unix(0, e.cutoff).UTC().Format(time.RFC3339Nano), e.stream)
}

// errStreamRateLimited is returned for entries over the stream's rate limit.
type errStreamRateLimited struct {
	stream string
	limit  flagext.ByteSize
	bytes  int
}

func (e *errStreamRateLimited) Error() string {
	return fmt.Sprintf("Per stream rate limit exceeded (limit: %s/sec) while attempting to ingest for stream '%s' totaling %dB, consider splitting a stream via additional labels or contact your Loki administrator to see if the limit can be increased",
		e.limit, e.stream, e.bytes)
}

// appendEntries adds entries to the stream. It returns the entries it accepted (duplicates and
// entries too far behind are left out), and the first rejection. When it accepts them all,
// as it nearly always does, the result is entries itself. Called with s.mu held.
func (s *stream) appendEntries(entries []logproto.Entry, cfg *Config, lim *validation.Limits, enc chunk.Encoding, now time.Time, checkLimits bool) (_ []logproto.Entry, dups int, _ error) {
	var firstErr error
	if checkLimits && lim.PerStreamRateLimit > 0 {
		size := 0
		for i := range entries {
			size += len(entries[i].Line)
		}
		burst := max(lim.PerStreamRateLimitBurst, lim.PerStreamRateLimit)
		if !s.rate.Allow(now, float64(size), float64(lim.PerStreamRateLimit), float64(burst)) {
			return nil, 0, &errStreamRateLimited{stream: s.key, limit: lim.PerStreamRateLimit, bytes: size}
		}
	}
	// accepted is nil while every entry so far was accepted (they are entries[:i]); from the
	// first one left out, it is a copy of the accepted ones.
	var accepted []logproto.Entry
	allKept := true
	leaveOut := func(i int) {
		if allKept {
			accepted = append(make([]logproto.Entry, 0, len(entries)-1), entries[:i]...)
			allKept = false
		}
	}
	keptUpTo := func(i int) []logproto.Entry {
		if allKept {
			return entries[:i]
		}
		return accepted
	}
	window := cfg.MaxChunkAge.D().Nanoseconds() / 2
	for i := range entries {
		e := &entries[i]
		if checkLimits && s.hasEntries && e.Timestamp < s.newest-window {
			if firstErr == nil {
				firstErr = &errTooFarBehind{stream: s.key, ts: e.Timestamp, cutoff: s.newest - window}
			}
			leaveOut(i)
			continue
		}
		var full *chunk.Head // a head just sealed, whose buffers the next one takes over
		if s.head != nil && s.head.Entries() > 0 && (!s.head.SpaceFor(e) || s.tooLong(e.Timestamp, cfg.MaxChunkAge.D())) {
			full = s.head
			if err := s.seal(); err != nil {
				return keptUpTo(i), dups, err
			}
		}
		if s.head == nil {
			h, err := chunk.NewHead(enc, cfg.ChunkBlockSize, cfg.ChunkTargetSize)
			if err != nil {
				return keptUpTo(i), dups, err
			}
			if full != nil {
				full.HandOver(h)
			}
			s.head = h
			s.opened = now
		}
		if err := s.head.Append(e); err != nil {
			if errors.Is(err, chunk.ErrDuplicate) {
				dups++
			} else if firstErr == nil {
				firstErr = fmt.Errorf("stream %s: %w", s.key, err)
			}
			leaveOut(i)
			continue
		}
		if !s.hasEntries || e.Timestamp > s.newest {
			s.newest = e.Timestamp
		}
		s.hasEntries = true
		s.lastAppend = now
		if !allKept {
			accepted = append(accepted, *e)
		}
	}
	return keptUpTo(len(entries)), dups, firstErr
}

// tooLong reports whether adding an entry at ts would make the head's chunk span more than
// maxAge of log time. Loki flushes a chunk whose entries span more than max_chunk_age;
// cutting it before the entry that would stretch it past that keeps every chunk within it
// even when a backfill pushes hours of logs in seconds, and bounds the ingester's memory to
// max_chunk_age of each stream rather than all it was sent.
func (s *stream) tooLong(ts int64, maxAge time.Duration) bool {
	minT, maxT := s.head.Bounds()
	return max(maxT, ts)-min(minT, ts) > maxAge.Nanoseconds()
}

// seal turns the head into a sealed chunk waiting for flush. Called with s.mu held.
func (s *stream) seal() error {
	if s.head == nil || s.head.Entries() == 0 {
		return nil
	}
	b, err := s.head.Bytes()
	if err != nil {
		return fmt.Errorf("seal chunk of stream %s: %w", s.key, err)
	}
	c, err := chunk.Decode(b)
	if err != nil {
		return fmt.Errorf("seal chunk of stream %s: %w", s.key, err)
	}
	s.closed = append(s.closed, &sealedChunk{c: c, bytes: s.head.UncompressedSize()})
	s.head = nil
	if s.onSeal != nil {
		s.onSeal()
	}
	return nil
}

// chunks is the number of chunks the stream holds in memory: the head (even empty) and the
// sealed ones, retained ones included. Called with s.mu held.
func (s *stream) chunks() int {
	n := len(s.closed)
	if s.head != nil {
		n++
	}
	return n
}

// releaseFlushed forgets the stream's chunks that were flushed at least retain before now (every
// flushed one when retain is 0), or at or before early (when not zero), and returns how many it
// forgot and their compressed bytes. Queries already reading one keep their own reference.
// Called with s.mu held.
func (s *stream) releaseFlushed(now time.Time, retain time.Duration, early time.Time) (n, bytes, before int) {
	kept := s.closed[:0]
	for _, sc := range s.closed {
		// With retain 0 the check must not depend on now: a chunk flushed after the caller
		// read the clock would otherwise look too young to go.
		young := retain > 0 && now.Sub(sc.flushedAt) < retain
		if !sc.flushed || (young && (early.IsZero() || sc.flushedAt.After(early))) {
			kept = append(kept, sc)
			continue
		}
		bytes += sc.c.Size()
		if young {
			before++
		}
	}
	n = len(s.closed) - len(kept)
	clear(s.closed[len(kept):])
	s.closed = kept
	return n, bytes, before
}

// sources returns iterators over the stream's in-memory entries that p selects, one per sealed
// chunk (but the flushed ones with skipFlushed) and head, whether they are one source in time
// order each (Chunk.InOrder, Head.InOrder), and the earliest time any of them starts at
// (math.MaxInt64 without any). Called with s.mu held.
func (s *stream) sources(p logql.SelectLogParams, skipFlushed bool) (its []*chunk.Iterator, inOrder bool, minT int64) {
	inOrder, minT = true, math.MaxInt64
	for _, sc := range s.closed {
		lo, hi := sc.c.Bounds()
		if (skipFlushed && sc.flushed) || hi < p.Start || lo >= p.End {
			continue
		}
		its = append(its, sc.c.Iterator(s.labels, p.Start, p.End, p.Direction, p.LineFilter).Prefilter(p.Needle))
		inOrder = inOrder && sc.c.InOrder()
		minT = min(minT, lo)
	}
	if s.head != nil && s.head.Entries() > 0 {
		if lo, hi := s.head.Bounds(); hi >= p.Start && lo < p.End {
			its = append(its, s.head.Iterator(s.labels, p.Start, p.End, p.Direction, p.LineFilter).Prefilter(p.Needle))
			inOrder = inOrder && s.head.InOrder()
			minT = min(minT, lo)
		}
	}
	return its, inOrder, minT
}
