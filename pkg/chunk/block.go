package chunk

import (
	"errors"
	"fmt"
	"math"
)

// A block's raw (decompressed) bytes are its entries in non-decreasing timestamp order, each
//
//	ts    first entry: signed varint (zig-zag) Unix ns; later ones: uvarint delta from the previous
//	len   uvarint length of the line
//	line  len bytes
//	nmeta uvarint number of structured-metadata labels
//	refs  nmeta pairs of uvarint symbol references (name, value), in label order
//
// The layout keeps a scan cheap: a line filter sees the line before the metadata is read, and
// nothing but varints stands between two lines.

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

// appendEntry appends the raw encoding of one entry to dst. prev is the previous entry's
// timestamp, or first is true for the first entry of the block.
func appendEntry(dst []byte, first bool, prev, ts int64, line []byte, refs []uint32) []byte {
	if first {
		dst = appendVarint(dst, ts)
	} else {
		dst = appendUvarint(dst, uint64(ts-prev))
	}
	dst = appendUvarint(dst, uint64(len(line)))
	dst = append(dst, line...)
	dst = appendUvarint(dst, uint64(len(refs)/2))
	for _, r := range refs {
		dst = appendUvarint(dst, uint64(r))
	}
	return dst
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
	raw    []byte
	pos    int
	n      int // entries decoded so far
	prevTs int64
	meta   BlockMeta
}

func (d *blockDecoder) reset(raw []byte, meta BlockMeta) {
	*d = blockDecoder{raw: raw, meta: meta}
}

// done reports whether every entry has been decoded, and checks the entry count if so.
func (d *blockDecoder) done() (bool, error) {
	if d.pos < len(d.raw) {
		return false, nil
	}
	if d.n != d.meta.Entries {
		return true, fmt.Errorf("block holds %d entries, index says %d", d.n, d.meta.Entries)
	}
	return true, nil
}

// next decodes the entry at the current position. The caller checks done first.
func (d *blockDecoder) next() (entryView, error) {
	var v entryView
	b, pos := d.raw, d.pos
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
	l, pos := uvarint(b, pos)
	if pos < 0 || l > uint64(len(b)-pos) {
		return v, errTruncated
	}
	v.lineStart, v.lineEnd = int32(pos), int32(pos+int(l))
	pos += int(l)
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
	d.pos, d.prevTs = pos, v.ts
	d.n++
	if d.n > d.meta.Entries {
		return v, fmt.Errorf("block holds more than the %d entries its index says", d.meta.Entries)
	}
	return v, nil
}
