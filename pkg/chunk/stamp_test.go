package chunk

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/logproto"
)

// TestStampFind puts a stamp of every layout at random instants into lines and checks that
// the stamper finds it where it is, with the distance from the entry's timestamp, and that
// the line rebuilt from its stored form is the line.
func TestStampFind(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC).UnixNano()
	for num := 1; num <= len(stampFormats); num++ {
		f := &stampFormats[num-1]
		for range 300 {
			stamp := base + r.Int64N(int64(400*24*time.Hour)) - int64(200*24*time.Hour)
			stamp -= floorMod(stamp, f.unit)
			// The entry is stamped a little after the application wrote the line, or at
			// the same instant to the nanosecond.
			ts := stamp
			if r.IntN(2) == 0 {
				ts += r.Int64N(int64(3 * time.Second))
			}
			prefix := []string{"", "I", "level=info ts=", `{"time":"`, "10.0.0.1 - - ["}[r.IntN(5)]
			if f.anchor == anchorKlog {
				prefix = "W"
			}
			line := []byte(prefix + string(f.appendStamp(nil, stamp)) + " msg=done")
			var s stamper
			s.reset()
			got, off, d := s.find(line, ts)
			if got != num || off != len(prefix) {
				t.Fatalf("%s in %q (entry %d): found layout %d at %d, want %d at %d", f.layout, line, ts, got, off, num, len(prefix))
			}
			if want := floorDiv(stamp, f.unit) - floorDiv(ts, f.unit); d != want {
				t.Fatalf("%q: distance %d, want %d", line, d, want)
			}
			stored := append(append(append([]byte{}, line[:off]...), 1), line[off+f.width:]...)
			back, err := expandStamp(nil, stored, 1, got, d, ts, &stampRenderer{})
			if err != nil || !bytes.Equal(back, line) {
				t.Fatalf("%q rebuilt as %q, %v", line, back, err)
			}
		}
	}
}

// TestStamperSequence feeds one stamper long runs of lines as streams write them, one layout
// or several mixed, stamps moving within lines, and lines without stamps, and checks every
// stamp it reports: the line rebuilt from its stored form must be the line.
func TestStamperSequence(t *testing.T) {
	for _, kinds := range [][]int{nil, {0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}, {0, 3}, {1, 2, 7}, {3, 4, 5, 6}} {
		es := stampedLines(t, 5000, uint64(len(kinds))+11, kinds...)
		var s stamper
		s.reset()
		found := 0
		var r stampRenderer
		for i, e := range es {
			if i%1000 == 0 {
				s.reset() // a new block
			}
			line := []byte(e.Line)
			num, off, d := s.find(line, e.Timestamp)
			if num == 0 {
				continue
			}
			found++
			f := &stampFormats[num-1]
			stored := append(append(append([]byte{}, line[:off]...), 1), line[off+f.width:]...)
			back, err := expandStamp(nil, stored, 1, num, d, e.Timestamp, &r)
			if err != nil || !bytes.Equal(back, line) {
				t.Fatalf("kinds %v, line %d: %q found as layout %d at %d, distance %d, rebuilt as %q (%v)", kinds, i, line, num, off, d, back, err)
			}
		}
		if want := len(kinds) == 1 && (kinds[0] == 5 || kinds[0] == 7); (found == 0) != want {
			t.Errorf("kinds %v: %d stamps found in %d lines", kinds, found, len(es))
		}
	}
}

// TestStampNotFound lists lines whose stamp-like text must stay in the line: rendering it
// back would not give the same bytes, or it is too far from the entry.
func TestStampNotFound(t *testing.T) {
	ts := time.Date(2026, 2, 27, 23, 59, 59, 999_999_999, time.UTC).UnixNano()
	for _, line := range []string{
		"2026-02-30T10:00:00Z impossible day",
		"2026-02-27T24:00:00Z hour 24",
		"2026-02-27T23:59:60Z leap second",
		"2026-02-27T23:59:5Z short",
		"2026-02-27T23:59:59.12Z two digits of fraction",
		"2026-02-27T23:59:59+01:00 another zone",
		"2026-02-25T23:59:59Z two days before the entry",
		"27/Feb/2026:23:59:59 +0100",
		"27/feb/2026:23:59:59 +0000",
		"I0230 10:00:00.000000 klog, impossible day",
		"X0227 23:59:59.000000 not a severity",
		"plain text",
		"",
	} {
		var s stamper
		s.reset()
		if num, off, d := s.find([]byte(line), ts); num != 0 {
			t.Errorf("%q: found layout %d (%s) at %d, distance %d; want none", line, num, stampFormats[num-1].layout, off, d)
		}
	}
	// The stamp nearest the start wins, and only the first anchored one is taken.
	var s stamper
	s.reset()
	line := []byte("2026-02-27T23:59:59.999Z then 2026-02-27T23:59:59.999999Z")
	if num, off, _ := s.find(line, ts); num != 2 || off != 0 {
		t.Errorf("two stamps: layout %d at %d, want 2 at 0", num, off)
	}
}

