package chunk

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
)

const (
	hex16 = "0123456789abcdef"
	hex32 = "4bf92f3577b34da6a3ce929d0e0e4736"
)

func TestAppendHexRuns(t *testing.T) {
	for _, tt := range []struct {
		line string
		want []string
	}{
		{hex32, []string{hex32}},
		{`{"trace_id":"` + hex32 + `","span_id":"` + hex16 + `"}`, []string{hex32, hex16}},
		{"id=" + hex16[:15] + " x", nil},                       // 15 digits: too short
		{"id=" + hex16 + "f x", []string{hex16 + "f"}},         // odd length
		{"x" + hex32, nil},                                     // a letter before: not a whole word
		{hex32 + "_", nil},                                     // '_' after
		{hex32 + "g", nil},                                     // a letter that is not a digit after
		{"9" + strings.ToUpper(hex32), nil},                    // capitals are not packed
		{"a-" + hex32 + "-b " + hex16, []string{hex32, hex16}}, // punctuation around
		{hex16 + hex16 + "Z", nil},
		{strings.Repeat("f", 40) + " " + strings.Repeat("0", 16), []string{strings.Repeat("f", 40), strings.Repeat("0", 16)}},
		{"", nil},
		{"no runs in this line at all, deadbeef is short", nil},
	} {
		var got []string
		for _, r := range appendHexRuns(nil, []byte(tt.line), 0, -1, -1) {
			got = append(got, tt.line[r.at:r.at+r.n])
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("runs of %q = %q, want %q", tt.line, got, tt.want)
		}
	}
	// The stamp's range is left alone, and offsets count from base.
	line := []byte(hex16 + " " + hex32 + " " + hex16)
	runs := appendHexRuns(nil, line, 100, 17, 20)
	if len(runs) != 2 || runs[0].at != 100 || runs[1].at != 100+17+33 {
		t.Errorf("runs with the second one in a stamp's range = %+v", runs)
	}
}

// randomHex returns n random lowercase hex digits drawn from r.
func randomHex(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = hexDigits[r.IntN(16)]
	}
	return b
}

func TestPackUnpack(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 1; n < 70; n++ {
		run := randomHex(r, n)
		p := appendPacked(nil, run)
		if len(p) != packedLen(n) {
			t.Fatalf("%d digits packed into %d bytes", n, len(p))
		}
		if got := appendUnpacked(nil, p, n); !bytes.Equal(got, run) {
			t.Fatalf("unpacked %q, want %q", got, run)
		}
	}
}

// TestHexSafeNeedle checks the rule against every substring of lines that overlaps a run: none
// may be judged safe to look for in the stored lines.
func TestHexSafeNeedle(t *testing.T) {
	for _, tt := range []struct {
		needle string
		safe   bool
	}{
		{"error", true}, {"OutOfMemoryError", true}, {"level=error", true}, {"GET /api", true},
		{"cafe", false}, {"a", false}, {"7", false}, {"abc-", false}, {"-abc", false}, {`"trace_id":"4bf9`, false},
		{"4bf9\"", false}, {"deadbeef x", false}, {"x deadbeef", false}, {"deadbeefx", true}, {"xdeadbeef", true},
		{"bad_request", true}, {"sha=" + hex16, false}, {"a\x02b", false}, {"", false}, {"faded glory", false},
	} {
		if got := hexSafeNeedle([]byte(tt.needle)); got != tt.safe {
			t.Errorf("hexSafeNeedle(%q) = %v, want %v", tt.needle, got, tt.safe)
		}
	}
	for _, around := range [][2]string{{"id=", " next"}, {`"`, `"`}, {"", ""}, {"[", "]:"}, {"a b ", ". c"}} {
		for _, run := range []string{hex16, hex32, hex16 + "a"} {
			line := around[0] + run + around[1]
			r0, r1 := len(around[0]), len(around[0])+len(run)
			if runs := appendHexRuns(nil, []byte(line), 0, -1, -1); len(runs) != 1 {
				t.Fatalf("%q: %d runs", line, len(runs))
			}
			for i := 0; i < len(line); i++ {
				for j := i + 1; j <= len(line); j++ {
					if i < r1 && j > r0 && hexSafeNeedle([]byte(line[i:j])) {
						t.Fatalf("needle %q overlaps the run in %q but is judged safe", line[i:j], line)
					}
				}
			}
		}
	}
}

