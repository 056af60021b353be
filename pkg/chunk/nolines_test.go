package chunk

import (
	"math/rand/v2"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
)

// TestWithoutLines checks that an iterator told its caller reads no line returns the same
// entries (timestamps, structured metadata, order) as one that decodes everything, with empty
// lines, for every codec, both directions and parts of the range; for blocks whose lines are
// separated by '\n', by NUL, or counted in a length column; with stamps, hex runs, out-of-order
// blocks and repeated timestamps. From a stored chunk it must decompress less.
func TestWithoutLines(t *testing.T) {
	kinds := []struct {
		name  string
		patch func(i int, line string) string
	}{
		{"newline separated", nil},
		{"NUL separated", func(i int, line string) string {
			if i%50 == 7 {
				return line + "\n\tat com.example.Main.run(Main.java:42)"
			}
			return line
		}},
		{"length column", func(i int, line string) string {
			switch i % 50 {
			case 7:
				return line + "\n\tat com.example.Main.run(Main.java:42)"
			case 8:
				return line + "\x00"
			}
			return line
		}},
	}
	for _, enc := range Encodings() {
		for ki, kind := range kinds {
			t.Run(enc.String()+"/"+kind.name, func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(ki), uint64(enc)))
				es := append(testLines(t, 600, uint64(ki)), hexLines(t, 600, uint64(ki))...)
				for i := range es {
					if kind.patch != nil {
						es[i].Line = kind.patch(i, es[i].Line)
					}
					if i%7 == 3 {
						es[i].StructuredMetadata = labels.FromStrings("detected_level", []string{"info", "warn", "error"}[r.IntN(3)])
					}
					if i > 0 && r.IntN(15) == 0 {
						es[i].Timestamp = es[i-1].Timestamp
					}
				}
				shuffleWindow(r, es, 2+r.IntN(100))
				h, accepted := buildHead(t, enc, 8<<10+r.IntN(24<<10), es)
				c := encodeDecode(t, h)
				minT, maxT := c.Bounds()
				ranges := [][2]int64{{minT, maxT + 1}}
				for range 3 {
					a := minT + r.Int64N(maxT-minT+1)
					ranges = append(ranges, [2]int64{a, a + r.Int64N(maxT-a+2)})
				}
				for _, rg := range ranges {
					for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
						want := expect(accepted, rg[0], rg[1], dir, nil)
						for i := range want {
							want[i].Line = ""
						}
						full := c.Iterator(testStream, rg[0], rg[1], dir, nil)
						collect(t, full)
						it := c.Iterator(testStream, rg[0], rg[1], dir, nil).WithoutLines()
						diffEntries(t, "chunk", collect(t, it), want)
						if got, all := it.Decoded(), full.Decoded(); got.Blocks != all.Blocks || got.Entries != all.Entries ||
							(enc != EncNone && all.Blocks > 0 && got.Bytes >= all.Bytes/2) {
							t.Errorf("decoded %+v without lines, %+v with them: want the same blocks and entries, under half the bytes", got, all)
						}
						diffEntries(t, "head", collect(t, h.Iterator(testStream, rg[0], rg[1], dir, nil).WithoutLines()), want)
					}
				}
				// A line filter or a needle reads lines: WithoutLines must not take them away.
				filter := func(line []byte) bool { return len(line) > 100 }
				want := expect(accepted, minT, maxT+1, logproto.Forward, func(l string) bool { return len(l) > 100 })
				diffEntries(t, "filtered", collect(t, c.Iterator(testStream, minT, maxT+1, logproto.Forward, filter).WithoutLines()), want)
			})
		}
	}
}

// BenchmarkIterateWithoutLines walks every entry of a chunk, as count_over_time does, with and
// without the lines.
func BenchmarkIterateWithoutLines(b *testing.B) {
	c := fullChunk(b, EncZstd, 20000)
	minT, maxT := c.Bounds()
	for _, noLines := range []bool{false, true} {
		name := "lines"
		if noLines {
			name = "without"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(c.UncompressedSize()))
			b.ReportAllocs()
			for b.Loop() {
				it := c.Iterator(testStream, minT, maxT+1, logproto.Forward, nil)
				if noLines {
					it.WithoutLines()
				}
				n := 0
				for it.Next() {
					n++
				}
				if it.Err() != nil || n != c.Entries() {
					b.Fatalf("%d entries, err %v", n, it.Err())
				}
				it.Close()
			}
		})
	}
}

// TestHeadInOrder checks Head.InOrder against Chunk.InOrder of the head encoded, after every
// append of streams written in order, with late entries, and with resent ones.
func TestHeadInOrder(t *testing.T) {
	for seed := range uint64(6) {
		r := rand.New(rand.NewPCG(seed, 99))
		h, err := NewHead(EncSnappy, 1<<10, 0)
		if err != nil {
			t.Fatal(err)
		}
		es := testLines(t, 300, seed)
		var sawOut bool
		for i := range es {
			e := es[i]
			if seed%3 != 0 && r.IntN(60) == 0 && i > 10 {
				e.Timestamp = es[i-1-r.IntN(10)].Timestamp - int64(r.IntN(2)) // late, or a resend's time
			}
			if err := h.Append(&e); err != nil && err != ErrDuplicate {
				t.Fatal(err)
			}
			if got, want := h.InOrder(), encodeDecode(t, h).InOrder(); got != want {
				t.Fatalf("seed %d, after entry %d: Head.InOrder %v, the encoded chunk's %v", seed, i, got, want)
			}
			sawOut = sawOut || !h.InOrder()
		}
		if seed%3 == 0 && sawOut {
			t.Errorf("seed %d: entries in order, yet the head was out of order", seed)
		}
		if seed%3 != 0 && !sawOut {
			t.Errorf("seed %d: late entries, yet the head stayed in order", seed)
		}
	}
}