// stampedLines are lines of the layouts the stamper knows, some stamped a few milliseconds
// before their entry, some with none, and stamps near midnight; of the given kinds (0 to 7,
// below), or of all.
func stampedLines(tb testing.TB, n int, seed uint64, kinds ...int) []logproto.Entry {
	tb.Helper()
	r := rand.New(rand.NewPCG(seed, seed^0x57a4))
	ts := time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC).UnixNano()
	out := make([]logproto.Entry, n)
	for i := range out {
		ts += r.Int64N(int64(4 * time.Second))
		at := time.Unix(0, ts-r.Int64N(int64(5*time.Millisecond))).UTC()
		var line string
		kind := r.IntN(8)
		if len(kinds) > 0 {
			kind = kinds[r.IntN(len(kinds))]
		}
		switch kind {
		case 0:
			line = fmt.Sprintf(`{"ts":"%s","level":"info","msg":"order %d created"}`, at.Format("2006-01-02T15:04:05.000Z"), r.IntN(1e6))
		case 1:
			line = fmt.Sprintf("ts=%s level=error caller=retry.go:44 msg=\"lost lease\" attempt=%d", at.Format("2006-01-02T15:04:05.000000Z"), r.IntN(9))
		case 2:
			line = fmt.Sprintf("%s  INFO 1 --- [main] c.e.Orders : Created order %d\n\tat com.example.Orders.create(Orders.java:%d)", at.Format("2006-01-02 15:04:05.000"), r.IntN(1e6), r.IntN(500))
		case 3:
			line = fmt.Sprintf(`10.1.%d.7 - - [%s] "GET /api/v1/orders HTTP/1.1" 200 %d "-" "curl/8.4.0"`, r.IntN(255), at.Format("02/Jan/2006:15:04:05 +0000"), r.IntN(1e5))
		case 4:
			line = fmt.Sprintf("I%s    1 controller.go:%d] synced", at.Format("0102 15:04:05.000000"), r.IntN(900))
		case 5:
			line = fmt.Sprintf("%s worker %d: no stamp of ours here", at.Format(time.RFC1123), r.IntN(9))
		case 6:
			line = fmt.Sprintf("%s Z-prefixed digits 12:00 Nov", at.Format("2006/01/02 15:04:05"))
		default:
			line = fmt.Sprintf("level=debug msg=\"tick %d\"", r.IntN(1e4))
		}
		out[i] = logproto.Entry{Timestamp: ts, Line: line}
	}
	return out
}

// TestStampedChunks writes stamped lines through the head into chunks of every codec and
// reads them back in both directions, whole, in part, and through filters and needles that
// may or may not overlap a stamp.
func TestStampedChunks(t *testing.T) {
	es := stampedLines(t, 3000, 7)
	// Six kinds of line in eight hold a stamp of about 24 bytes: the raw block shrinks by a
	// fifth.
	plain, stamped, _ := rawBlocks(t, es)
	if len(stamped) > len(plain)*85/100 {
		t.Errorf("raw block of %d bytes with stamps elided, %d without", len(stamped), len(plain))
	}
	needles := []string{"error", "order", "12:00", "Z", ":59", "Nov", "/Jan/", "T23", "5  INFO", "2027-01-01", "GET /api", "ts=2026-12-31T23:5", "\x01", "\n\tat"}
	for _, enc := range []Encoding{EncZstd, EncNone, EncSnappy} {
		h, accepted := buildHead(t, enc, 8<<10, es)
		c := encodeDecode(t, h)
		stamped := 0
		for _, b := range c.ix.Blocks {
			raw, err := decompressBlock(enc, nil, c.data[b.Offset:b.Offset+b.Length], b.RawSize, Version)
			if err != nil {
				t.Fatal(err)
			}
			lay, err := columnStarts(raw, Version, b.Entries)
			if err != nil {
				t.Fatal(err)
			}
			if lay.esc >= 0 {
				stamped++
			}
		}
		if stamped != len(c.ix.Blocks) {
			t.Fatalf("%v: %d of %d blocks stamped", enc, stamped, len(c.ix.Blocks))
		}
		checkReads(t, enc, c, accepted, needles)
	}
}