// hexLines are lines with hex runs as services write them: a request's trace and span IDs on
// several lines in a row, request IDs, odd lengths, runs beside a stamp, capitals (not packed)
// and runs repeated from far back.
func hexLines(tb testing.TB, n int, seed uint64) []logproto.Entry {
	tb.Helper()
	r := rand.New(rand.NewPCG(seed, seed^0xbeef))
	id := func(n int) string { return string(randomHex(r, n)) }
	ts := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC).UnixNano()
	old := id(32) // comes back now and then, far apart
	stickyID := id(16)
	var trace, span string
	out := make([]logproto.Entry, n)
	for i := range out {
		ts += int64(r.IntN(50_000_000)) + 1
		if r.IntN(3) == 0 {
			trace, span = id(32), id(16)
		}
		var line string
		switch r.IntN(8) {
		case 0:
			line = fmt.Sprintf(`{"ts":"%s","level":"info","msg":"request done","trace_id":"%s","span_id":"%s"}`,
				time.Unix(0, ts).UTC().Format("2006-01-02T15:04:05.000Z07:00"), trace, span)
		case 1:
			line = fmt.Sprintf("ts=%s level=error msg=\"retry\" job_id=%s attempt=%d", time.Unix(0, ts).UTC().Format(time.RFC3339Nano), id(20), r.IntN(5))
		case 2:
			line = fmt.Sprintf("10.0.0.%d - - GET /api/v1/orders HTTP/1.1 200 %d %s", r.IntN(255), r.IntN(9999), id(33))
		case 3:
			line = fmt.Sprintf("%s %s %s", old, strings.ToUpper(id(32)), trace)
		case 4:
			line = fmt.Sprintf("sha256:%s blob pushed, size %d", id(64), r.IntN(1<<20))
		case 5:
			// Digits run into the stamp on either side: no run, the stamp is elided.
			line = fmt.Sprintf("ref=%s%s %s", stickyID, time.Unix(0, ts).UTC().Format("2006-01-02 15:04:05.000000"), stickyID)
		default:
			line = fmt.Sprintf("cache miss for key user:%d (%s)", r.IntN(1000), span)
		}
		out[i] = logproto.Entry{Timestamp: ts, Line: line, StructuredMetadata: labels.EmptyLabels()}
	}
	return out
}

