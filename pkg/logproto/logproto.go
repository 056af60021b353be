// Package logproto holds the types that travel between Sluice's components: a log entry,
// a stream of entries sharing one label set, a push request, and the query direction.
//
// These are plain Go values, not generated code. The wire encodings (Loki's protobuf and JSON
// push bodies) live in package push; the chunk and WAL encodings in their own packages.
package logproto

import "github.com/prometheus/prometheus/model/labels"

// Entry is one log line.
type Entry struct {
	// Timestamp is in Unix nanoseconds.
	Timestamp int64
	Line      string
	// StructuredMetadata holds the entry's non-indexed labels (Loki's structured metadata).
	// It is empty for most entries.
	StructuredMetadata labels.Labels
	// Parsed holds the labels a query's parsers extracted from the line; only the LogQL engine
	// sets it (for categorize-labels responses). Clients never send it.
	Parsed labels.Labels
}

// Stream is a run of entries that share one label set.
type Stream struct {
	// Labels is the stream's label set in selector syntax, e.g. `{app="api", pod="x"}`,
	// exactly as a client sent it; the distributor parses and canonicalises it.
	Labels  string
	Entries []Entry
}

// PushRequest is the decoded body of a push.
type PushRequest struct {
	Streams []Stream
}

// Direction is the order in which a log query returns entries.
type Direction uint8

const (
	// Backward returns the newest entries first; it is Loki's default.
	Backward Direction = iota
	// Forward returns the oldest entries first.
	Forward
)

// String returns Loki's name for d.
func (d Direction) String() string {
	if d == Forward {
		return "forward"
	}
	return "backward"
}
