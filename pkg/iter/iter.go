// Package iter defines the iterators that carry log entries from where they are stored
// (ingester heads, chunks in the object store) to the LogQL engine, and the merging iterator
// that turns many per-stream iterators into one ordered, de-duplicated sequence.
package iter

import (
	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
)

// EntryIterator walks log entries in one direction of time.
//
// The usual loop is:
//
//	for it.Next() {
//		e := it.At() // valid until the next call to Next
//		...
//	}
//	if err := it.Err(); err != nil { ... }
//	it.Close()
//
// At returns the current entry, owned by the iterator: the entry, and the buffers its Line and
// StructuredMetadata may point into, are valid only until the next call to Next; copy what you
// keep, and do not modify it. (A pointer, so that an entry is not copied through every layer
// of a query's iterators.)
type EntryIterator interface {
	Next() bool
	At() *logproto.Entry
	// Labels is the label set of the stream the current entry belongs to. The returned value
	// must not be modified; it stays valid after Next.
	Labels() labels.Labels
	// StreamHash is a hash of Labels, computed once per stream.
	StreamHash() uint64
	// Err returns the first error met, if any; Next returns false after an error.
	Err() error
	Close() error
}
