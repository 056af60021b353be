package storage

import (
	"context"
	"runtime"
	"sync"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/iter"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/unsafestr"
)

// A filtered scan spends its time decompressing blocks to find few matching lines; one
// goroutine merging the series in time order would use one core. prefetch runs each series'
// iterator on its own goroutine, at most GOMAXPROCS of them decoding at once, and hands the
// merge batches of matching entries. Memory stays bounded: each series holds at most
// prefetchDepth batches of at most batchEntries entries or batchBytes of lines.
const (
	batchEntries  = 512
	batchBytes    = 1 << 20
	prefetchDepth = 2
)

// batch is a run of entries whose lines live in one arena.
type batch struct {
	entries []logproto.Entry
	err     error
}

// prefetchGroup limits how many series decode at the same time across one query.
type prefetchGroup struct {
	sem chan struct{}
}

func newPrefetchGroup() *prefetchGroup {
	return &prefetchGroup{sem: make(chan struct{}, runtime.GOMAXPROCS(0))}
}

// prefetcher is an iter.EntryIterator fed by a goroutine running inner.
type prefetcher struct {
	inner  iter.EntryIterator
	lbls   labels.Labels
	hash   uint64
	out    chan batch
	cancel context.CancelFunc
	done   sync.WaitGroup

	cur  []logproto.Entry
	pos  int
	err  error
	open bool
}

func (g *prefetchGroup) start(ctx context.Context, inner iter.EntryIterator, lbls labels.Labels) *prefetcher {
	ctx, cancel := context.WithCancel(ctx)
	p := &prefetcher{inner: inner, lbls: lbls, hash: lbls.Hash(), out: make(chan batch, prefetchDepth), cancel: cancel, open: true}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		defer close(p.out)
		for {
			select {
			case g.sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			b, more := fill(inner)
			<-g.sem
			if len(b.entries) > 0 || b.err != nil {
				select {
				case p.out <- b:
				case <-ctx.Done():
					return
				}
			}
			if !more {
				return
			}
		}
	}()
	return p
}

// fill reads the next batch from it, copying lines into the batch's own arena.
func fill(it iter.EntryIterator) (batch, bool) {
	var b batch
	var arena []byte
	var ends []int // ends[i] is where entry i's line ends in arena
	more := true
	for len(b.entries) < batchEntries && len(arena) < batchBytes {
		if !it.Next() {
			b.err, more = it.Err(), false
			break
		}
		e := it.At()
		arena = append(arena, e.Line...)
		ends = append(ends, len(arena))
		b.entries = append(b.entries, logproto.Entry{Timestamp: e.Timestamp, StructuredMetadata: e.StructuredMetadata})
	}
	// The arena no longer moves: point the lines into it.
	start := 0
	for i, end := range ends {
		b.entries[i].Line = unsafestr.String(arena[start:end])
		start = end
	}
	return b, more
}

func (p *prefetcher) Next() bool {
	p.pos++
	for p.pos >= len(p.cur) {
		if !p.open {
			return false
		}
		b, ok := <-p.out
		if !ok {
			p.open = false
			p.cur = nil
			return false
		}
		if b.err != nil {
			p.err = b.err
			p.open = false
			p.cur = nil
			return false
		}
		p.cur, p.pos = b.entries, 0
	}
	return true
}

func (p *prefetcher) At() *logproto.Entry   { return &p.cur[p.pos] }
func (p *prefetcher) Labels() labels.Labels { return p.lbls }
func (p *prefetcher) StreamHash() uint64    { return p.hash }
func (p *prefetcher) Err() error            { return p.err }

// Close stops the goroutine, waits for it, and closes the inner iterator.
func (p *prefetcher) Close() error {
	p.cancel()
	for range p.out { // let a blocked send finish
	}
	p.done.Wait()
	return p.inner.Close()
}
