package chunk

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
)

var testStream = labels.FromStrings("app", "shop", "namespace", "prod")

// buildHead appends entries to a new head and returns it with the entries it accepted.
func buildHead(tb testing.TB, enc Encoding, blockSize int, entries []logproto.Entry) (*Head, []logproto.Entry) {
	tb.Helper()
	h, err := NewHead(enc, blockSize, 0)
	if err != nil {
		tb.Fatalf("NewHead(%v, %d, 0): %v", enc, blockSize, err)
	}
	var accepted []logproto.Entry
	for i := range entries {
		switch err := h.Append(&entries[i]); {
		case err == nil:
			accepted = append(accepted, entries[i])
		case errors.Is(err, ErrDuplicate):
		default:
			tb.Fatalf("Append(entry %d): %v", i, err)
		}
	}
	return h, accepted
}

// encodeDecode encodes h and decodes the result.
func encodeDecode(tb testing.TB, h *Head) *Chunk {
	tb.Helper()
	b, err := h.Bytes()
	if err != nil {
		tb.Fatalf("Bytes(): %v", err)
	}
	c, err := Decode(b)
	if err != nil {
		tb.Fatalf("Decode(): %v", err)
	}
	return c
}

// collect drains it, copying every entry, and closes it.
func collect(tb testing.TB, it *Iterator) []logproto.Entry {
	tb.Helper()
	var out []logproto.Entry
	for it.Next() {
		e := it.At()
		out = append(out, logproto.Entry{Timestamp: e.Timestamp, Line: strings.Clone(e.Line), StructuredMetadata: e.StructuredMetadata.Copy()})
	}
	if err := it.Err(); err != nil {
		tb.Fatalf("iterate: %v", err)
	}
	if err := it.Close(); err != nil {
		tb.Fatalf("Close(): %v", err)
	}
	return out
}

// expect returns the entries of accepted in [from, through) in the order an iterator in dir
// must return them: by time, ties in append order, and backward exactly reversed.
func expect(accepted []logproto.Entry, from, through int64, dir logproto.Direction, filter func(string) bool) []logproto.Entry {
	var out []logproto.Entry
	for _, e := range accepted {
		if e.Timestamp >= from && e.Timestamp < through && (filter == nil || filter(e.Line)) {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b logproto.Entry) int { return cmpInt64(a.Timestamp, b.Timestamp) })
	if dir == logproto.Backward {
		slices.Reverse(out)
	}
	return out
}

func diffEntries(tb testing.TB, what string, got, want []logproto.Entry) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("%s: got %d entries, want %d", what, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Timestamp != w.Timestamp || g.Line != w.Line || !labels.Equal(g.StructuredMetadata, w.StructuredMetadata) {
			tb.Fatalf("%s: entry %d = {%d %q %v}, want {%d %q %v}", what, i,
				g.Timestamp, g.Line, g.StructuredMetadata, w.Timestamp, w.Line, w.StructuredMetadata)
		}
	}
}

// shuffleWindow moves entries out of order within windows of w, as an ingester sees from
// several promtail batches racing.
func shuffleWindow(r *rand.Rand, es []logproto.Entry, w int) {
	for i := 0; i < len(es); i += w {
		win := es[i:min(i+w, len(es))]
		r.Shuffle(len(win), func(a, b int) { win[a], win[b] = win[b], win[a] })
	}
}

