package chunk

import (
	"bytes"
	"testing"

	"github.com/sluicelog/sluice/pkg/logproto"
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
	c := fullChunk(t, DefaultEncoding, 3000)
	for _, tt := range []struct {
		name   string
		dir    logproto.Direction
		filter LineFilter
		max    float64
	}{
		{"forward filtered", logproto.Forward, containsNeedle, 30},
		{"backward filtered", logproto.Backward, containsNeedle, 30},
		{"forward all", logproto.Forward, nil, 30},
		{"backward all", logproto.Backward, nil, 30},
	} {
		allocs := testing.AllocsPerRun(5, func() {
			it := c.Iterator(testStream, minInt64, maxInt64, tt.dir, tt.filter)
			for it.Next() {
				e := it.At()
				_ = e.StructuredMetadata.Len()
			}
			if err := it.Err(); err != nil {
				t.Fatal(err)
			}
			it.Close()
		})
		if raceEnabled {
			tt.max += 20 * float64(len(c.Blocks())) // buffers dropped by the race detector's pool
		}
		if allocs > tt.max {
			t.Errorf("%s: %.0f allocations per scan of %d entries, want at most %.0f", tt.name, allocs, c.Entries(), tt.max)
		}
		t.Logf("%s: %.0f allocations per scan", tt.name, allocs)
	}
}
