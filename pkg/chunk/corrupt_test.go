package chunk

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/sluicelog/sluice/pkg/logproto"
)

// readAll decodes b and iterates every entry in both directions. It returns the first error.
func readAll(b []byte) error {
	c, err := Decode(b)
	if err != nil {
		return err
	}
	for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
		it := c.Iterator(testStream, minInt64, maxInt64, dir, nil)
		for it.Next() {
			e := it.At()
			_ = e.StructuredMetadata.Len()
		}
		if err := it.Err(); err != nil {
			return err
		}
		_ = it.Close()
	}
	return nil
}

// smallChunk builds a chunk of several out-of-order blocks, some entries carrying metadata.
func smallChunk(tb testing.TB, enc Encoding) []byte {
	tb.Helper()
	es := testLines(tb, 24, 21)
	es[3], es[17] = es[17], es[3]
	h, _ := buildHead(tb, enc, 1<<10, es)
	b, err := h.Bytes()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestCorruptBytes flips every byte of small chunks, one at a time, and truncates them at
// every length: each change must be reported as ErrCorrupt, never a panic or silently wrong
// entries. Every byte is covered by a magic, a reserved-zero check or a checksum, so no
// flip goes unnoticed.
func TestCorruptBytes(t *testing.T) {
	for _, enc := range []Encoding{EncNone, EncZstd, EncS2} {
		t.Run(enc.String(), func(t *testing.T) {
			good := smallChunk(t, enc)
			if err := readAll(good); err != nil {
				t.Fatalf("intact chunk: %v", err)
			}
			// Every byte of the header, index, symbol table and trailer, and a sample of the
			// block bytes: a checksum covers each block, so all its bytes behave alike.
			tr, err := ParseTrailer(good, int64(len(good)))
			if err != nil {
				t.Fatal(err)
			}
			var positions []int
			for i := 0; i < len(good); i++ {
				if i < HeaderSize || int64(i) >= tr.IndexOffset || i%9 == 0 {
					positions = append(positions, i)
				}
			}
			b := make([]byte, len(good))
			for _, i := range positions {
				copy(b, good)
				b[i] ^= 0x5a
				err := readAll(b)
				if err == nil {
					t.Fatalf("flip byte %d of %d: no error", i, len(b))
				}
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("flip byte %d: %v, want ErrCorrupt", i, err)
				}
			}
			for _, n := range positions {
				if err := readAll(good[:n]); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("truncate to %d bytes: %v, want ErrCorrupt", n, err)
				}
			}
		})
	}
}

// TestCorruptBlockNamed checks that a damaged block is reported by number, and only when an
// iterator reaches it.
func TestCorruptBlockNamed(t *testing.T) {
	good := smallChunk(t, EncZstd)
	c, err := Decode(good)
	if err != nil {
		t.Fatal(err)
	}
	m := c.Blocks()[2]
	b := append([]byte(nil), good...)
	b[m.Offset+m.Length/2] ^= 1
	c, err = Decode(b)
	if err != nil {
		t.Fatalf("Decode with a damaged block = %v, want nil (blocks are checked lazily)", err)
	}
	// A range that excludes block 2 reads fine: the damaged block is never decompressed.
	checked := false
	for j, other := range c.Blocks() {
		if other.MaxT < m.MinT || other.MinT > m.MaxT {
			it := c.Iterator(testStream, other.MinT, other.MaxT+1, logproto.Forward, nil)
			n := 0
			for it.Next() {
				n++
			}
			if err := it.Err(); err != nil || n == 0 {
				t.Errorf("iterate block %d only: %d entries, %v", j, n, err)
			}
			checked = true
			break
		}
	}
	if !checked {
		t.Fatal("no block is apart from block 2 in time; the test needs one")
	}
	err = readAll(b)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "block 2") {
		t.Errorf("readAll = %v, want ErrCorrupt naming block 2", err)
	}
}