// TestRoundTrip is a property test: random entries (out of order, with repeated timestamps
// and exact duplicates) appended with a random block size come back in order, for every
// codec, both directions and random time ranges, from the head and from the decoded chunk.
func TestRoundTrip(t *testing.T) {
	for _, enc := range Encodings() {
		t.Run(enc.String(), func(t *testing.T) {
			for seed := range uint64(4) {
				r := rand.New(rand.NewPCG(seed, uint64(enc)))
				es := testLines(t, 50+r.IntN(400), seed)
				for i := range es {
					switch r.IntN(20) {
					case 0: // same timestamp as the previous entry, different line
						if i > 0 {
							es[i].Timestamp = es[i-1].Timestamp
						}
					case 1: // exact duplicate of the previous entry
						if i > 0 {
							es[i] = es[i-1]
						}
					}
				}
				if seed%2 == 1 {
					shuffleWindow(r, es, 2+r.IntN(200))
				}
				blockSize := 1<<10 + r.IntN(16<<10)
				h, accepted := buildHead(t, enc, blockSize, es)
				if h.Entries() != len(accepted) {
					t.Fatalf("Entries() = %d, want %d", h.Entries(), len(accepted))
				}
				minT, maxT := h.Bounds()
				ranges := [][2]int64{{minT, maxT + 1}, {minInt64, maxInt64}}
				for range 4 {
					a := minT + r.Int64N(maxT-minT+1)
					b := a + r.Int64N(maxT-a+2)
					ranges = append(ranges, [2]int64{a, b})
				}
				check := func(name string, c interface {
					Iterator(labels.Labels, int64, int64, logproto.Direction, LineFilter) *Iterator
				}) {
					for _, rg := range ranges {
						for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
							it := c.Iterator(testStream, rg[0], rg[1], dir, nil)
							if !labels.Equal(it.Labels(), testStream) || it.StreamHash() != testStream.Hash() {
								t.Fatalf("iterator labels %v hash %d, want %v %d", it.Labels(), it.StreamHash(), testStream, testStream.Hash())
							}
							diffEntries(t, name, collect(t, it), expect(accepted, rg[0], rg[1], dir, nil))
						}
					}
				}
				// Before any cut, with some cut blocks and a partial head block, then encoded.
				check("head", h)
				c := encodeDecode(t, h)
				check("chunk", c)
				if c.Entries() != len(accepted) || c.Encoding() != enc {
					t.Fatalf("chunk has %d entries in %v, want %d in %v", c.Entries(), c.Encoding(), len(accepted), enc)
				}
				if cmin, cmax := c.Bounds(); cmin != minT || cmax != maxT {
					t.Fatalf("chunk Bounds() = %d, %d, want %d, %d", cmin, cmax, minT, maxT)
				}
			}
		})
	}
}

// TestHeadPartialBlock iterates a head holding both cut blocks and an uncut head block.
func TestHeadPartialBlock(t *testing.T) {
	es := testLines(t, 300, 7)
	shuffleWindow(rand.New(rand.NewPCG(1, 2)), es, 40)
	h, accepted := buildHead(t, EncSnappy, 8<<10, es)
	if h.Blocks() == 0 || len(h.entries) == 0 {
		t.Fatalf("head has %d cut blocks and %d head entries, want both non-zero", h.Blocks(), len(h.entries))
	}
	for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
		diffEntries(t, dir.String(), collect(t, h.Iterator(testStream, minInt64, maxInt64, dir, nil)),
			expect(accepted, minInt64, maxInt64, dir, nil))
	}
	// An iterator is a snapshot: appends after its creation neither show up nor disturb it.
	it := h.Iterator(testStream, minInt64, maxInt64, logproto.Forward, nil)
	more := testLines(t, 200, 8)
	for i := range more {
		more[i].Timestamp -= 1e9
		if err := h.Append(&more[i]); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	diffEntries(t, "snapshot", collect(t, it), expect(accepted, minInt64, maxInt64, logproto.Forward, nil))
}

func TestOutOfOrderBlocksOverlap(t *testing.T) {
	es := testLines(t, 2000, 3)
	// Reverse the whole stream: every block overlaps none of its neighbours in the wrong
	// order, and then interleave: odd entries arrive a block late.
	slices.Reverse(es)
	h, accepted := buildHead(t, EncZstd, 4<<10, es)
	// Late stragglers far in the past land in the last blocks and overlap the first ones.
	late := testLines(t, 50, 4)
	for i := range late {
		if err := h.Append(&late[i]); err != nil {
			t.Fatalf("Append(late %d): %v", i, err)
		}
		accepted = append(accepted, late[i])
	}
	c := encodeDecode(t, h)
	overlaps := 0
	bs := c.Blocks()
	for i := range bs {
		for j := i + 1; j < len(bs); j++ {
			if bs[i].MinT <= bs[j].MaxT && bs[j].MinT <= bs[i].MaxT {
				overlaps++
			}
		}
	}
	if overlaps == 0 {
		t.Fatalf("no overlapping blocks among %d; the test does not test merging", len(bs))
	}
	for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
		got := collect(t, c.Iterator(testStream, minInt64, maxInt64, dir, nil))
		diffEntries(t, dir.String(), got, expect(accepted, minInt64, maxInt64, dir, nil))
		for i := 1; i < len(got); i++ {
			if (dir == logproto.Forward && got[i].Timestamp < got[i-1].Timestamp) ||
				(dir == logproto.Backward && got[i].Timestamp > got[i-1].Timestamp) {
				t.Fatalf("%v: entry %d at %d after %d", dir, i, got[i].Timestamp, got[i-1].Timestamp)
			}
		}
	}
}

