package logql

import (
	"sync/atomic"
	"time"

	"github.com/sluicelog/sluice/pkg/iter"
)

// Stats describes the work a query did.
type Stats struct {
	// LinesProcessed and BytesProcessed count the entries (and their line bytes) read from
	// the Querier, i.e. after store-side line filtering.
	LinesProcessed int64
	BytesProcessed int64
	// EntriesReturned is the number of log entries (log queries) or samples (metric queries) in
	// the result.
	EntriesReturned int64
	ExecTime        time.Duration
}

// counters are shared by the iterators of one query; leaves of a binary operation may read in
// the same goroutine, but atomics keep the engine free to read them concurrently later.
type counters struct {
	lines atomic.Int64
	bytes atomic.Int64
}

// countingIterator counts what passes through it.
type countingIterator struct {
	iter.EntryIterator
	c *counters
}

func (it *countingIterator) Next() bool {
	if !it.EntryIterator.Next() {
		return false
	}
	e := it.EntryIterator.At()
	it.c.lines.Add(1)
	it.c.bytes.Add(int64(len(e.Line)))
	return true
}

var _ iter.EntryIterator = (*countingIterator)(nil)
