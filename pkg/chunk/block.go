package chunk

import (
	"bytes"
	"errors"
	"fmt"
	"math"
)

// A block's raw (decompressed) bytes, format versions 5 and 6, are column by column:
//
//	uvarint  T, L, M: the sizes of the first three columns that follow
//	byte     flags: bit 0 set means each line is followed by a separator byte and the L
//	         column is empty; bit 1 set means the lines' stamps are elided (stamp.go); bit 2
//	         set means the lines' hex runs are packed (hexrun.go); the other bits are zero
//	byte     the separator (zero when flags has no bit 0)
//	uvarint  S, the size of the stamps column, and a byte esc, the stamp mark: only with bit 1
//	uvarint  C, H and P, the sizes of the run counts and run heads columns and of the packed
//	         runs, and a byte hm, the hex mark: only with bit 2
//	T bytes  timestamps, in non-decreasing order (timeColumn)
//	L bytes  the lines' lengths, uvarint each (empty when the lines are separated)
//	M bytes  the structured metadata, per entry: uvarint count, then count pairs of uvarint
//	         symbol references (name, value), in label order
//	S bytes  per entry: uvarint layout number (0: none), then for a layout its varint distance
//	C bytes  per entry: uvarint number of hex runs its line had
//	H bytes  per run, in line order: uvarint head (hexRunAt.head): a length, or a repeat
//	planes   the timestamp deltas' low bytes, k × (entries-1) (the column's k, below)
//	P bytes  the digits of the runs that are not repeats, packed (appendPacked), in order
//	lines    the lines back to back, in the same order, each followed by the separator when
//	         flags says so; a stamped line holds esc where its stamp was, a line with runs hm
//	         where each was
//
// and stored compressed as two parts: everything before the lines, then the lines, with the
// planes and packed runs kept as they are between them (compressBlock). Keeping the lines apart from the rest
// is worth about a seventh of a chunk's size: a timestamp delta is a few nearly random bytes per entry, and mixed into the
// text they spoil the codec's model of it (zstd's literal Huffman tables above all); columns
// let the codec see runs of alike values (a metadata count of 0 on every entry costs nearly
// nothing). It also leaves the lines contiguous for Prefilter's search.
//
// A separator is a byte that no line of the block holds: '\n' when there is one, else NUL,
// else the lines are counted in the L column. A separator costs the codec about a tenth of
// what a column of lengths does (it is mostly coded inside the repeats around it), and a
// block's lengths were 4% of a chunk on the storage benchmark's workload.
//
// The timestamp column of n entries is
//
//	varint   the first timestamp, Unix ns
//	byte     e (0 to 9): every delta between neighbours is a multiple of 10^e and is stored
//	         divided by it (lines stamped to the millisecond have e = 6)
//	byte     k (0 to 8): the number of low-order bytes of each stored delta kept in planes
//	n-1 uvarint: the stored deltas of entries 1 to n-1 shifted right by 8k
//
// and its k planes of n-1 bytes follow the stamps column (in version 3, they came after k in
// the column): plane b holds byte b of the stored delta of entries 1 to n-1.
//
// The low bytes of a delta are close to random (a stream writes every few seconds, stamped to
// the nanosecond): as planes they cost the codec a byte each, where a uvarint spends a bit of
// every byte on its continuation flag and mixes them with the compressible high bytes. The
// writer picks k from the mean delta so that the bytes below it are the nearly random ones.
//
// Version 4 had no bit 2, version 3 no bit 1, version 2 had no flags or separator and stored
// every delta as one uvarint, and version 1 interleaved the fields entry by entry (ts, len,
// line, nmeta, refs); all are read, never written.

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

// Flags of a raw block (versions 3 and 4).
const (
	// flagSeparated: lines are followed by a separator byte, and the L column is empty.
	flagSeparated = 1 << 0
	// flagStamped (version 4): the preamble goes on with the stamps column's size and the
	// escape byte, and lines may hold a stamp mark (stamp.go).
	flagStamped = 1 << 1
	// flagHex (version 5): the preamble goes on with the sizes of the hex run columns and the
	// hex mark, and lines may hold hex marks (hexrun.go).
	flagHex      = 1 << 2
	flagsKnownV3 = flagSeparated
	flagsKnownV4 = flagSeparated | flagStamped
	flagsKnown   = flagSeparated | flagStamped | flagHex
)

