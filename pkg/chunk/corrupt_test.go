package chunk

import (
	"errors"
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

// TestCorruptBlockContents builds blocks whose checksums are right but whose contents are
// wrong, which only a bug or a malicious writer produces: the decoder must still not panic.
func TestCorruptBlockContents(t *testing.T) {
	tests := []struct {
		name string
		raw  []byte
		meta BlockMeta
	}{
		{"entry count too high", appendEntry(nil, true, 0, 5, []byte("x"), nil), BlockMeta{MinT: 5, MaxT: 5, Entries: 2}},
		{"entry count too low", appendEntry(appendEntry(nil, true, 0, 5, []byte("x"), nil), false, 5, 6, []byte("y"), nil), BlockMeta{MinT: 5, MaxT: 6, Entries: 1}},
		{"time outside range", appendEntry(nil, true, 0, 9, []byte("x"), nil), BlockMeta{MinT: 5, MaxT: 6, Entries: 1}},
		{"line past the end", []byte{10, 50, 'x'}, BlockMeta{MinT: 5, MaxT: 5, Entries: 1}},
		{"missing symbol", appendEntry(nil, true, 0, 5, []byte("x"), []uint32{0, 7}), BlockMeta{MinT: 5, MaxT: 5, Entries: 1}},
		{"metadata count too high", []byte{10, 1, 'x', 200, 1}, BlockMeta{MinT: 5, MaxT: 5, Entries: 1}},
		{"huge delta", append(appendEntry(nil, true, 0, 5, []byte("x"), nil), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0), BlockMeta{MinT: 5, MaxT: 5, Entries: 2}},
	}
	for _, tt := range tests {
		for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
			tt.meta.RawSize = len(tt.raw)
			it := newIterator(EncNone, nil, []blockSource{{meta: tt.meta, raw: tt.raw}}, testStream, minInt64, maxInt64, dir, nil)
			for it.Next() {
			}
			if err := it.Err(); !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s, %v: Err() = %v, want ErrCorrupt", tt.name, dir, err)
			}
		}
	}
}