func TestDuplicates(t *testing.T) {
	h, err := NewHead(EncS2, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	app := func(ts int64, line string) error {
		t.Helper()
		return h.Append(&logproto.Entry{Timestamp: ts, Line: line})
	}
	steps := []struct {
		name string
		ts   int64
		line string
		want error
	}{
		{"first", 10, "a", nil},
		{"in order", 20, "b", nil},
		{"exact duplicate of last", 20, "b", ErrDuplicate},
		{"exact duplicate out of order", 10, "a", ErrDuplicate},
		{"same time other line", 10, "c", nil},
		{"same line other time", 11, "a", nil},
		{"duplicate of the one with the same time", 10, "c", ErrDuplicate},
		{"prefix of a line is not a duplicate", 20, "", nil},
	}
	for _, s := range steps {
		if err := app(s.ts, s.line); !errors.Is(err, s.want) || (err != nil) != (s.want != nil) {
			t.Errorf("%s: Append(%d, %q) = %v, want %v", s.name, s.ts, s.line, err, s.want)
		}
	}
	if h.Entries() != 5 {
		t.Errorf("Entries() = %d, want 5", h.Entries())
	}
	// Once its block is cut, an entry is no longer checked: Loki's head only dedupes within
	// the head block, and the querier dedupes the rest.
	if err := h.CutBlock(); err != nil {
		t.Fatal(err)
	}
	if err := app(10, "a"); err != nil {
		t.Errorf("Append after cut = %v, want nil", err)
	}
	got := collect(t, h.Iterator(testStream, 0, 100, logproto.Forward, nil))
	var lines []string
	for _, e := range got {
		lines = append(lines, e.Line)
	}
	if want := []string{"a", "c", "a", "a", "b", ""}; !slices.Equal(lines, want) {
		t.Errorf("lines = %q, want %q", lines, want)
	}
}

// TestTimeRange checks the bounds: from is inclusive, through exclusive, in both directions.
func TestTimeRange(t *testing.T) {
	h, err := NewHead(EncZstd, 64, 0) // a tiny block size: several blocks
	if err != nil {
		t.Fatal(err)
	}
	for ts := int64(10); ts <= 100; ts += 10 {
		if err := h.Append(&logproto.Entry{Timestamp: ts, Line: strings.Repeat("x", 20)}); err != nil {
			t.Fatal(err)
		}
	}
	c := encodeDecode(t, h)
	if len(c.Blocks()) < 3 {
		t.Fatalf("%d blocks, want several", len(c.Blocks()))
	}
	tests := []struct {
		name          string
		from, through int64
		want          []int64
	}{
		{"exact bounds", 10, 100, []int64{10, 20, 30, 40, 50, 60, 70, 80, 90}},
		{"through past the end", 10, 101, []int64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}},
		{"between entries", 15, 45, []int64{20, 30, 40}},
		{"single", 50, 51, []int64{50}},
		{"empty at an entry", 50, 50, nil},
		{"before all", 0, 10, nil},
		{"after all", 101, 200, nil},
		{"inverted", 60, 20, nil},
	}
	for _, tt := range tests {
		for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
			var got []int64
			for _, e := range collect(t, c.Iterator(testStream, tt.from, tt.through, dir, nil)) {
				got = append(got, e.Timestamp)
			}
			want := slices.Clone(tt.want)
			if dir == logproto.Backward {
				slices.Reverse(want)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: Iterator(%d, %d, %v) = %v, want %v", tt.name, tt.from, tt.through, dir, got, want)
			}
		}
	}
}

func TestLineFilter(t *testing.T) {
	es := testLines(t, 1000, 11)
	h, accepted := buildHead(t, DefaultEncoding, 16<<10, es)
	c := encodeDecode(t, h)
	calls := 0
	filter := func(line []byte) bool { calls++; return strings.Contains(string(line), "POST") }
	for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
		calls = 0
		got := collect(t, c.Iterator(testStream, minInt64, maxInt64, dir, filter))
		want := expect(accepted, minInt64, maxInt64, dir, func(s string) bool { return strings.Contains(s, "POST") })
		if len(want) == 0 {
			t.Fatal("test data has no POST lines")
		}
		diffEntries(t, dir.String(), got, want)
		if calls != len(accepted) {
			t.Errorf("%v: filter called %d times, want once per entry (%d)", dir, calls, len(accepted))
		}
	}
}