// pow10 are the delta scales a timestamp column (version 3 and later) may use.
var pow10 = [10]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// blockLayout is where the parts of a raw block start, as columnStarts finds them.
type blockLayout struct {
	ts, lens, meta, stamps, lines int
	// hexCounts and hexHeads are where version 5's hex run columns start (both empty
	// without hex runs): the runs per line, then a head per run. They follow the stamps column.
	hexCounts, hexHeads int
	// planes is where version 4's timestamp planes start, after the stamps column (version
	// 5: after the hex run columns); packed, where version 5's packed hex runs start, after
	// the planes; they end where the lines start. In version 3 the planes sit inside the
	// timestamp column.
	planes, packed int
	sep            int // the line separator, or -1 when the L column holds lengths
	esc            int // the stamp mark, or -1 when the block has no stamps
	hexMark        int // the hex mark, or -1 when the block has no hex runs
}

// columnStarts parses the preamble of a raw block of format version 2 or later, of entries
// entries, and returns where its columns and lines start.
func columnStarts(raw []byte, version, entries int) (blockLayout, error) {
	t, pos := uvarint(raw, 0)
	l, pos := uvarint(raw, pos)
	m, pos := uvarint(raw, pos)
	var s, hc, hh, hp uint64
	lay := blockLayout{sep: -1, esc: -1, hexMark: -1}
	if pos >= 0 && version >= 3 {
		if pos+2 > len(raw) {
			return lay, errors.New("block preamble truncated")
		}
		flags, sep := raw[pos], raw[pos+1]
		pos += 2
		known := byte(flagsKnown)
		switch version {
		case 3:
			known = flagsKnownV3
		case 4:
			known = flagsKnownV4
		}
		if flags&^known != 0 || (flags&flagSeparated == 0 && sep != 0) {
			return lay, fmt.Errorf("block flags %#x, separator %#x: unknown", flags, sep)
		}
		if flags&flagSeparated != 0 {
			if l != 0 {
				return lay, errors.New("separated lines with a length column")
			}
			lay.sep = int(sep)
		}
		if flags&flagStamped != 0 {
			s, pos = uvarint(raw, pos)
			if pos < 0 || pos >= len(raw) {
				return lay, errors.New("block preamble truncated")
			}
			esc := raw[pos]
			pos++
			if esc == 0 || esc >= 0x20 || (lay.sep >= 0 && esc == sep) {
				return lay, fmt.Errorf("stamp mark %#x: not a control byte apart from the separator", esc)
			}
			lay.esc = int(esc)
		}
		if flags&flagHex != 0 {
			hc, pos = uvarint(raw, pos)
			hh, pos = uvarint(raw, pos)
			hp, pos = uvarint(raw, pos)
			if pos < 0 || pos >= len(raw) {
				return lay, errors.New("block preamble truncated")
			}
			mark := raw[pos]
			pos++
			if mark == 0 || mark >= 0x20 || (lay.sep >= 0 && mark == sep) || (lay.esc >= 0 && int(mark) == lay.esc) {
				return lay, fmt.Errorf("hex mark %#x: not a control byte apart from the separator and the stamp mark", mark)
			}
			lay.hexMark = int(mark)
		}
	}
	n := uint64(len(raw))
	if pos < 0 || t > n || l > n || m > n || s > n || hc > n || hh > n || hp > n ||
		t+l+m+s+hc+hh+hp > uint64(len(raw)-pos) {
		return lay, errors.New("column sizes out of range")
	}
	lay.ts, lay.lens, lay.meta = pos, pos+int(t), pos+int(t+l)
	lay.stamps, lay.hexCounts, lay.hexHeads = pos+int(t+l+m), pos+int(t+l+m+s), pos+int(t+l+m+s+hc)
	lay.planes = pos + int(t+l+m+s+hc+hh)
	lay.packed, lay.lines = lay.planes, lay.planes
	if version < 4 {
		return lay, nil
	}
	_, k, err := timeHeader(raw[:lay.lens], lay.ts)
	if err != nil {
		return lay, err
	}
	if entries < 1 || k*(entries-1) > len(raw)-lay.planes-int(hp) {
		return lay, errors.New("timestamp planes truncated")
	}
	lay.packed += k * (entries - 1)
	lay.lines = lay.packed + int(hp)
	return lay, nil
}

// timeHeader reads the start of a timestamp column (version 3 and later) at col[pos:]: the
// first timestamp's varint, the scale exponent and the number of planes k. It returns the
// position after them and k.
func timeHeader(col []byte, pos int) (after, k int, err error) {
	_, pos = varint(col, pos)
	if pos < 0 || pos+2 > len(col) {
		return 0, 0, errors.New("timestamp column truncated")
	}
	if e, k := col[pos], int(col[pos+1]); e >= byte(len(pow10)) || k > 8 {
		return 0, 0, fmt.Errorf("timestamp column: scale 10^%d or %d low bytes out of range", e, k)
	}
	return pos + 2, int(col[pos+1]), nil
}