// appendEntryV1 appends one entry in format version 1. Only tests write version 1, to check
// that it is still read.
func appendEntryV1(dst []byte, first bool, prev, ts int64, line []byte, refs []uint32) []byte {
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

// rawEntry is one entry of a hand-built raw block.
type rawEntry struct {
	ts   int64
	line string
	refs []uint32
}

// handBlock encodes entries as a raw block of the given format version, as the head would
// (but without sorting or checking them). Version 3 and 4 blocks keep one low byte of each
// delta in a plane, at scale 1 (version 4 after the metadata column, as there are no stamps),
// and separate the lines by '\n' unless a line holds one.
func handBlock(version int, es ...rawEntry) []byte {
	var ts, lens, meta, lines, v1, plane, hi []byte
	separated := version >= 3
	for _, e := range es {
		if strings.Contains(e.line, "\n") {
			separated = false
		}
	}
	var prev int64
	for i, e := range es {
		v1 = appendEntryV1(v1, i == 0, prev, e.ts, []byte(e.line), e.refs)
		switch {
		case i == 0:
			ts = appendVarint(ts, e.ts)
		case version >= 3:
			plane = append(plane, byte(e.ts-prev))
			hi = appendUvarint(hi, uint64(e.ts-prev)>>8)
		default:
			ts = appendUvarint(ts, uint64(e.ts-prev))
		}
		if !separated {
			lens = appendUvarint(lens, uint64(len(e.line)))
		}
		meta = appendUvarint(meta, uint64(len(e.refs)/2))
		for _, r := range e.refs {
			meta = appendUvarint(meta, uint64(r))
		}
		lines = append(lines, e.line...)
		if separated {
			lines = append(lines, '\n')
		}
		prev = e.ts
	}
	if version == 1 {
		return v1
	}
	var planes []byte // version 4: after the last column, sized by the entry count
	switch {
	case version >= 4:
		ts = append(append(ts, 0, 1), hi...) // scale 10^0, one plane
		planes = plane
	case version == 3:
		ts = append(ts, 0, 1)
		ts = append(append(ts, plane...), hi...)
	}
	var b []byte
	for _, col := range [][]byte{ts, lens, meta} {
		b = appendUvarint(b, uint64(len(col)))
	}
	if version >= 3 {
		if separated {
			b = append(b, flagSeparated, '\n')
		} else {
			b = append(b, 0, 0)
		}
	}
	return append(append(append(append(append(b, ts...), lens...), meta...), planes...), lines...)
}

// TestCorruptBlockContents builds blocks whose checksums are right but whose contents are
// wrong, which only a bug or a malicious writer produces: the decoder must still not panic.
func TestCorruptBlockContents(t *testing.T) {
	x := rawEntry{ts: 5, line: "x"}
	tests := []struct {
		name    string
		version int
		raw     []byte
		meta    BlockMeta
	}{
		{"line past the end", 1, []byte{10, 50, 'x'}, BlockMeta{MinT: 5, MaxT: 5, Entries: 1}},
		{"metadata count too high", 1, []byte{10, 1, 'x', 200, 1}, BlockMeta{MinT: 5, MaxT: 5, Entries: 1}},
		{"column sizes past the end", 2, []byte{9, 1, 1, 10, 1, 0, 'x'}, BlockMeta{MinT: 5, MaxT: 5, Entries: 1}},
		{"column sizes missing", 2, []byte{}, BlockMeta{MinT: 5, MaxT: 5, Entries: 1}},
		{"line past the end", 2, []byte{1, 1, 1, 10, 50, 0, 'x'}, BlockMeta{MinT: 5, MaxT: 5, Entries: 1}},
		{"length column too long", 2, []byte{1, 2, 1, 10, 1, 1, 0, 'x'}, BlockMeta{MinT: 5, MaxT: 5, Entries: 1}},
		{"metadata column too long", 2, []byte{1, 1, 2, 10, 1, 0, 0, 'x'}, BlockMeta{MinT: 5, MaxT: 5, Entries: 1}},
		{"bytes after the last line", 2, append(handBlock(2, x), 'y'), BlockMeta{MinT: 5, MaxT: 5, Entries: 1}},
		{"bytes after the last line", 3, append(handBlock(3, x), 'y'), BlockMeta{MinT: 5, MaxT: 5, Entries: 1}},
		{"metadata count too high", 2, []byte{1, 1, 2, 10, 1, 200, 1, 'x'}, BlockMeta{MinT: 5, MaxT: 5, Entries: 1}},
	}
	// Version 3: x alone is 3 0 1 (column sizes), 1 '\n' (separated), 10 0 1 (timestamp 5,
	// scale 10^0, one plane: of no delta), 0 (no metadata), "x\n".
	v3 := func(b ...byte) []byte { return b }
	two := func(hi []byte, scale byte) []byte { // x and a second entry whose delta is hi
		ts := append([]byte{10, scale, 1, 0xff}, hi...)
		b := appendUvarint(nil, uint64(len(ts)))
		b = append(b, 0, 2, flagSeparated, '\n')
		return append(append(b, ts...), 0, 0, 'x', '\n', 'y', '\n')
	}
	two2 := BlockMeta{MinT: 5, MaxT: maxInt64, Entries: 2}
	one := BlockMeta{MinT: 5, MaxT: 5, Entries: 1}
	tests = append(tests, []struct {
		name    string
		version int
		raw     []byte
		meta    BlockMeta
	}{
		{"unknown flags", 3, v3(3, 0, 1, 4, 0, 10, 0, 1, 0, 'x'), one},
		{"separator without the flag", 3, v3(3, 0, 1, 0, '\n', 10, 0, 1, 0, 'x'), one},
		{"separated lines with lengths", 3, v3(3, 1, 1, 1, '\n', 10, 0, 1, 1, 0, 'x', '\n'), one},
		{"preamble truncated", 3, v3(3, 0, 1, 1), one},
		{"scale out of range", 3, v3(3, 0, 1, 1, '\n', 10, 10, 1, 0, 'x', '\n'), one},
		{"too many planes", 3, v3(3, 0, 1, 1, '\n', 10, 0, 9, 0, 'x', '\n'), one},
		{"timestamp column truncated", 3, v3(1, 0, 1, 1, '\n', 10, 0, 'x', '\n'), one},
		{"unterminated line", 3, v3(3, 0, 1, 1, '\n', 10, 0, 1, 0, 'x'), one},
		{"planes past the column", 3, v3(3, 0, 2, 1, '\n', 10, 0, 1, 0, 0, 'x', '\n', 'y', '\n'), two2},
		{"delta overflows its shift", 3, two(appendUvarint(nil, math.MaxUint64), 0), two2},
		{"delta overflows its scale", 3, two(appendUvarint(nil, 1<<40), 9), two2},
		{"delta overflows the time", 3, two(appendUvarint(nil, 1<<55), 0), two2},
		{"stamps flag in version 3", 3, v3(3, 0, 1, 3, '\n', 1, 1, 10, 0, 1, 0, 0, 'x', '\n'), one},
	}...)
	// Version 4, stamped: x alone is 3 0 1 (column sizes), 3 '\n' (separated, stamped), S and
	// the mark, the timestamp column and metadata as in version 3, S bytes of stamps, "x\n".
	v4 := func(stamps []byte, esc byte, line ...byte) []byte {
		b := append([]byte{3, 0, 1, flagSeparated | flagStamped, '\n'}, appendUvarint(nil, uint64(len(stamps)))...)
		b = append(append(b, esc, 10, 0, 1, 0), stamps...)
		return append(b, line...)
	}
	tests = append(tests, []struct {
		name    string
		version int
		raw     []byte
		meta    BlockMeta
	}{
		{"stamp mark not a control byte", 4, v4([]byte{0}, 'a', 'x', '\n'), one},
		{"stamp mark is the separator", 4, v4([]byte{0}, '\n', 'x', '\n'), one},
		{"stamp mark is NUL", 4, v4([]byte{0}, 0, 'x', '\n'), one},
		{"stamps column past the end", 4, append(v4(nil, 1)[:5], 50, 1, 10, 0, 1, 0, 'x', '\n'), one},
		{"stamps column truncated", 4, v4([]byte{1}, 1, 1, '\n'), one},
		{"unknown stamp layout", 4, v4([]byte{0xc8, 0x01, 0}, 1, 1, '\n'), one},
		{"stamp too far from its entry", 4, v4(appendVarint([]byte{1}, 1<<40), 1, 1, '\n'), one},
		{"stamped line without its mark", 4, v4([]byte{1, 0}, 1, 'x', '\n'), one},
		{"bytes after the last stamp", 4, v4([]byte{0, 0, 0}, 1, 'x', '\n'), one},
		{"preamble truncated before the mark", 4, []byte{3, 0, 1, flagSeparated | flagStamped, '\n', 1}, one},
		{"planes past the end", 4, handBlock(4, x, rawEntry{ts: 6, line: "y"})[:11], two2},
	}...)
	for _, v := range []int{1, 2, 3, 4} {
		tests = append(tests, []struct {
			name    string
			version int
			raw     []byte
			meta    BlockMeta
		}{
			{"entry count too high", v, handBlock(v, x), BlockMeta{MinT: 5, MaxT: 5, Entries: 2}},
			{"entry count too low", v, handBlock(v, x, rawEntry{ts: 6, line: "y"}), BlockMeta{MinT: 5, MaxT: 6, Entries: 1}},
			{"time outside range", v, handBlock(v, rawEntry{ts: 9, line: "x"}), BlockMeta{MinT: 5, MaxT: 6, Entries: 1}},
			{"missing symbol", v, handBlock(v, rawEntry{ts: 5, line: "x", refs: []uint32{0, 7}}), BlockMeta{MinT: 5, MaxT: 5, Entries: 1}},
		}...)
	}
	// A delta that overflows int64, as the second entry.
	tests = append(tests, struct {
		name    string
		version int
		raw     []byte
		meta    BlockMeta
	}{"huge delta", 1, append(handBlock(1, x), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0), BlockMeta{MinT: 5, MaxT: 5, Entries: 2}})
	for _, tt := range tests {
		for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
			tt.meta.RawSize = len(tt.raw)
			it := newIterator(EncNone, tt.version, nil, []blockSource{{meta: tt.meta, raw: tt.raw}}, testStream, minInt64, maxInt64, dir, nil)
			for it.Next() {
			}
			if err := it.Err(); !errors.Is(err, ErrCorrupt) {
				t.Errorf("version %d, %s, %v: Err() = %v, want ErrCorrupt", tt.version, tt.name, dir, err)
			}
			if lay, err := columnStarts(tt.raw, tt.version, tt.meta.Entries); tt.version < 4 || (err == nil && lay.esc < 0) {
				continue // a block without stamps and without the needle is rightly skipped unread
			}
			// A needle that may overlap a stamp makes the iterator rebuild lines to search.
			it = newIterator(EncNone, tt.version, nil, []blockSource{{meta: tt.meta, raw: tt.raw}}, testStream, minInt64, maxInt64, dir, nil).Prefilter([]byte("1"))
			for it.Next() {
				t.Errorf("version %d, %s, %v, needle: an entry from a damaged block", tt.version, tt.name, dir)
			}
			if err := it.Err(); !errors.Is(err, ErrCorrupt) {
				t.Errorf("version %d, %s, %v, needle: Err() = %v, want ErrCorrupt", tt.version, tt.name, dir, err)
			}
		}
	}
}
