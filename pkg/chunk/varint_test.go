package chunk

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// TestUvarint checks the hand-written decoder against encoding/binary on every length and on
// random and malformed input.
func TestUvarint(t *testing.T) {
	check := func(b []byte, pos int) {
		t.Helper()
		got, gotPos := uvarint(b, pos)
		want, n := binary.Uvarint(b[pos:])
		wantPos := pos + n
		if n <= 0 {
			want, wantPos = 0, -1
		}
		if got != want || gotPos != wantPos {
			t.Fatalf("uvarint(%x, %d) = %d, %d, want %d, %d", b, pos, got, gotPos, want, wantPos)
		}
	}
	for _, v := range []uint64{0, 1, 127, 128, 1 << 14, 1<<21 - 1, 1 << 35, math.MaxInt64, math.MaxUint64} {
		b := binary.AppendUvarint([]byte{0xff}, v)
		check(b, 1)
		check(b[:len(b)-1], 1) // truncated
	}
	r := rand.New(rand.NewPCG(1, 1))
	for range 10000 {
		b := make([]byte, 1+r.IntN(12))
		for i := range b {
			b[i] = byte(r.Uint32())
			if r.IntN(3) == 0 {
				b[i] |= 0x80
			}
		}
		check(b, r.IntN(len(b)))
	}
	// Eleven continuation bytes, and a tenth byte above 1: overflow.
	check([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 0)
	check([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, 0)
	if _, p := uvarint([]byte{1}, -1); p != -1 {
		t.Errorf("uvarint at -1 = position %d, want -1", p)
	}
	if v, p := varint(binary.AppendVarint(nil, -5), 0); v != -5 || p != 1 {
		t.Errorf("varint(-5) = %d, %d", v, p)
	}
}