// entryView locates one decoded entry inside a raw block.
type entryView struct {
	ts                 int64
	lineStart, lineEnd int32
	metaStart, metaEnd int32 // the encoded reference pairs
	nmeta              int32
	// stamp is the layout number of the line's elided stamp (0: none) and stampD its
	// distance from ts in the layout's units (stamp.go).
	stamp  uint8
	stampD int64
	// hexFirst and hexN are the line's hex runs: the decoder's runs[hexFirst:][:hexN].
	hexFirst, hexN int32
}

var errTruncated = errors.New("entry truncated")

// blockDecoder walks the entries of one raw block forward. It checks everything it reads
// against the block's bounds and its index entry, so bad bytes give an error, never a panic.
type blockDecoder struct {
	raw     []byte
	version int
	// Version 1: pos is the next entry, entries end at tsEnd (the end of raw).
	// Versions 2 and 3: pos, lenPos and metaPos are the next entry's place in the timestamp
	// (version 3: its high-order part), length and metadata columns, which end at tsEnd,
	// lenEnd and metaEnd; line is where its line starts.
	pos, tsEnd         int
	lenPos, lenEnd     int
	metaPos, metaEnd   int
	stampPos, stampEnd int // version 4: the stamps column, empty when esc < 0
	hexPos, hexEnd     int // version 5: the hex run counts column, empty when hexMark < 0
	line               int
	sep                int // version 3 and later: the line separator, or -1
	esc                int // version 4: the stamp mark, or -1
	hexMark            int // version 5: the hex mark, or -1
	runs               []hexRun
	nextRun            int // the run of the next entry's line
	// Version 3 timestamps: the first one, the scale and low-byte planes of the deltas.
	first  int64
	scale  uint64
	k      int
	planes []byte // k planes of Entries-1 bytes
	n      int    // entries decoded so far
	prevTs int64
	meta   BlockMeta
	// noLines: raw ends where the lines start (decompressBlockHead), and entries are decoded
	// without their lines: each has an empty line, and the stamps and hex runs, which only
	// rebuild lines, are not read.
	noLines bool
}

// reset starts decoding raw, a block of the given format version described by meta.
func (d *blockDecoder) reset(raw []byte, meta BlockMeta, version int) error {
	return d.resetFor(raw, meta, version, false)
}

// resetHead starts decoding the entries of a block of format version 2 or later without their
// lines, from raw, the block's bytes up to where its lines start (decompressBlockHead).
func (d *blockDecoder) resetHead(head []byte, meta BlockMeta, version int) error {
	if version < 2 {
		return fmt.Errorf("format version %d interleaves lines with the other fields", version)
	}
	return d.resetFor(head, meta, version, true)
}

func (d *blockDecoder) resetFor(raw []byte, meta BlockMeta, version int, noLines bool) error {
	*d = blockDecoder{raw: raw, meta: meta, tsEnd: len(raw), version: version, sep: -1, esc: -1, hexMark: -1, runs: d.runs[:0], noLines: noLines}
	if version == 1 {
		return nil
	}
	lay, err := columnStarts(raw, version, meta.Entries)
	if err != nil {
		return err
	}
	if noLines {
		if lay.lines != len(raw) {
			return fmt.Errorf("block head of %d bytes, its lines start at %d", len(raw), lay.lines)
		}
	}
	d.pos, d.tsEnd = lay.ts, lay.lens
	d.lenPos, d.lenEnd = lay.lens, lay.meta
	d.metaPos, d.metaEnd = lay.meta, lay.stamps
	d.stampPos, d.stampEnd = lay.stamps, lay.hexCounts
	d.hexPos, d.hexEnd = lay.hexCounts, lay.hexHeads
	d.line = lay.lines
	d.sep, d.esc, d.hexMark = lay.sep, lay.esc, lay.hexMark
	if noLines {
		// The stamps and hex runs only rebuild lines: their columns are passed over whole.
		d.esc, d.hexMark = -1, -1
		d.stampPos, d.hexPos = d.stampEnd, d.hexEnd
	}
	if d.hexMark >= 0 {
		if d.runs, err = parseHexRuns(d.runs, raw[lay.hexHeads:lay.planes], raw[lay.packed:lay.lines], lay.packed); err != nil {
			return err
		}
	}
	if version < 3 {
		return nil
	}
	col := raw[:d.tsEnd]
	pos, k, err := timeHeader(col, d.pos)
	if err != nil {
		return err
	}
	d.first, _ = varint(col, d.pos)
	d.scale, d.k = pow10[col[pos-2]], k
	deltas := meta.Entries - 1
	if version >= 4 { // the planes follow the stamps column; columnStarts checked their size
		d.planes, d.pos = raw[lay.planes:lay.packed], pos
		return nil
	}
	if deltas < 0 || k*deltas > len(col)-pos {
		return errors.New("timestamp column truncated")
	}
	d.planes = col[pos : pos+k*deltas]
	d.pos = pos + k*deltas
	return nil
}

