package chunk

import (
	"errors"
	"fmt"
)

// Chunk is a decoded, immutable chunk. Decode checks its structure (header, trailer, index,
// symbol table); blocks are checked and decompressed only when an iterator reaches them.
// A Chunk keeps the bytes it was decoded from; they must not change. It is safe for
// concurrent use.
type Chunk struct {
	data []byte
	ix   *Index
	size int // uncompressed size: sum of raw block sizes
}

// Decode parses the chunk in b without decompressing any block. Errors wrap ErrCorrupt.
func Decode(b []byte) (*Chunk, error) {
	enc, version, err := parseHeader(b)
	if err != nil {
		return nil, fmt.Errorf("decode chunk: %w", err)
	}
	ix, err := ParseIndex(b, int64(len(b)))
	if err != nil {
		// With the whole chunk given, a short tail means the index offset is bad.
		var short *ShortTailError
		if errors.As(err, &short) {
			err = fmt.Errorf("%w: %w", err, ErrCorrupt)
		}
		return nil, fmt.Errorf("decode chunk: %w", err)
	}
	if ix.Encoding != enc || ix.Version != version {
		return nil, fmt.Errorf("decode chunk: header says encoding %v version %d, trailer %v version %d: %w",
			enc, version, ix.Encoding, ix.Version, ErrCorrupt)
	}
	c := &Chunk{data: b, ix: ix}
	for _, m := range ix.Blocks {
		c.size += m.RawSize
	}
	return c, nil
}

// Encoding returns the chunk's block codec.
func (c *Chunk) Encoding() Encoding { return c.ix.Encoding }

// Blocks returns the chunk's block index. The slice must not be modified.
func (c *Chunk) Blocks() []BlockMeta { return c.ix.Blocks }

// Bytes returns the encoded chunk Decode was given.
func (c *Chunk) Bytes() []byte { return c.data }

// Size returns the encoded (compressed) size in bytes.
func (c *Chunk) Size() int { return len(c.data) }

// UncompressedSize returns the total raw size of the chunk's blocks.
func (c *Chunk) UncompressedSize() int { return c.size }

// Entries returns the number of entries in the chunk, from its index.
func (c *Chunk) Entries() int {
	n := 0
	for _, m := range c.ix.Blocks {
		n += m.Entries
	}
	return n
}

// InOrder reports whether the chunk's blocks, in the order they were cut, each start after the
// previous one ends, as a stream written in time order cuts them. Then no two entries of
// different blocks share a timestamp, and since a head block refuses a duplicate of an entry
// it holds (Head.Append), no entry of the chunk is a duplicate of another: a reader needs no
// de-duplication within it. Out-of-order writes, duplicates among them, make blocks overlap.
func (c *Chunk) InOrder() bool {
	for i := 1; i < len(c.ix.Blocks); i++ {
		if c.ix.Blocks[i].MinT <= c.ix.Blocks[i-1].MaxT {
			return false
		}
	}
	return true
}

// Bounds returns the smallest and largest entry timestamps, from the index; both are 0 for
// a chunk without blocks.
func (c *Chunk) Bounds() (minT, maxT int64) {
	for i, m := range c.ix.Blocks {
		if i == 0 || m.MinT < minT {
			minT = m.MinT
		}
		if i == 0 || m.MaxT > maxT {
			maxT = m.MaxT
		}
	}
	return minT, maxT
}
