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
//		e := it.At()
//		...
//	}
//	if err := it.Err(); err != nil { ... }
//	it.Close()
//
// At returns an entry whose Line (and StructuredMetadata) may point into a buffer owned by the
// iterator: they are valid only until the next call to Next; copy them to keep them.
type EntryIterator interface {
	Next() bool
	At() logproto.Entry
	// Labels is the label set of the stream the current entry belongs to. The returned value
	// must not be modified; it stays valid after Next.
	Labels() labels.Labels
	// StreamHash is a hash of Labels, computed once per stream.
	StreamHash() uint64
	// Err returns the first error met, if any; Next returns false after an error.
	Err() error
	Close() error
}