// done reports whether every entry has been decoded, and checks the entry count if so.
func (d *blockDecoder) done() (bool, error) {
	if d.version >= 3 {
		if d.n < d.meta.Entries {
			return false, nil
		}
	} else if d.pos < d.tsEnd {
		return false, nil
	}
	if d.n != d.meta.Entries {
		return true, fmt.Errorf("block holds %d entries, index says %d", d.n, d.meta.Entries)
	}
	if d.version >= 2 && (d.pos != d.tsEnd || d.lenPos != d.lenEnd || d.metaPos != d.metaEnd || d.stampPos != d.stampEnd ||
		d.hexPos != d.hexEnd || d.nextRun != len(d.runs) || d.line != len(d.raw)) {
		return true, errors.New("block holds bytes after its last entry")
	}
	return true, nil
}

// next decodes the entry at the current position. The caller checks done first.
func (d *blockDecoder) next() (entryView, error) {
	var v entryView
	b, pos := d.raw[:d.tsEnd], d.pos
	switch {
	case d.version >= 3 && d.n == 0:
		v.ts = d.first
	case d.version >= 3:
		hi, m := uvarint(b, pos)
		if m < 0 {
			return v, errTruncated
		}
		pos = m
		shift := uint(8 * d.k) // 64 when every byte is in a plane: then hi must be 0
		if hi > math.MaxUint64>>shift {
			return v, errors.New("timestamp overflows")
		}
		delta := hi << shift
		stride := d.meta.Entries - 1
		for i := range d.k {
			delta |= uint64(d.planes[i*stride+d.n-1]) << (8 * i)
		}
		if delta > math.MaxUint64/d.scale {
			return v, errors.New("timestamp overflows")
		}
		delta *= d.scale
		if delta > uint64(math.MaxInt64-d.prevTs) {
			return v, errors.New("timestamp overflows")
		}
		v.ts = d.prevTs + int64(delta)
	case d.n == 0:
		ts, m := varint(b, pos)
		if m < 0 {
			return v, errTruncated
		}
		v.ts, pos = ts, m
	default:
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
	switch {
	case d.version == 1:
		if l, pos = uvarint(b, pos); pos < 0 || l > uint64(len(b)-pos) {
			return v, errTruncated
		}
		v.lineStart, v.lineEnd = int32(pos), int32(pos+int(l))
		pos += int(l)
	case d.noLines:
		d.pos = pos
		if d.sep < 0 {
			if _, d.lenPos = uvarint(d.raw[:d.lenEnd], d.lenPos); d.lenPos < 0 {
				return v, errTruncated
			}
		}
		v.lineStart, v.lineEnd = int32(d.line), int32(d.line)
		b, pos = d.raw[:d.metaEnd], d.metaPos
	case d.sep >= 0:
		d.pos = pos
		end := bytes.IndexByte(d.raw[d.line:], byte(d.sep))
		if end < 0 {
			return v, errTruncated
		}
		v.lineStart, v.lineEnd = int32(d.line), int32(d.line+end)
		d.line += end + 1
		b, pos = d.raw[:d.metaEnd], d.metaPos
	default:
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
	if d.version == 1 {
		d.pos = pos
	} else {
		d.metaPos = pos
	}
	if d.esc >= 0 {
		num, p := uvarint(d.raw[:d.stampEnd], d.stampPos)
		if p < 0 {
			return v, errTruncated
		}
		if num > 0 {
			if num > uint64(len(stampFormats)) {
				return v, fmt.Errorf("stamp layout %d unknown", num)
			}
			if v.stampD, p = varint(d.raw[:d.stampEnd], p); p < 0 {
				return v, errTruncated
			}
			if _, ok := stampFormats[num-1].stampInstant(v.ts, v.stampD); !ok {
				return v, fmt.Errorf("stamp %d units from %d out of range", v.stampD, v.ts)
			}
			v.stamp = uint8(num)
		}
		d.stampPos = p
	}
	if d.hexMark >= 0 {
		n, p := uvarint(d.raw[:d.hexEnd], d.hexPos)
		if p < 0 || n > uint64(len(d.runs)-d.nextRun) {
			return v, errors.New("hex run counts column truncated or past the runs")
		}
		v.hexFirst, v.hexN = int32(d.nextRun), int32(n)
		d.hexPos, d.nextRun = p, d.nextRun+int(n)
	}
	d.prevTs = v.ts
	d.n++
	if d.n > d.meta.Entries {
		return v, fmt.Errorf("block holds more than the %d entries its index says", d.meta.Entries)
	}
	return v, nil
}
