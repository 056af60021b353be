package storage

import "github.com/prometheus/prometheus/model/labels"

// Chunk is a sealed chunk on its way to the store, with what the index records about it.
type Chunk struct {
	Tenant string
	Labels labels.Labels
	// Data is the chunk's encoding (package chunk).
	Data []byte
	// From and Through are the timestamps of the first and last entries, Unix ns, inclusive.
	From, Through    int64
	Entries          int
	UncompressedSize int
}
