package chunk

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/race"
)

// fullChunk encodes test lines into a chunk of about the default target size.
func fullChunk(tb testing.TB, enc Encoding, n int) *Chunk {
	tb.Helper()
	h, _ := buildHead(tb, enc, DefaultBlockSize, testLines(tb, n, 77))
	return encodeDecode(tb, h)
}

var needle = []byte("payments.gateway")

func containsNeedle(line []byte) bool { return bytes.Contains(line, needle) }

// BenchmarkIterateFilter scans a chunk of 20,000 lines (4.7 MB raw) with a substring line
// filter, the shape of `{app="x"} |= "..."`; MB/s is raw log bytes scanned per second on
// one core, the figure the system's scan target is about.
func BenchmarkIterateFilter(b *testing.B) {
	for _, enc := range Encodings() {
		b.Run(enc.String(), func(b *testing.B) {
			c := fullChunk(b, enc, 20000)
			b.SetBytes(int64(c.UncompressedSize()))
			b.ReportAllocs()
			for b.Loop() {
				for _, dir := range []logproto.Direction{logproto.Forward} {
					it := c.Iterator(testStream, minInt64, maxInt64, dir, containsNeedle)
					n := 0
					for it.Next() {
						n++
					}
					if it.Err() != nil || n == 0 {
						b.Fatalf("matched %d lines, err %v", n, it.Err())
					}
					it.Close()
				}
			}
		})
	}
}

// BenchmarkIterateBackward reads every entry of a chunk newest first, Loki's default
// direction, without a filter.
func BenchmarkIterateBackward(b *testing.B) {
	c := fullChunk(b, DefaultEncoding, 20000)
	b.SetBytes(int64(c.UncompressedSize()))
	b.ReportAllocs()
	for b.Loop() {
		it := c.Iterator(testStream, minInt64, maxInt64, logproto.Backward, nil)
		for it.Next() {
			_ = it.At()
		}
		it.Close()
	}
}

// TestIterateAllocs checks that iteration does not allocate per entry: a whole scan of
// 3,000 entries, metadata included, costs only the iterator itself and one label set per
// distinct metadata set.
func TestIterateAllocs(t *testing.T) {
	race.SkipAllocs(t)
	c := fullChunk(t, DefaultEncoding, 3000)
	for _, tt := range []struct {
		name   string
		dir    logproto.Direction
		filter LineFilter
		max    float64
	}{
		{"forward prefiltered", logproto.Forward, nil, 30},
		{"forward filtered", logproto.Forward, containsNeedle, 30},
		{"backward filtered", logproto.Backward, containsNeedle, 30},
		{"forward all", logproto.Forward, nil, 30},
		{"backward all", logproto.Backward, nil, 30},
	} {
		allocs := testing.AllocsPerRun(5, func() {
			it := c.Iterator(testStream, minInt64, maxInt64, tt.dir, tt.filter)
			if tt.filter == nil && tt.name == "forward prefiltered" {
				it.Prefilter(needle)
			}
			for it.Next() {
				e := it.At()
				_ = e.StructuredMetadata.Len()
			}
			if err := it.Err(); err != nil {
				t.Fatal(err)
			}
			it.Close()
		})
		if allocs > tt.max {
			t.Errorf("%s: %.0f allocations per scan of %d entries, want at most %.0f", tt.name, allocs, c.Entries(), tt.max)
		}
		t.Logf("%s: %.0f allocations per scan", tt.name, allocs)
	}
}

