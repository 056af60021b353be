package chunk

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sluicelog/sluice/pkg/logproto"
)

// TestBlockLayoutChoices checks the choices the head makes when it writes a block
// (the line separator, the delta scale and the number of low-byte planes) by reading them
// back from the raw block, and that every choice round-trips through a chunk in both
// directions.
func TestBlockLayoutChoices(t *testing.T) {
	const t0 = int64(1_790_000_000_000_000_000)
	r := rand.New(rand.NewPCG(5, 6))
	lines := func(n int, extra string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("level=info msg=%q i=%d n=%d", "request served", i, r.IntN(1000))
		}
		if extra != "" {
			out[n/2] += extra
		}
		return out
	}
	times := func(n int, step func() int64) []int64 {
		out := make([]int64, n)
		ts := t0
		for i := range out {
			out[i] = ts
			ts += step()
		}
		return out
	}
	for _, tt := range []struct {
		name    string
		lines   []string
		times   []int64
		sep     int // -1: lengths
		exp, k  byte
		entries int
	}{
		{"plain lines, nanosecond gaps of seconds", lines(500, ""), times(500, func() int64 { return 1 + r.Int64N(8e9) }), '\n', 0, 4, 500},
		{"a line with a newline", lines(500, "\n\tat Foo.bar(Foo.java:1)"), times(500, func() int64 { return 1 + r.Int64N(8e9) }), 0, 0, 4, 500},
		{"newline and NUL", lines(500, "\n\x00"), times(500, func() int64 { return 1 + r.Int64N(8e9) }), -1, 0, 4, 500},
		// A steady cadence: the byte above the three nearly random ones takes two values.
		{"every 10s, jittered to the nanosecond", lines(500, ""), times(500, func() int64 { return 10e9 + r.Int64N(1e5) }), '\n', 0, 3, 500},
		{"millisecond stamps", lines(500, ""), times(500, func() int64 { return 1e6 * (1 + r.Int64N(4000)) }), '\n', 6, 1, 500},
		{"millisecond stamps every second", lines(500, ""), times(500, func() int64 { return 1e6 * (1000 + r.Int64N(3)) }), '\n', 6, 0, 500},
		{"second stamps, microsecond gaps", lines(500, ""), times(500, func() int64 { return 1e3 * (1 + r.Int64N(1e6)) }), '\n', 3, 2, 500},
		{"equal timestamps", lines(500, ""), times(500, func() int64 { return 0 }), '\n', 9, 0, 500},
		{"one entry", lines(1, ""), times(1, func() int64 { return 0 }), '\n', 0, 0, 1},
		{"empty lines", make([]string, 50), times(50, func() int64 { return 1 + r.Int64N(1000) }), '\n', 0, 1, 50},
		{"huge gaps", lines(3, ""), []int64{math.MinInt64 + 5, 0, math.MaxInt64}, '\n', 0, 7, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var es []logproto.Entry
			for i, l := range tt.lines {
				es = append(es, logproto.Entry{Timestamp: tt.times[i], Line: l})
			}
			h, accepted := buildHead(t, EncZstd, 1<<20, es)
			if len(accepted) != tt.entries {
				t.Fatalf("%d entries accepted, want %d", len(accepted), tt.entries)
			}
			raw, n, _, _ := h.sortedRaw(nil, minInt64, maxInt64, true)
			if n != tt.entries {
				t.Fatalf("sortedRaw wrote %d entries, want %d", n, tt.entries)
			}
			lay, err := columnStarts(raw, Version, n)
			if err != nil {
				t.Fatal(err)
			}
			if lay.sep != tt.sep {
				t.Errorf("separator %d, want %d", lay.sep, tt.sep)
			}
			_, pos := varint(raw, lay.ts)
			if exp, k := raw[pos], raw[pos+1]; exp != tt.exp || k != tt.k {
				t.Errorf("scale 10^%d and %d planes, want 10^%d and %d", exp, k, tt.exp, tt.k)
			}
			c := encodeDecode(t, h)
			for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
				diffEntries(t, fmt.Sprint(dir), collect(t, c.Iterator(testStream, minInt64, maxInt64, dir, nil)), expect(accepted, minInt64, maxInt64, dir, nil))
			}
			// The lines with a separator in them survive a filtered, prefiltered scan too.
			want := expect(accepted, minInt64, maxInt64, logproto.Forward, func(l string) bool { return strings.Contains(l, "\n") })
			got := collect(t, c.Iterator(testStream, minInt64, maxInt64, logproto.Forward, nil).Prefilter([]byte("\n")))
			diffEntries(t, "prefilter \\n", got, want)
		})
	}
}