func TestStructuredMetadataSymbols(t *testing.T) {
	h, err := NewHead(EncNone, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	md := labels.FromStrings("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736", "user", "alice")
	for i := range 1000 {
		if err := h.Append(&logproto.Entry{Timestamp: int64(i), Line: "line", StructuredMetadata: md}); err != nil {
			t.Fatal(err)
		}
	}
	c := encodeDecode(t, h)
	if n := strings.Count(string(c.Bytes()), "4bf92f3577b34da6a3ce929d0e0e4736"); n != 1 {
		t.Errorf("metadata value stored %d times in an uncompressed chunk, want once (in the symbol table)", n)
	}
	if len(c.ix.syms) != 4 {
		t.Errorf("symbol table %q, want 4 symbols", c.ix.syms)
	}
	got := collect(t, c.Iterator(testStream, 0, 1000, logproto.Backward, nil))
	for i, e := range got {
		if !labels.Equal(e.StructuredMetadata, md) {
			t.Fatalf("entry %d metadata %v, want %v", i, e.StructuredMetadata, md)
		}
	}
}

// TestStructuredMetadataRuns: entries whose metadata repeats the previous entry's, changes,
// comes back, disappears and returns (the head reuses the previous entry's symbol references
// when the metadata repeats) all come back with their own metadata, across several blocks and
// from the head block too.
func TestStructuredMetadataRuns(t *testing.T) {
	h, err := NewHead(EncZstd, 4<<10, 0)
	if err != nil {
		t.Fatal(err)
	}
	levels := []labels.Labels{
		labels.FromStrings("detected_level", "info"),
		labels.FromStrings("detected_level", "error"),
		labels.EmptyLabels(),
		labels.FromStrings("detected_level", "info", "trace_id", "abc"),
	}
	var want []logproto.Entry
	for i := range 2000 {
		// Runs of 1 to 4 equal values, in an order that revisits each.
		md := levels[(i/(1+i%4))%len(levels)]
		e := logproto.Entry{Timestamp: int64(i), Line: fmt.Sprintf("line %d", i), StructuredMetadata: md}
		if err := h.Append(&e); err != nil {
			t.Fatal(err)
		}
		want = append(want, e)
	}
	check := func(what string, got []logproto.Entry) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d entries, want %d", what, len(got), len(want))
		}
		for i := range got {
			if !labels.Equal(got[i].StructuredMetadata, want[i].StructuredMetadata) {
				t.Fatalf("%s: entry %d metadata %v, want %v", what, i, got[i].StructuredMetadata, want[i].StructuredMetadata)
			}
		}
	}
	check("head", collect(t, h.Iterator(testStream, 0, 2000, logproto.Forward, nil)))
	check("chunk", collect(t, encodeDecode(t, h).Iterator(testStream, 0, 2000, logproto.Forward, nil)))
}

func TestHeadSizes(t *testing.T) {
	// A small target and block size exercise the same logic as the defaults, faster.
	const blockSize, target = 32 << 10, 256 << 10
	es := testLines(t, 5000, 5)
	h, err := NewHead(EncSnappy, blockSize, target)
	if err != nil {
		t.Fatal(err)
	}
	raw := 0
	for i := range es {
		if !h.SpaceFor(&es[i]) {
			break
		}
		if err := h.Append(&es[i]); err != nil {
			t.Fatal(err)
		}
		raw += len(es[i].Line)
		es[i].StructuredMetadata.Range(func(l labels.Label) { raw += len(l.Name) + len(l.Value) })
	}
	if h.UncompressedSize() != raw {
		t.Errorf("UncompressedSize() = %d, want %d", h.UncompressedSize(), raw)
	}
	if h.Entries() == len(es) {
		t.Fatalf("SpaceFor never reported the chunk full after %d entries", len(es))
	}
	est := h.CompressedSize()
	b, err := h.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if est < len(b)*9/10 || est > len(b)*11/10 {
		t.Errorf("CompressedSize() = %d, encoded size %d: more than 10%% off", est, len(b))
	}
	// The head block's size is an estimate until it is cut, so the chunk may end a little
	// past the target.
	if len(b) > target*102/100 || len(b) < target*9/10 {
		t.Errorf("encoded chunk is %d bytes, want within 2%% of the %d target", len(b), target)
	}
}