// TestPrefilter checks that a prefiltered iterator returns exactly what the plain filter
// returns, for needles that are rare, frequent, at line starts and at line ends, or in one
// line only (so that most blocks hold none and are skipped after their lines are searched),
// with and without a filter, in both directions, across overlapping blocks, for every codec
// and for a head whose last block is not cut yet.
func TestPrefilter(t *testing.T) {
	es := testLines(t, 1500, 19)
	shuffleWindow(rand.New(rand.NewPCG(3, 4)), es, 300)
	for _, enc := range Encodings() {
		h, accepted := buildHead(t, enc, 16<<10, es)
		only := accepted[len(accepted)/2].Line // a whole line: in no other line
		type source struct {
			name string
			it   func(from, through int64, dir logproto.Direction, f LineFilter) *Iterator
		}
		headIt := func(from, through int64, dir logproto.Direction, f LineFilter) *Iterator {
			return h.Iterator(testStream, from, through, dir, f)
		}
		minT, maxT := h.Bounds()
		check := func(src source) {
			for _, needle := range []string{"payments.gateway", "a", "10.", "{\"ts\"", ":8080", "8080 ", "not in any line", "ts=2026", only} {
				contains := func(s string) bool { return strings.Contains(s, needle) }
				for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
					for _, rg := range [][2]int64{{minInt64, maxInt64}, {minT + (maxT-minT)/3, maxT - (maxT-minT)/3}} {
						want := expect(accepted, rg[0], rg[1], dir, contains)
						if needle == only && rg[0] == minInt64 && len(want) != 1 {
							t.Fatalf("%s: %d lines hold the one-line needle", enc, len(want))
						}
						got := collect(t, src.it(rg[0], rg[1], dir, nil).Prefilter([]byte(needle)))
						diffEntries(t, fmt.Sprintf("%s %s: Prefilter(%q) %v", enc, src.name, needle, dir), got, want)
						// With a filter that asks for more than the needle.
						both := func(s string) bool { return contains(s) && strings.Contains(s, "0") }
						got = collect(t, src.it(rg[0], rg[1], dir, func(l []byte) bool {
							return bytes.Contains(l, []byte(needle)) && bytes.Contains(l, []byte("0"))
						}).Prefilter([]byte(needle)))
						diffEntries(t, fmt.Sprintf("%s %s: Prefilter(%q) with filter %v", enc, src.name, needle, dir), got, expect(accepted, rg[0], rg[1], dir, both))
					}
				}
			}
		}
		if len(h.entries) == 0 {
			t.Fatalf("%s: the head block is empty; the test means to read one", enc)
		}
		check(source{"head", headIt})
		c := encodeDecode(t, h)
		check(source{"chunk", func(from, through int64, dir logproto.Direction, f LineFilter) *Iterator {
			return c.Iterator(testStream, from, through, dir, f)
		}})
	}
}

// TestPrefilterCorruptLines checks that a block whose lines part is damaged is an error for a
// prefiltered scan too, which decodes the lines before anything else.
func TestPrefilterCorruptLines(t *testing.T) {
	h, _ := buildHead(t, EncZstd, 16<<10, testLines(t, 300, 5))
	b, err := h.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	m := c.ix.Blocks[0]
	// Damage the last byte of block 0 (its lines part) and fix the CRC so that the codec,
	// not the checksum, finds it.
	bad := append([]byte(nil), b...)
	bad[int(m.Offset)+m.Length-1] ^= 0xff
	bad[int(m.Offset)+m.Length-2] ^= 0x5a
	c2, err := Decode(bad)
	if err != nil {
		t.Fatal(err)
	}
	c2.ix.Blocks[0].CRC = checksum(bad[m.Offset : int(m.Offset)+m.Length])
	it := c2.Iterator(testStream, minInt64, maxInt64, logproto.Forward, nil).Prefilter([]byte("not in any line"))
	for it.Next() {
	}
	if err := it.Err(); err == nil || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "read block 0") {
		t.Fatalf("Err() = %v, want a corrupt block 0", err)
	}
	it.Close()
}

// BenchmarkIterateFilterPrefilter is BenchmarkIterateFilter with the filter's substring given
// to Prefilter, so each block is searched once instead of line by line.
func BenchmarkIterateFilterPrefilter(b *testing.B) {
	for _, enc := range []Encoding{EncNone, EncS2, EncZstd} {
		b.Run(enc.String(), func(b *testing.B) {
			c := fullChunk(b, enc, 20000)
			b.SetBytes(int64(c.UncompressedSize()))
			b.ReportAllocs()
			for b.Loop() {
				it := c.Iterator(testStream, minInt64, maxInt64, logproto.Forward, containsNeedle).Prefilter(needle)
				n := 0
				for it.Next() {
					n++
				}
				if it.Err() != nil || n == 0 {
					b.Fatalf("matched %d lines, err %v", n, it.Err())
				}
				it.Close()
			}
		})
	}
}

// BenchmarkIterateRareNeedle scans a chunk for a needle in no line, the shape of the storage
// benchmark's `|= "OutOfMemoryError"` over streams that never log it: with the filter alone
// (every entry decoded and tested) and with the needle as prefilter (each block's lines
// searched once, and the rest of the block not decoded).
func BenchmarkIterateRareNeedle(b *testing.B) {
	rare := []byte("OutOfMemoryError")
	for _, enc := range []Encoding{EncNone, EncZstd} {
		c := fullChunk(b, enc, 20000)
		for _, pre := range []bool{false, true} {
			name := enc.String() + "/filter"
			if pre {
				name = enc.String() + "/prefilter"
			}
			b.Run(name, func(b *testing.B) {
				b.SetBytes(int64(c.UncompressedSize()))
				b.ReportAllocs()
				for b.Loop() {
					it := c.Iterator(testStream, minInt64, maxInt64, logproto.Forward, func(l []byte) bool { return bytes.Contains(l, rare) })
					if pre {
						it.Prefilter(rare)
					}
					for it.Next() {
						b.Fatal("matched a line")
					}
					if it.Err() != nil {
						b.Fatal(it.Err())
					}
					it.Close()
				}
			})
		}
	}
}
