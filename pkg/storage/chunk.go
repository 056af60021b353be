package storage

import (
	"hash/crc32"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/index"
)

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

	ref *index.ChunkRef // indexRef's result, computed once
}

// indexRef returns what the index records of c; its Key names c's object. The fields must not
// change once it is called.
func (c *Chunk) indexRef() index.ChunkRef {
	if c.ref == nil {
		c.ref = &index.ChunkRef{
			Tenant: c.Tenant, Fingerprint: c.Labels.Hash(), From: c.From, Through: c.Through,
			Checksum: crc32.Checksum(c.Data, castagnoli), Entries: uint32(c.Entries), UncompressedBytes: uint64(c.UncompressedSize),
		}
	}
	return *c.ref
}