// rawBlocks writes es as one raw block twice: plain, as a query's snapshot of the head block
// is, and as a block to be stored (stamps elided, hex runs packed), of n entries.
func rawBlocks(t *testing.T, es []logproto.Entry) (plain, stored []byte, n int) {
	t.Helper()
	h, _ := buildHead(t, EncNone, 16<<20, es)
	plain, _, _, _ = h.sortedRaw(nil, minInt64, maxInt64, false)
	stored, n, _, _ = h.sortedRaw(nil, minInt64, maxInt64, true)
	return plain, stored, n
}

// checkReads reads c, a chunk of enc holding accepted (3000 entries or more), whole and over a
// range, both ways, and for each needle with a line filter, a prefilter and both, against what
// accepted says.
func checkReads(t *testing.T, enc Encoding, c *Chunk, accepted []logproto.Entry, needles []string) {
	t.Helper()
	from, through := accepted[500].Timestamp, accepted[2500].Timestamp
	for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
		diffEntries(t, fmt.Sprint(enc, dir), collect(t, c.Iterator(testStream, minInt64, maxInt64, dir, nil)), expect(accepted, minInt64, maxInt64, dir, nil))
		diffEntries(t, fmt.Sprint(enc, dir, " range"), collect(t, c.Iterator(testStream, from, through, dir, nil)), expect(accepted, from, through, dir, nil))
		for _, n := range needles {
			keep := func(l string) bool { return strings.Contains(l, n) }
			filter := func(l []byte) bool { return bytes.Contains(l, []byte(n)) }
			want := expect(accepted, minInt64, maxInt64, dir, keep)
			diffEntries(t, fmt.Sprintf("%v %v filter %q", enc, dir, n), collect(t, c.Iterator(testStream, minInt64, maxInt64, dir, filter)), want)
			// The needle alone must select the same lines, with or without the filter.
			diffEntries(t, fmt.Sprintf("%v %v needle %q", enc, dir, n), collect(t, c.Iterator(testStream, minInt64, maxInt64, dir, nil).Prefilter([]byte(n))), want)
			diffEntries(t, fmt.Sprintf("%v %v both %q", enc, dir, n), collect(t, c.Iterator(testStream, minInt64, maxInt64, dir, filter).Prefilter([]byte(n))), want)
		}
	}
}

// TestStampMarks checks the mark's choice: the first control byte no line holds, other than
// the separator, and no stamps when every control byte is taken.
func TestStampMarks(t *testing.T) {
	ts := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC).UnixNano()
	stampLine := func(extra string) logproto.Entry {
		return logproto.Entry{Timestamp: ts, Line: time.Unix(0, ts).UTC().Format("2006-01-02T15:04:05Z") + " msg" + extra}
	}
	var all strings.Builder
	for c := byte(1); c < 0x20; c++ {
		if c != '\n' {
			all.WriteByte(c)
		}
	}
	for _, tt := range []struct {
		name  string
		extra []string
		esc   int
	}{
		{"clean lines", nil, 1},
		{"0x01 taken", []string{"\x01"}, 2},
		{"0x01 to 0x09 taken, newline is the separator", []string{"\x01\x02\x03\x04\x05\x06\x07\x08\x09"}, 0x0b},
		{"newlines in lines: NUL separates, the mark is not newline", []string{"\x01\x02\x03\x04\x05\x06\x07\x08\x09", "\n"}, 0x0b},
		{"newlines and 0x0b in lines", []string{"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0b", "\n"}, 0x0c},
		{"lines counted and stamped", []string{"\n\x00"}, 1},
		{"every control byte but newline taken", []string{all.String()}, -1},
		{"every control byte taken, lines counted", []string{all.String(), "\n\x00"}, -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			es := []logproto.Entry{stampLine("")}
			for _, x := range tt.extra {
				ts++
				e := stampLine(x)
				e.Timestamp = ts
				es = append(es, e)
			}
			h, accepted := buildHead(t, EncZstd, 1<<20, es)
			raw, n, _, _ := h.sortedRaw(nil, minInt64, maxInt64, true)
			lay, err := columnStarts(raw, Version, n)
			if err != nil {
				t.Fatal(err)
			}
			if lay.esc != tt.esc {
				t.Errorf("mark %d, want %d", lay.esc, tt.esc)
			}
			if counted := strings.Contains(strings.Join(tt.extra, ""), "\n\x00"); counted != (lay.sep < 0) {
				t.Errorf("separator %d with lines %q", lay.sep, tt.extra)
			}
			c := encodeDecode(t, h)
			for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
				diffEntries(t, fmt.Sprint(dir), collect(t, c.Iterator(testStream, minInt64, maxInt64, dir, nil)), expect(accepted, minInt64, maxInt64, dir, nil))
			}
		})
	}
}

