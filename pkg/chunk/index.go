package chunk

import (
	"errors"
	"fmt"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
)

// Index is what a reader learns from the end of a chunk: its codec, block index and symbol
// table. It lets a reader of an object store fetch only the blocks a query needs:
//
//	tail := GetRange(key, size-n, n)       // n = min(size, 16 KiB) covers most indexes
//	ix, err := chunk.ParseIndex(tail, size)
//	var short *chunk.ShortTailError
//	if errors.As(err, &short) {            // a big index: fetch from where it starts
//		tail = GetRange(key, short.Offset, size-short.Offset)
//		ix, err = chunk.ParseIndex(tail, size)
//	}
//	blocks := make([][]byte, len(ix.Blocks))
//	for _, i := range ix.Overlapping(from, through) {
//		m := ix.Blocks[i]
//		blocks[i] = GetRange(key, int64(m.Offset), int64(m.Length))
//	}
//	it := ix.Iterator(blocks, lbls, from, through, dir, filter)
type Index struct {
	Encoding Encoding
	// Version is the chunk's format version (MinVersion to Version).
	Version int
	// Blocks holds one entry per block, in the order they were cut (not necessarily by time).
	Blocks []BlockMeta
	syms   []string
}

// ShortTailError reports that the bytes given to ParseIndex do not reach back to the start
// of the index and symbol table; Offset is where they start in the chunk.
type ShortTailError struct {
	Offset int64
}

func (e *ShortTailError) Error() string {
	return fmt.Sprintf("chunk tail too short: the index starts at offset %d", e.Offset)
}

// ParseIndex decodes the index and symbol table from tail, the last len(tail) bytes of a
// chunk of size bytes (tail may be the whole chunk). When tail does not reach back far
// enough it returns a *ShortTailError telling where to start; other errors wrap ErrCorrupt.
func ParseIndex(tail []byte, size int64) (*Index, error) {
	t, err := ParseTrailer(tail, size)
	if err != nil {
		return nil, err
	}
	tailStart := size - int64(len(tail))
	if t.IndexOffset < tailStart {
		return nil, &ShortTailError{Offset: t.IndexOffset}
	}
	at := func(off int64) int { return int(off - tailStart) } // chunk offset → tail position
	idx := tail[at(t.IndexOffset):at(t.IndexOffset+int64(t.IndexLength))]
	if checksum(idx) != t.IndexCRC {
		return nil, fmt.Errorf("index: checksum mismatch: %w", ErrCorrupt)
	}
	blocks, sm, err := parseIndex(idx)
	if err != nil {
		return nil, err
	}
	end := int(t.IndexOffset)
	for i, m := range blocks {
		if m.Offset < HeaderSize || m.Length > end-m.Offset || m.Entries == 0 || m.RawSize > maxBlockRawSize {
			return nil, fmt.Errorf("index: block %d at %d+%d (%d entries, %d raw bytes) outside the chunk: %w",
				i, m.Offset, m.Length, m.Entries, m.RawSize, ErrCorrupt)
		}
	}
	ix := &Index{Encoding: t.Encoding, Version: t.Version, Blocks: blocks}
	sm.Offset = end + t.IndexLength
	if int64(sm.Offset+sm.Length) != size-TrailerSize {
		return nil, fmt.Errorf("index: symbol table at %d+%d does not end at the trailer: %w", sm.Offset, sm.Length, ErrCorrupt)
	}
	if sm.Count == 0 {
		if sm.Length != 0 || sm.RawSize != 0 || sm.CRC != 0 {
			return nil, fmt.Errorf("index: empty symbol table with a size: %w", ErrCorrupt)
		}
		return ix, nil
	}
	ix.syms, err = decodeSymbols(t.Encoding, tail[at(int64(sm.Offset)):at(int64(sm.Offset+sm.Length))], sm)
	if err != nil {
		return nil, err
	}
	return ix, nil
}

// Overlapping returns the positions in Blocks of the blocks holding entries with
// from <= timestamp < through: the ones a query must fetch.
func (ix *Index) Overlapping(from, through int64) []int {
	var out []int
	for i, m := range ix.Blocks {
		if m.MaxT >= from && m.MinT < through {
			out = append(out, i)
		}
	}
	return out
}

// errNotFetched is reported by an Index iterator that needs a block its caller did not give.
var errNotFetched = errors.New("block needed but not fetched")

// Iterator returns an iterator over the chunk's entries, reading block i from blocks[i]
// (its compressed bytes, Blocks[i].Length long). Only blocks overlapping [from, through) are
// read; the others may be nil. A nil needed block ends the iteration with an error (which
// does not wrap ErrCorrupt). See Chunk.Iterator for the rest.
func (ix *Index) Iterator(blocks [][]byte, lbls labels.Labels, from, through int64, dir logproto.Direction, filter LineFilter) *Iterator {
	srcs := make([]blockSource, 0, len(ix.Blocks))
	for i, m := range ix.Blocks {
		var data []byte
		if i < len(blocks) {
			data = blocks[i]
		}
		if data == nil && m.MaxT >= from && m.MinT < through {
			it := newIterator(ix.Encoding, ix.Version, ix.syms, nil, lbls, from, through, dir, filter)
			it.err = fmt.Errorf("read block %d: %w", i, errNotFetched)
			return it
		}
		srcs = append(srcs, blockSource{meta: m, data: data, index: i})
	}
	return newIterator(ix.Encoding, ix.Version, ix.syms, srcs, lbls, from, through, dir, filter)
}
