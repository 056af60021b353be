package workload

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

var testEnd = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func newGen(t testing.TB, seed uint64, lines int) *Generator {
	t.Helper()
	g, err := New(Config{Seed: seed, Lines: lines, End: testEnd, Span: 24 * time.Hour})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return g
}

type line struct {
	stream int
	ts     int64
	text   string
}

func all(t testing.TB, g *Generator) []line {
	t.Helper()
	var out []line
	for {
		s, ts, l, ok := g.Next()
		if !ok {
			return out
		}
		out = append(out, line{s, ts, l})
	}
}

func TestDeterministic(t *testing.T) {
	a := all(t, newGen(t, 7, 5000))
	b := all(t, newGen(t, 7, 5000))
	if len(a) != 5000 || len(b) != 5000 {
		t.Fatalf("got %d and %d lines, want 5000", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("line %d differs between two runs with seed 7:\n%+v\n%+v", i, a[i], b[i])
		}
	}
	c := all(t, newGen(t, 8, 5000))
	same := 0
	for i := range a {
		if a[i].text == c[i].text {
			same++
		}
	}
	if same > 50 {
		t.Errorf("seeds 7 and 8 share %d of 5000 lines; want different workloads", same)
	}
	sa, sc := newGen(t, 7, 1).Streams(), newGen(t, 8, 1).Streams()
	if sa[0].Pod == sc[0].Pod {
		t.Errorf("seeds 7 and 8 name the first pod the same (%s)", sa[0].Pod)
	}
}

func TestStreams(t *testing.T) {
	streams := newGen(t, 1, 1).Streams()
	if len(streams) != NumStreams || NumStreams != 100 {
		t.Fatalf("got %d streams (NumStreams %d), want 100", len(streams), NumStreams)
	}
	seen := map[string]bool{}
	sel := regexp.MustCompile(`^\{app="[a-z-]+", container="[a-z]+", namespace="[a-z-]+", pod="[a-z0-9-]+"\}$`)
	for _, s := range streams {
		if seen[s.Labels] {
			t.Errorf("duplicate stream %s", s.Labels)
		}
		seen[s.Labels] = true
		if !sel.MatchString(s.Labels) {
			t.Errorf("labels %s are not a sorted selector of namespace, app, container, pod", s.Labels)
		}
		if !strings.HasPrefix(s.Pod, s.App+"-") {
			t.Errorf("pod %s does not belong to app %s", s.Pod, s.App)
		}
	}
}

func TestTimestamps(t *testing.T) {
	const n = 20000
	lines := all(t, newGen(t, 3, n))
	lo, hi := testEnd.Add(-24*time.Hour).UnixNano(), testEnd.UnixNano()
	for i, l := range lines {
		if l.ts <= lo || l.ts >= hi {
			t.Fatalf("line %d at %s is outside (end-24h, end)", i, time.Unix(0, l.ts).UTC())
		}
		if i > 0 && l.ts <= lines[i-1].ts {
			t.Fatalf("line %d at %d is not after line %d at %d", i, l.ts, i-1, lines[i-1].ts)
		}
	}
	// The lines cover the whole span, not a corner of it.
	if first, last := lines[0].ts-lo, hi-lines[n-1].ts; first > int64(time.Minute) || last > int64(time.Minute) {
		t.Errorf("lines start %s after the span's start and end %s before its end", time.Duration(first), time.Duration(last))
	}
}

// TestMix checks the workload's shape: the average line size, every format present in about its
// share, multi-line Java stack traces, JSON lines that parse with 12 fields.
func TestMix(t *testing.T) {
	const n = 60000
	g := newGen(t, 42, n)
	streams := g.Streams()
	var total int
	count := map[Format]int{}
	bytes := map[Format]int{}
	var multi int
	for _, l := range all(t, g) {
		f := streams[l.stream].Format
		count[f]++
		bytes[f] += len(l.text)
		total += len(l.text)
		if strings.Contains(l.text, "\n\tat ") {
			multi++
			if f != Java {
				t.Fatalf("stack trace in a %s line: %q", f, l.text)
			}
		}
		switch f {
		case JSON:
			if count[f]%7 != 0 { // decoding every line is slow under -race
				continue
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(l.text), &m); err != nil {
				t.Fatalf("JSON line %q: %v", l.text, err)
			}
			if len(m) != 12 {
				t.Fatalf("JSON line has %d fields, want 12: %q", len(m), l.text)
			}
		case Logfmt:
			if !strings.HasPrefix(l.text, "ts=") || !strings.Contains(l.text, " level=") {
				t.Fatalf("logfmt line %q", l.text)
			}
		case Nginx:
			if !strings.Contains(l.text, " HTTP/1.1\" ") {
				t.Fatalf("nginx line %q", l.text)
			}
		}
	}
	var sum int64
	for _, b := range g.StreamBytes() {
		sum += b
	}
	if sum != int64(total) {
		t.Errorf("StreamBytes sums to %d, want the %d bytes generated", sum, total)
	}
	avg := float64(total) / n
	t.Logf("average line %.1f bytes; by format: %v lines, %v bytes; %d stack traces", avg, count, bytes, multi)
	if avg < 224 || avg > 248 {
		t.Errorf("average line is %.1f bytes, want 236 ± 5%%", avg)
	}
	for _, f := range []Format{Nginx, JSON, Logfmt, Java} {
		if share := float64(count[f]) / n; share < 0.1 {
			t.Errorf("%s lines are %.1f%% of the workload, want at least 10%%", f, 100*share)
		}
	}
	if multi < n/200 {
		t.Errorf("%d lines with stack traces in %d, want at least %d", multi, n, n/200)
	}
}

// TestNeedle checks that the benchmark's filter query finds something, but rarely: about one
// line in 40,000 is an OutOfMemoryError.
func TestNeedle(t *testing.T) {
	const n = 150000
	g := newGen(t, 5, n)
	oom := 0
	for {
		_, _, l, ok := g.Next()
		if !ok {
			break
		}
		if strings.Contains(l, "OutOfMemoryError") {
			oom++
		}
	}
	if oom < 1 || oom > n/10000 {
		t.Errorf("%d OutOfMemoryError lines in %d, want a rare few (about %d)", oom, n, n/40000)
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no lines", Config{Lines: 0, Span: time.Hour, End: testEnd}, "lines: must be positive"},
		{"no span", Config{Lines: 10, Span: 0, End: testEnd}, "span: must be positive"},
		{"span too short", Config{Lines: 10, Span: 5, End: testEnd}, "too short"},
		{"no end", Config{Lines: 10, Span: time.Hour}, "end: must be set"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("New(%+v) = %v, want an error containing %q", c.cfg, err, c.want)
			}
		})
	}
}

func BenchmarkNext(b *testing.B) {
	g := newGen(b, 1, 1<<30)
	b.ReportAllocs()
	var n int64
	for b.Loop() {
		_, _, l, _ := g.Next()
		n += int64(len(l))
	}
	b.SetBytes(n / int64(b.N))
}