// TestStampSafeNeedle checks the rule against every substring of stamped lines that overlaps
// the stamp: none may be judged safe to look for in the stored lines.
func TestStampSafeNeedle(t *testing.T) {
	for _, tt := range []struct {
		needle string
		safe   bool
	}{
		{"error", true}, {"timeout", true}, {"GET /api", true}, {"level=info", true}, {"Zebra", false},
		{"12:00", false}, {"T", false}, {"Nov", false}, {"/Nov/", false}, {" +", false}, {"+", false},
		{"status=500", false}, {"a\x01b", false}, {"", false}, {"Nov/ x", true}, {"ov/", false},
	} {
		if got := stampSafeNeedle([]byte(tt.needle)); got != tt.safe {
			t.Errorf("stampSafeNeedle(%q) = %v, want %v", tt.needle, got, tt.safe)
		}
	}
	ts := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC).UnixNano()
	for num := 1; num <= len(stampFormats); num++ {
		f := &stampFormats[num-1]
		for _, month := range []int64{0, 40, 80, 120, 160, 200, 240, 280, 320, 360} {
			at := ts + month*int64(24*time.Hour)
			stamp := string(f.appendStamp(nil, at-floorMod(at, f.unit)))
			line := "Zz abc " + stamp + " xyZ"
			s0, s1 := len("Zz abc "), len("Zz abc ")+len(stamp)
			for i := 0; i < len(line); i++ {
				for j := i + 1; j <= len(line); j++ {
					if i < s1 && j > s0 && stampSafeNeedle([]byte(line[i:j])) {
						t.Fatalf("%s: needle %q overlaps the stamp %q but is judged safe", f.layout, line[i:j], stamp)
					}
				}
			}
		}
	}
}

// BenchmarkStampFind measures the writer's search for stamps, per line: of one kind, as most
// streams write, and of every kind mixed.
func BenchmarkStampFind(b *testing.B) {
	for _, bc := range []struct {
		name  string
		kinds []int
	}{
		{"json-ms", []int{0}}, {"logfmt-us", []int{1}}, {"java", []int{2}}, {"nginx", []int{3}},
		{"klog", []int{4}}, {"no-stamp", []int{7}}, {"java-and-no-stamp", []int{2, 7}}, {"mixed", nil},
	} {
		b.Run(bc.name, func(b *testing.B) {
			es := stampedLines(b, 4096, 3, bc.kinds...)
			lines := make([][]byte, len(es))
			for i := range es {
				lines[i] = []byte(es[i].Line)
			}
			var s stamper
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i%len(es) == 0 {
					s.reset()
				}
				s.find(lines[i%len(es)], es[i%len(es)].Timestamp)
			}
		})
	}
}

// BenchmarkStampExpand measures the reader's rebuilding of a stamped line.
func BenchmarkStampExpand(b *testing.B) {
	ts := time.Date(2026, 11, 22, 10, 0, 0, 123_456_789, time.UTC).UnixNano()
	line := []byte(`{"ts":"` + "\x01" + `","level":"info","msg":"order created","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}`)
	var dst []byte
	var r stampRenderer
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var err error
		if dst, err = expandStamp(dst[:0], line, 1, 2, 0, ts, &r); err != nil {
			b.Fatal(err)
		}
	}
}