// TestHexRunChunks writes lines with hex runs through the head into chunks of three codecs and
// reads them back, whole, in part, and through filters and needles that may or may not overlap
// a run or a stamp.
func TestHexRunChunks(t *testing.T) {
	es := hexLines(t, 3000, 11)
	plain, packed, n := rawBlocks(t, es)
	if len(packed) > len(plain)*85/100 {
		t.Errorf("raw block of %d bytes with runs packed, %d without", len(packed), len(plain))
	}
	lay, err := columnStarts(packed, Version, n)
	if err != nil || lay.hexMark < 0 || lay.esc < 0 || lay.hexMark == lay.esc {
		t.Fatalf("layout %+v, %v: want stamps and hex runs, with their own marks", lay, err)
	}
	needles := []string{
		"error", "request done", "cache miss", hex32[:8], "a", "f", `"trace_id":"`,
		"sha256:", ":0", "0 ", ")", " (", "HTTP/1.1 200 ", "ts=2026", "job_id=", "\x01", "\x02",
	}
	// A field name with the start of its ID.
	for _, e := range es {
		if i := strings.Index(e.Line, `trace_id":"`); i >= 0 {
			needles = append(needles, e.Line[i:i+len(`trace_id":"`)+4])
			break
		}
	}
	// IDs of hex digits across a stamp's edge, and absent ones.
	for _, e := range es {
		if strings.HasPrefix(e.Line, "ref=") {
			line := e.Line
			needles = append(needles, line[4:24], line[len(line)-16-9:len(line)-16+0], line[len(line)-3-16:])
			sp := strings.LastIndexByte(line, ' ')
			needles = append(needles, line[sp-6:sp]+line[sp+1:], line[4:20]+line[20:24])
			break
		}
	}
	needles = append(needles, hex32, strings.Repeat("0", 16), hex16+"0")
	// Runs of the lines themselves, whole and in part.
	for _, i := range []int{7, 100, 1234, 1500, 2000, 2500, 2999} {
		for _, r := range appendHexRuns(nil, []byte(es[i].Line), 0, -1, -1) {
			run := es[i].Line[r.at : r.at+r.n]
			needles = append(needles, run, run[3:11], run[len(run)-5:]+es[i].Line[r.at+r.n:min(len(es[i].Line), int(r.at+r.n)+3)])
			if len(run) >= 17 { // sixteen digits from an odd start, and the last sixteen
				needles = append(needles, run[1:17], run[len(run)-16:])
			}
		}
	}
	for _, enc := range []Encoding{EncZstd, EncNone, EncSnappy} {
		h, accepted := buildHead(t, enc, 8<<10, es)
		checkReads(t, enc, encodeDecode(t, h), accepted, needles)
	}
}

// TestHexMarks checks the hex mark's choice: the first control byte no line holds, other than
// the separator and the stamp mark, and no packing when none is left.
func TestHexMarks(t *testing.T) {
	ts := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC).UnixNano()
	var all strings.Builder
	for c := byte(1); c < 0x20; c++ {
		if c != '\n' {
			all.WriteByte(c)
		}
	}
	allButOne := strings.ReplaceAll(all.String(), "\x1f", "")
	for _, tt := range []struct {
		name      string
		extra     string
		esc, hex  int
		stampLine bool
	}{
		{"stamped", "", 1, 2, true},
		{"not stamped", "", -1, 1, false},
		{"0x01 taken", "\x01", 2, 3, true},
		{"one control byte left: the stamps get it", allButOne, 0x1f, -1, true},
		{"one control byte left, no stamps: the runs get it", allButOne, -1, 0x1f, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			prefix := "msg "
			if tt.stampLine {
				prefix = time.Unix(0, ts).UTC().Format("2006-01-02T15:04:05Z") + " "
			}
			es := []logproto.Entry{
				{Timestamp: ts, Line: prefix + "trace=" + hex32},
				{Timestamp: ts + 1, Line: prefix + "x" + tt.extra},
			}
			h, accepted := buildHead(t, EncZstd, 1<<20, es)
			raw, n, _, _ := h.sortedRaw(nil, minInt64, maxInt64, true)
			lay, err := columnStarts(raw, Version, n)
			if err != nil {
				t.Fatal(err)
			}
			if lay.esc != tt.esc || lay.hexMark != tt.hex {
				t.Errorf("marks %d and %d, want %d and %d", lay.esc, lay.hexMark, tt.esc, tt.hex)
			}
			c := encodeDecode(t, h)
			for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
				diffEntries(t, fmt.Sprint(dir), collect(t, c.Iterator(testStream, minInt64, maxInt64, dir, nil)), expect(accepted, minInt64, maxInt64, dir, nil))
			}
		})
	}
}

