package chunk

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
)

// BenchmarkAppend appends realistic entries (about 236 bytes, a tenth with structured
// metadata) to a head with the default codec and sizes, starting a new head when the chunk
// is full, as an ingester does. Block cuts (compression) are included.
func BenchmarkAppend(b *testing.B) {
	benchmarkAppend(b, testLines(b, 20000, 9), DefaultEncoding)
}

// BenchmarkAppendLevels is BenchmarkAppend with a detected_level on every entry, as the
// distributor adds it: runs of info with a warning or an error now and then. Without a codec
// ("none") the cost of the rest of the append path shows.
func BenchmarkAppendLevels(b *testing.B) {
	levels := []labels.Labels{
		labels.FromStrings("detected_level", "info"), labels.FromStrings("detected_level", "warn"),
		labels.FromStrings("detected_level", "error"), labels.FromStrings("detected_level", "debug"),
	}
	for _, enc := range []Encoding{DefaultEncoding, EncNone} {
		b.Run(enc.String(), func(b *testing.B) {
			es := testLines(b, 20000, 9)
			r := rand.New(rand.NewPCG(3, 4))
			for i := range es {
				es[i].StructuredMetadata = levels[0]
				if r.IntN(4) == 0 {
					es[i].StructuredMetadata = levels[r.IntN(len(levels))]
				}
			}
			benchmarkAppend(b, es, enc)
		})
	}
}

// benchmarkAppend appends es over and over to heads with codec enc and the default sizes,
// starting a new head when the chunk is full, as an ingester does.
func benchmarkAppend(b *testing.B, es []logproto.Entry, enc Encoding) {
	size := 0
	for _, e := range es {
		size += len(e.Line)
	}
	newHead := func() *Head {
		h, err := NewHead(enc, DefaultBlockSize, DefaultTargetSize)
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
			next := newHead()
			h.HandOver(next)
			h = next
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

// TestHandOver checks that a head taking over a full head's buffers works as a fresh one, and
// that what was read or encoded from the old head before is not disturbed.
func TestHandOver(t *testing.T) {
	es := testLines(t, 400, 3)
	old, accepted := buildHead(t, DefaultEncoding, 4<<10, es[:200])
	it := old.Iterator(testStream, minInt64, maxInt64, logproto.Forward, nil) // reads the head block
	c := encodeDecode(t, old)
	next, err := NewHead(DefaultEncoding, 4<<10, 0)
	if err != nil {
		t.Fatal(err)
	}
	old.HandOver(next)
	if cap(next.lines) == 0 {
		t.Fatal("the new head did not get the old head's buffers")
	}
	var acceptedNext []logproto.Entry
	for i := range es[200:] {
		e := es[200+i]
		if err := next.Append(&e); err == nil {
			acceptedNext = append(acceptedNext, e)
		}
	}
	diffEntries(t, "old head's iterator", collect(t, it), accepted)
	diffEntries(t, "old head's chunk", collect(t, c.Iterator(testStream, minInt64, maxInt64, logproto.Forward, nil)), accepted)
	diffEntries(t, "new head", collect(t, encodeDecode(t, next).Iterator(testStream, minInt64, maxInt64, logproto.Forward, nil)),
		expect(acceptedNext, minInt64, maxInt64, logproto.Forward, nil))
}
