package chunk

import (
	"errors"
	"testing"
)

// BenchmarkAppend appends realistic entries (about 236 bytes, a tenth with structured
// metadata) to a head with the default codec and sizes, starting a new head when the chunk
// is full, as an ingester does. Block cuts (compression) are included.
func BenchmarkAppend(b *testing.B) {
	es := testLines(b, 20000, 9)
	size := 0
	for _, e := range es {
		size += len(e.Line)
	}
	newHead := func() *Head {
		h, err := NewHead(DefaultEncoding, DefaultBlockSize, DefaultTargetSize)
		if err != nil {
			b.Fatal(err)
		}
		return h
	}
	h := newHead()
	b.SetBytes(int64(size / len(es)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e := &es[i%len(es)]
		// Replaying the lines moves them forward in time, so the head sees new entries.
		e.Timestamp += 1
		if !h.SpaceFor(e) {
			h = newHead()
		}
		if err := h.Append(e); err != nil && !errors.Is(err, ErrDuplicate) {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkAppendOutOfOrder appends entries that arrive shuffled within windows of 100, so
// every append checks the head block for a duplicate.
func BenchmarkAppendOutOfOrder(b *testing.B) {
	es := testLines(b, 20000, 9)
	for i := 0; i+100 <= len(es); i += 100 {
		for j := 0; j < 50; j++ {
			es[i+j], es[i+99-j] = es[i+99-j], es[i+j]
		}
	}
	b.SetBytes(236)
	b.ReportAllocs()
	h, _ := NewHead(DefaultEncoding, 0, 0)
	i := 0
	for b.Loop() {
		e := &es[i%len(es)]
		e.Timestamp += 1
		if !h.SpaceFor(e) {
			h, _ = NewHead(DefaultEncoding, 0, 0)
		}
		if err := h.Append(e); err != nil && !errors.Is(err, ErrDuplicate) {
			b.Fatal(err)
		}
		i++
	}
}