// TestHexRunsInterleaved writes the lines of many requests served at once, as a busy service
// logs them: a request's trace and span IDs come back after the lines of the requests served
// meanwhile, tens of runs later. Each distinct run must be packed once, every later one stored
// as a repeat, and the lines must read back whole.
func TestHexRunsInterleaved(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	id := func(n int) string { return string(randomHex(r, n)) }
	type request struct {
		trace, span string
		left        int
	}
	active := make([]request, 60)
	distinct := map[string]bool{}
	start := func(q *request) {
		*q = request{trace: id(32), span: id(16), left: 2 + r.IntN(10)}
		distinct[q.trace], distinct[q.span] = true, true
	}
	for i := range active {
		start(&active[i])
	}
	ts := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC).UnixNano()
	es := make([]logproto.Entry, 3000)
	for i := range es {
		q := &active[r.IntN(len(active))]
		if q.left == 0 {
			start(q)
		}
		q.left--
		ts += int64(r.IntN(5_000_000)) + 1
		es[i] = logproto.Entry{Timestamp: ts, Line: fmt.Sprintf(`{"level":"info","msg":"step %d","trace_id":"%s","span_id":"%s"}`, r.IntN(9), q.trace, q.span)}
	}
	_, stored, n := rawBlocks(t, es)
	lay, err := columnStarts(stored, Version, n)
	if err != nil || lay.hexMark < 0 {
		t.Fatalf("layout %+v, %v: want hex runs", lay, err)
	}
	want := 0
	for run := range distinct {
		want += packedLen(len(run))
	}
	if got := lay.lines - lay.packed; got != want {
		t.Errorf("packed runs take %d bytes, want %d: each of the %d distinct runs once", got, want, len(distinct))
	}
	h, accepted := buildHead(t, EncZstd, 16<<20, es)
	checkReads(t, EncZstd, encodeDecode(t, h), accepted, []string{active[0].trace, active[1].span, "step 3"})
	// FORMAT.md's figure: the chunk at the default block size.
	h, _ = buildHead(t, DefaultEncoding, DefaultBlockSize, es)
	b, err := h.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	raw := 0
	for _, e := range es {
		raw += len(e.Line)
	}
	t.Logf("%d lines, %d bytes raw: a chunk of %d bytes", len(es), raw, len(b))
}