func TestNewHeadErrors(t *testing.T) {
	if _, err := NewHead(Encoding(200), 0, 0); !errors.Is(err, ErrUnsupportedEncoding) {
		t.Errorf("NewHead(200) = %v, want ErrUnsupportedEncoding", err)
	}
	if _, err := NewHead(EncZstd, -1, 0); err == nil {
		t.Error("NewHead(block size -1) = nil error")
	}
}

func TestParseEncoding(t *testing.T) {
	for _, enc := range Encodings() {
		got, err := ParseEncoding(enc.String())
		if err != nil || got != enc {
			t.Errorf("ParseEncoding(%q) = %v, %v, want %v", enc.String(), got, err, enc)
		}
	}
	check := func(name string, want Encoding, wantErr error) {
		t.Helper()
		got, err := ParseEncoding(name)
		if wantErr != nil {
			if !errors.Is(err, wantErr) {
				t.Errorf("ParseEncoding(%q) = %v, %v, want error %v", name, got, err, wantErr)
			}
			return
		}
		if err != nil || got != want {
			t.Errorf("ParseEncoding(%q) = %v, %v, want %v", name, got, err, want)
		}
	}
	check("ZSTD", EncZstd, nil)
	check("gzip", EncGzip, nil)
	check("flate", EncFlate, nil)
	check("snappy", EncSnappy, nil)
	check("none", EncNone, nil)
	for _, lz4 := range []string{"lz4", "LZ4", "lz4-64k", "lz4-256k", "lz4-1M", "lz4-4M"} {
		check(lz4, EncLZ4, nil)
	}
	if _, err := ParseEncoding("brotli"); err == nil || errors.Is(err, ErrUnsupportedEncoding) {
		t.Errorf("ParseEncoding(brotli) = %v, want an unknown-encoding error", err)
	}
}

// TestHeadConcurrentIterate reads a head from other goroutines while entries are appended
// and blocks cut, as queries read an ingester's streams; the ingester's stream lock
// serialises Append and Iterator creation, and the race detector checks the rest.
func TestHeadConcurrentIterate(t *testing.T) {
	h, err := NewHead(EncS2, 4<<10, 0)
	if err != nil {
		t.Fatal(err)
	}
	es := testLines(t, 1500, 12)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				mu.Lock()
				it := h.Iterator(testStream, minInt64, maxInt64, logproto.Direction(g), nil)
				mu.Unlock()
				prev, n := int64(0), 0
				for it.Next() {
					e := it.At()
					if n > 0 && ((g == int(logproto.Forward) && e.Timestamp < prev) || (g == int(logproto.Backward) && e.Timestamp > prev)) {
						t.Errorf("out of order: %d after %d", e.Timestamp, prev)
						return
					}
					prev, n = e.Timestamp, n+1
				}
				if err := it.Err(); err != nil {
					t.Error(err)
					return
				}
				_ = it.Close()
			}
		}()
	}
	for i := range es {
		mu.Lock()
		err := h.Append(&es[i])
		mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
}

// TestEncodeTwice checks that Encode leaves the head usable: encoding again gives the same
// bytes, and entries appended afterwards appear in the next encoding.
func TestEncodeTwice(t *testing.T) {
	es := testLines(t, 60, 13)
	h, accepted := buildHead(t, EncZstd, 2<<10, es[:40])
	b1, err := h.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	b2, err := h.Encode([]byte("prefix"))
	if err != nil {
		t.Fatal(err)
	}
	if string(b2[:6]) != "prefix" || !bytes.Equal(b1, b2[6:]) {
		t.Fatalf("second Encode differs from the first")
	}
	for i := 40; i < len(es); i++ {
		if err := h.Append(&es[i]); err != nil {
			t.Fatal(err)
		}
		accepted = append(accepted, es[i])
	}
	c := encodeDecode(t, h)
	diffEntries(t, "after more appends", collect(t, c.Iterator(testStream, minInt64, maxInt64, logproto.Forward, nil)),
		expect(accepted, minInt64, maxInt64, logproto.Forward, nil))
	if _, err := Decode(b1); err != nil {
		t.Errorf("first encoding no longer decodes: %v", err)
	}
}
