package chunk

import (
	"errors"
	"fmt"
	"math"
)

// A block's raw (decompressed) bytes, format version 2, are column by column:
//
//	uvarint  T, L, M: the sizes of the three columns that follow
//	T bytes  timestamps, in non-decreasing order: the first a signed varint (zig-zag) of Unix
//	         ns, the others uvarint deltas from the one before
//	L bytes  the lines' lengths, uvarint each
//	M bytes  the structured metadata, per entry: uvarint count, then count pairs of uvarint
//	         symbol references (name, value), in label order
//	lines    the lines back to back, in the same order
//
// and stored compressed as two parts: everything before the lines, then the lines
// (compressBlock). Keeping the lines apart from the rest is worth about a seventh of a
// chunk's size: a timestamp delta is a few nearly random bytes per entry, and mixed into the
// text they spoil the codec's model of it (zstd's literal Huffman tables above all); columns
// let the codec see runs of alike values (a metadata count of 0 on every entry costs nearly
// nothing). It also leaves the lines contiguous for Prefilter's search.
//
// Version 1 interleaved the fields entry by entry (ts, len, line, nmeta, refs); it is read,
// never written.

const (
	// DefaultBlockSize is the raw size at which a head block is cut, as in Loki (256 KiB).
	DefaultBlockSize = 256 << 10
	// DefaultTargetSize is the compressed size at which the ingester should cut a chunk,
	// Loki's default -ingester.chunk-target-size (1.5 MiB).
	DefaultTargetSize = 1536 << 10

	// maxBlockRawSize bounds the raw size a reader accepts for one block (and the symbol
	// table), so corrupt sizes cannot make it allocate without limit.
	maxBlockRawSize = 64 << 20
)

// columns are the sizes of a version 2 block's three head columns.
type columns struct{ ts, lens, meta int }

// add counts one entry. prev is the previous entry's timestamp, or first is true for the
// first entry of the block.
func (c *columns) add(first bool, prev, ts int64, lineLen int, refs []uint32) {
	if first {
		c.ts += uvarintLen(uint64(ts<<1) ^ uint64(ts>>63))
	} else {
		c.ts += uvarintLen(uint64(ts - prev))
	}
	c.lens += uvarintLen(uint64(lineLen))
	c.meta += uvarintLen(uint64(len(refs) / 2))
	for _, r := range refs {
		c.meta += uvarintLen(uint64(r))
	}
}

// columnStarts parses the column sizes at the start of a version 2 raw block and returns
// where the timestamp, length and metadata columns and the lines start.
func columnStarts(raw []byte) (ts, lens, meta, lines int, err error) {
	t, pos := uvarint(raw, 0)
	l, pos := uvarint(raw, pos)
	m, pos := uvarint(raw, pos)
	if pos < 0 || t > uint64(len(raw)) || l > uint64(len(raw)) || m > uint64(len(raw)) ||
		t+l+m > uint64(len(raw)-pos) {
		return 0, 0, 0, 0, errors.New("column sizes out of range")
	}
	return pos, pos + int(t), pos + int(t+l), pos + int(t+l+m), nil
}

// entryView locates one decoded entry inside a raw block.
type entryView struct {
	ts                 int64
	lineStart, lineEnd int32
	metaStart, metaEnd int32 // the encoded reference pairs
	nmeta              int32
}

var errTruncated = errors.New("entry truncated")

// blockDecoder walks the entries of one raw block forward. It checks everything it reads
// against the block's bounds and its index entry, so bad bytes give an error, never a panic.
type blockDecoder struct {
	raw []byte
	v1  bool
	// Version 1: pos is the next entry, entries end at tsEnd (the end of raw).
	// Version 2: pos, lenPos and metaPos are the next entry's place in the timestamp, length
	// and metadata columns, which end at tsEnd, lenEnd and metaEnd; line is where its line
	// starts.
	pos, tsEnd       int
	lenPos, lenEnd   int
	metaPos, metaEnd int
	line             int
	n                int // entries decoded so far
	prevTs           int64
	meta             BlockMeta
}

// reset starts decoding raw, a block of the given format version described by meta.
func (d *blockDecoder) reset(raw []byte, meta BlockMeta, version int) error {
	*d = blockDecoder{raw: raw, meta: meta, tsEnd: len(raw), v1: version == 1}
	if d.v1 {
		return nil
	}
	ts, lens, refs, lines, err := columnStarts(raw)
	if err != nil {
		return err
	}
	d.pos, d.tsEnd = ts, lens
	d.lenPos, d.lenEnd = lens, refs
	d.metaPos, d.metaEnd = refs, lines
	d.line = lines
	return nil
}

// done reports whether every entry has been decoded, and checks the entry count if so.
func (d *blockDecoder) done() (bool, error) {
	if d.pos < d.tsEnd {
		return false, nil
	}
	if d.n != d.meta.Entries {
		return true, fmt.Errorf("block holds %d entries, index says %d", d.n, d.meta.Entries)
	}
	if !d.v1 && (d.lenPos != d.lenEnd || d.metaPos != d.metaEnd || d.line != len(d.raw)) {
		return true, errors.New("block holds bytes after its last entry")
	}
	return true, nil
}

// next decodes the entry at the current position. The caller checks done first.
func (d *blockDecoder) next() (entryView, error) {
	var v entryView
	b, pos := d.raw[:d.tsEnd], d.pos
	if d.n == 0 {
		ts, m := varint(b, pos)
		if m < 0 {
			return v, errTruncated
		}
		v.ts, pos = ts, m
	} else {
		delta, m := uvarint(b, pos)
		if m < 0 {
			return v, errTruncated
		}
		if delta > uint64(math.MaxInt64-d.prevTs) {
			return v, errors.New("timestamp overflows")
		}
		v.ts, pos = d.prevTs+int64(delta), m
	}
	if v.ts < d.meta.MinT || v.ts > d.meta.MaxT {
		return v, fmt.Errorf("timestamp %d outside block range [%d, %d]", v.ts, d.meta.MinT, d.meta.MaxT)
	}
	var l uint64
	if d.v1 {
		if l, pos = uvarint(b, pos); pos < 0 || l > uint64(len(b)-pos) {
			return v, errTruncated
		}
		v.lineStart, v.lineEnd = int32(pos), int32(pos+int(l))
		pos += int(l)
	} else {
		d.pos = pos
		if l, d.lenPos = uvarint(d.raw[:d.lenEnd], d.lenPos); d.lenPos < 0 || l > uint64(len(d.raw)-d.line) {
			return v, errTruncated
		}
		v.lineStart, v.lineEnd = int32(d.line), int32(d.line+int(l))
		d.line += int(l)
		b, pos = d.raw[:d.metaEnd], d.metaPos
	}
	nm, pos := uvarint(b, pos)
	if pos < 0 || nm > uint64(len(b)-pos)/2 {
		return v, errTruncated
	}
	v.metaStart, v.nmeta = int32(pos), int32(nm)
	for i := 0; i < 2*int(nm); i++ {
		// Symbol references are range-checked when the labels are resolved.
		if _, pos = uvarint(b, pos); pos < 0 {
			return v, errTruncated
		}
	}
	v.metaEnd = int32(pos)
	if d.v1 {
		d.pos = pos
	} else {
		d.metaPos = pos
	}
	d.prevTs = v.ts
	d.n++
	if d.n > d.meta.Entries {
		return v, fmt.Errorf("block holds more than the %d entries its index says", d.meta.Entries)
	}
	return v, nil
}