// TestParseHexRunsCorrupt checks that run heads which do not fit the packed bytes are errors.
func TestParseHexRunsCorrupt(t *testing.T) {
	packed := appendPacked(nil, []byte(hex16+"a")) // 9 bytes, an odd run
	longest := appendPacked(nil, bytes.Repeat([]byte("f"), maxHexRun))
	for _, tt := range []struct {
		name   string
		heads  []uint64
		packed []byte
		ok     bool
	}{
		{"one run", []uint64{17 << 1}, packed, true},
		{"a repeat", []uint64{17 << 1, 1}, packed, true},
		{"a repeat of nothing", []uint64{1}, nil, false},
		{"a repeat from before the first run", []uint64{17 << 1, 1<<1 | 1}, packed, false},
		{"a repeat from far back", append(append([]uint64{17 << 1}, slices.Repeat([]uint64{1}, 40)...), 40<<1|1), packed, true},
		// One run of the longest kind repeated until the lines would rebuild to more than a
		// block may hold.
		{"repeats past a block's size", append([]uint64{maxHexRun << 1}, slices.Repeat([]uint64{1}, maxBlockRawSize/maxHexRun)...), longest, false},
		{"repeats up to a block's size", append([]uint64{maxHexRun << 1}, slices.Repeat([]uint64{1}, maxBlockRawSize/maxHexRun-1)...), longest, true},
		{"too short a run", []uint64{15 << 1}, packed[:8], false},
		{"past the packed bytes", []uint64{20 << 1}, packed, false},
		{"packed bytes left over", []uint64{16 << 1}, packed, false},
		{"padding not zero", []uint64{17 << 1}, append(append([]byte(nil), packed[:8]...), packed[8]|1), false},
	} {
		var heads []byte
		for _, h := range tt.heads {
			heads = appendUvarint(heads, h)
		}
		_, err := parseHexRuns(nil, heads, tt.packed, 0)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
	if _, err := rebuildHex([]byte("a\x02b"), []hexRun{{0, 16}, {0, 16}}, appendPacked(nil, []byte(hex16))); err == nil {
		t.Error("rebuilding a line with fewer marks than runs succeeded")
	}
	if _, err := rebuildHex([]byte("a\x02b\x02"), []hexRun{{0, 16}}, appendPacked(nil, []byte(hex16))); err == nil {
		t.Error("rebuilding a line with more marks than runs succeeded")
	}
}

func BenchmarkHexRunsFind(b *testing.B) {
	es := hexLines(b, 2000, 3)
	var lines [][]byte
	size := 0
	for _, e := range es {
		lines = append(lines, []byte(e.Line))
		size += len(e.Line)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	var runs []hexRunAt
	for b.Loop() {
		runs = runs[:0]
		for _, l := range lines {
			runs = appendHexRuns(runs, l, 0, -1, -1)
		}
	}
}

// rebuildHex rebuilds line, with hex mark 2 and no stamp, from runs packed in packed, as an
// iterator's cursor does.
func rebuildHex(line []byte, runs []hexRun, packed []byte) ([]byte, error) {
	c := &cursor{dec: blockDecoder{raw: packed, runs: runs, hexMark: 2, esc: -1}}
	return c.rebuild(nil, line, &entryView{hexN: int32(len(runs))})
}

// FuzzHexRuns checks that any run heads, packed bytes and line are read without a panic, and
// that a line taken apart into text and packed runs, as the writer does, comes back whole.
func FuzzHexRuns(f *testing.F) {
	f.Add([]byte(`{"trace_id":"`+hex32+`","span_id":"`+hex16+`"} `+hex32), []byte{0x40, 0x01}, []byte{0xab})
	f.Add([]byte("x "+hex16+"f y"), []byte{0x22}, []byte("0123456789"))
	f.Fuzz(func(t *testing.T, line, heads, packed []byte) {
		if runs, err := parseHexRuns(nil, heads, packed, 0); err == nil {
			_, _ = rebuildHex(line, runs, packed)
		}
		if bytes.IndexByte(line, 2) >= 0 {
			return
		}
		var runs []hexRun
		var stored, p []byte
		pos := 0
		for _, r := range appendHexRuns(nil, line, 0, -1, -1) {
			stored = append(append(stored, line[pos:r.at]...), 2)
			runs = append(runs, hexRun{off: int32(len(p)), n: int32(r.n)})
			p = appendPacked(p, line[r.at:r.at+r.n])
			pos = int(r.at + r.n)
		}
		stored = append(stored, line[pos:]...)
		back, err := rebuildHex(stored, runs, p)
		if err != nil || !bytes.Equal(back, line) {
			t.Fatalf("line %q came back as %q, %v", line, back, err)
		}
	})
}

// TestPackedContains checks the search of packed digits at both alignments: every stretch of
// sixteen or more digits of a run is found, wherever it starts.
func TestPackedContains(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var packed []byte
	var runs []string
	for range 20 {
		b := randomHex(r, 16+r.IntN(40))
		runs = append(runs, string(b))
		packed = appendPacked(packed, b)
	}
	for _, run := range runs {
		for i := 0; i+16 <= len(run); i++ {
			for j := i + 16; j <= len(run); j++ {
				if !packedContains(packed, []byte(run[i:j])) {
					t.Fatalf("%q (digits %d to %d of %q) not found", run[i:j], i, j, run)
				}
			}
		}
	}
	if packedContains(packed, []byte(strings.Repeat("7", 20))) {
		t.Error("twenty 7s found among random digits")
	}
	if hexNeedle([]byte(hex16[:15])) || !hexNeedle([]byte(hex16)) || hexNeedle([]byte(hex16+"g")) {
		t.Error("hexNeedle: wrong on a short, a whole and a non-hex needle")
	}
}
