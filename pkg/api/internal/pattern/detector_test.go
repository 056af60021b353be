package pattern

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/race"
)

// totals returns pattern → total lines.
func totals(ps []Pattern) map[string]int64 {
	m := map[string]int64{}
	for _, p := range ps {
		m[p.Pattern] = p.Total
	}
	return m
}

func checkTotals(t *testing.T, got []Pattern, want map[string]int64) {
	t.Helper()
	g := totals(got)
	for p, n := range want {
		if g[p] != n {
			t.Errorf("pattern %q: %d lines, want %d", p, g[p], n)
		}
	}
	for p, n := range g {
		if _, ok := want[p]; !ok {
			t.Errorf("unexpected pattern %q (%d lines)", p, n)
		}
	}
}

func TestDetectorCollapsesVaryingTokens(t *testing.T) {
	d := New(Config{}, 10*time.Second)
	base := int64(1711839260) * int64(time.Second)
	for i := range 30 {
		ts := base + int64(i)*int64(time.Second)
		d.Add(1, ts, fmt.Sprintf("ts=2024-03-30T23:03:%02d caller=grpc_logging.go:66 level=info method=/cortex.Ingester/Push duration=%dms msg=gRPC", i, 100+i))
	}
	for i := range 5 {
		d.Add(2, base+int64(i)*int64(time.Second), fmt.Sprintf("connection from 10.0.0.%d closed after %d bytes", i, i*100))
	}
	got := d.Patterns()
	if len(got) != 2 {
		t.Fatalf("Patterns() = %d patterns %+v, want 2", len(got), got)
	}
	want := "ts=<_> caller=grpc_logging.go:66 level=info method=/cortex.Ingester/Push duration=<_> msg=gRPC"
	if got[0].Pattern != want {
		t.Errorf("pattern 0 = %q, want %q", got[0].Pattern, want)
	}
	if got[0].Total != 30 {
		t.Errorf("pattern 0 total = %d, want 30", got[0].Total)
	}
	wantSamples := []Sample{{1711839260, 10}, {1711839270, 10}, {1711839280, 10}}
	if fmt.Sprint(got[0].Samples) != fmt.Sprint(wantSamples) {
		t.Errorf("pattern 0 samples = %v, want %v", got[0].Samples, wantSamples)
	}
	if want := "connection from <_> closed after <_> bytes"; got[1].Pattern != want {
		t.Errorf("pattern 1 = %q, want %q", got[1].Pattern, want)
	}
}

func TestDetectorKeepsDifferentLinesApart(t *testing.T) {
	d := New(Config{}, time.Minute)
	d.Add(1, 0, "GET /api/users 200 OK")
	d.Add(1, 0, "GET /api/users 200 OK")
	d.Add(1, 0, "starting the server on port 8080 with tls enabled")
	// Fewer than 4 tokens: Loki skips such lines.
	d.Add(1, 0, "GET /api/users 200")
	checkTotals(t, d.Patterns(), map[string]int64{
		"GET /api/users 200 OK":                             2,
		"starting the server on port 8080 with tls enabled": 1,
	})
}

// TestDetectorJSON: a JSON stream is clustered on its message alone, and the pattern is the
// message's between two wildcards (Loki's JSON tokenizer). The message is split like plain
// text: "10.0.3.7" and "pay-0001" are one token each ('.' and '-' stay inside tokens), '(' and
// ')' are tokens of their own; a token that varies becomes <_>, and the run "<_><_>" at the end
// of "... from <_>" + "<_>" collapses to one.
func TestDetectorJSON(t *testing.T) {
	d := New(Config{}, time.Minute)
	for i := range 40 {
		d.Add(1, int64(i), fmt.Sprintf(`{"ts":"2026-11-22T10:00:%02d.123Z","level":"info","logger":"cart","msg":"item added to cart","trace_id":"%032x","user_id":%d,"status":200}`, i%60, i*7919, i))
		if i < 35 {
			d.Add(1, int64(i), fmt.Sprintf(`{"ts":"2026-11-22T10:00:%02d.456Z","level":"info","logger":"auth","msg":"user %d logged in from 10.0.%d.%d"}`, i%60, 1000+i, i%4, i))
		}
		if i < 30 {
			d.Add(1, int64(i), fmt.Sprintf(`{"level":"error","message":"payment pay-%04d failed: card declined (code 51)","status":402}`, i))
		}
		if i < 5 {
			// "log" comes first in the list of message fields, wherever it is in the line.
			d.Add(1, int64(i), fmt.Sprintf(`{"msg":"not this one","log":"container restarted after %d attempts"}`, i+2))
			// No message field, a message that is not a string, one of fewer than 4 tokens:
			// Loki skips these lines.
			d.Add(1, int64(i), fmt.Sprintf(`{"level":"debug","items":%d,"cart":"c-1"}`, i))
			d.Add(1, int64(i), `{"msg":{"text":"an object is not a message"},"level":"info"}`)
			d.Add(1, int64(i), `{"msg":"done","level":"info"}`)
		}
	}
	checkTotals(t, d.Patterns(), map[string]int64{
		"<_>item added to cart<_>":                          40,
		"<_>user <_> logged in from <_>":                    35,
		"<_>payment <_> failed: card declined (code 51)<_>": 30,
		"<_>container restarted after <_> attempts<_>":      5,
	})
}

// TestDetectorLogfmt: a logfmt stream is clustered on key/value pairs and renders as logfmt.
// The values of ts, time and traceID are always <_>; other values become <_> where they vary;
// quoted values are unquoted and quoted again as logfmt needs.
func TestDetectorLogfmt(t *testing.T) {
	d := New(Config{}, time.Minute)
	for i := range 40 {
		d.Add(7, int64(i), fmt.Sprintf(`ts=2026-11-22T10:00:%02d.%03dZ level=info caller=x.go:12 msg="job done" job_id=%d duration=%dms`, i%60, i, 100+i, 3*i))
		if i < 30 {
			d.Add(7, int64(i), fmt.Sprintf(`time=2026-11-22T10:01:%02dZ level=error caller=worker.go:88 msg="job failed" job_id=%d err="connection reset by peer" traceID=%x`, i, 500+i, i*104729))
		}
		if i < 10 {
			d.Add(7, int64(i), fmt.Sprintf(`level=warn msg="retrying \"upload\" in 5s" attempt=%d`, i+1))
			// A key without a value, as Loki reads it.
			d.Add(7, int64(i), fmt.Sprintf(`level=info <REDACTED> msg=hidden n=%d`, i))
			// '=' inside an unquoted value does not decode: skipped.
			d.Add(7, int64(i), fmt.Sprintf(`level=info url=http://x/?a=%d status=200`, i))
		}
	}
	checkTotals(t, d.Patterns(), map[string]int64{
		`ts=<_> level=info caller=x.go:12 msg="job done" job_id=<_> duration=<_>`:                                         40,
		`time=<_> level=error caller=worker.go:88 msg="job failed" job_id=<_> err="connection reset by peer" traceID=<_>`: 30,
		`level=warn msg="retrying \"upload\" in 5s" attempt=<_>`:                                                          10,
		`level=info <REDACTED>= msg=hidden n=<_>`:                                                                         10,
	})
}

// TestDetectorPlain: plain lines are split on spaces and punctuation and render back with the
// spacing of the pattern's first line, including runs of spaces and leading spaces.
func TestDetectorPlain(t *testing.T) {
	d := New(Config{}, time.Minute)
	for i := range 40 {
		d.Add(1, int64(i), fmt.Sprintf(`10.0.%d.%d - - [22/Nov/2026:10:00:%02d +0000] "GET /api/v1/items/%d HTTP/1.1" 200 %d "-" "curl/8.0"`, i%3, i, i%60, i, 100+i))
	}
	for i := range 35 {
		d.Add(2, int64(i), fmt.Sprintf(`2026-11-22 10:00:%02d.123 INFO [main] c.e.Foo - Started in %d.%d seconds`, i, i%9+1, i%10))
		if i < 30 {
			d.Add(2, int64(i), fmt.Sprintf(`2026-11-22 10:00:%02d.456  WARN [pool-1-thread-%d] c.e.Bar - Retrying request %d of 3`, i, i%4+1, i%3+1))
		}
		if i < 8 {
			// Loki would render these without any space (it loses track of spaces after a
			// leading one); we keep the line's spacing.
			d.Add(2, int64(i), fmt.Sprintf(`    at com.example.Foo.bar(Foo.java:%d)`, 10+i))
		}
	}
	checkTotals(t, d.Patterns(), map[string]int64{
		`<_> - - [<_> +0000] "GET <_> HTTP/1.1" 200 <_> "-" "curl/8.0"`:  40,
		`2026-11-22 <_> INFO [main] c.e.Foo - Started in <_> seconds`:    35,
		`2026-11-22 <_>  WARN [<_>] c.e.Bar - Retrying request <_> of 3`: 30,
		`    at com.example.Foo.bar(<_>)`:                                8,
	})
}

// TestDetectorRoutesByWords: tokens without digits take their own branch of the parse tree, so
// lines that differ in an early word stay apart until the node is full (MaxChildren), and lines
// of one stream never merge with another stream's, though equal patterns are summed.
func TestDetectorRoutesByWords(t *testing.T) {
	d := New(Config{MaxChildren: 4}, time.Minute)
	for i, user := range []string{"alice", "bob", "carol", "dave", "erin", "frank"} {
		d.Add(1, int64(i), "user "+user+" logged in")
		d.Add(2, int64(i), "user "+user+" logged in")
	}
	// Per stream: alice, bob and carol get branches; the 4th place is the wildcard branch, where
	// dave, erin and frank merge.
	checkTotals(t, d.Patterns(), map[string]int64{
		"user alice logged in": 2,
		"user bob logged in":   2,
		"user carol logged in": 2,
		"user <_> logged in":   6,
	})
}

func TestDetectorFormatIsPerStream(t *testing.T) {
	d := New(Config{}, time.Minute)
	// The first line makes stream 1 plain: its JSON lines are then split as plain text.
	d.Add(1, 0, "plain text line here")
	d.Add(1, 1, `{"msg":"hello there big world","n":1}`)
	d.Add(2, 0, `{"msg":"hello there big world","n":1}`)
	checkTotals(t, d.Patterns(), map[string]int64{
		"plain text line here":                  1,
		`{"msg":"hello there big world","n":1}`: 1,
		"<_>hello there big world<_>":           1,
	})
}

func TestDetectorSkipsOutOfOrderAndLongLines(t *testing.T) {
	d := New(Config{MaxLineLength: 40}, time.Minute)
	d.Add(1, 100, "first line of the stream")
	d.Add(1, 50, "older line of the stream")
	d.Add(1, 150, "a line that is much longer than forty bytes")
	checkTotals(t, d.Patterns(), map[string]int64{"first line of the stream": 1})
}

// TestDetectorThrottlesChurningStream: once a stream's evictions pass MaxEvictionRatio of its
// lines, its lines are skipped for 10 minutes of line time.
func TestDetectorThrottlesChurningStream(t *testing.T) {
	d := New(Config{MaxClustersPerStream: 2, MaxEvictionRatio: 0.25}, time.Minute)
	line := func(i int) string { return fmt.Sprintf("word%c%c never repeats here", 'a'+i%26, 'a'+i/26%26) }
	for i := range 100 {
		d.Add(1, int64(i), line(i))
	}
	// 2 clusters fill the stream; the 3rd line evicts (1/3 > 0.25), so the 4th trips the
	// limiter and the rest, within 10 minutes, are skipped.
	if s := d.streams[streamKey{1, ""}]; !s.blocked || s.added != 3 || s.evicted != 1 {
		t.Fatalf("stream: blocked %v, added %d, evicted %d; want blocked after 3 lines and 1 eviction", s.blocked, s.added, s.evicted)
	}
	after := int64(3) + throttle
	d.Add(1, after, "back again after the pause")
	got := totals(d.Patterns())
	if got["back again after the pause"] != 1 || len(got) != 2 {
		t.Errorf("after the pause: %v, want the new line and one of the old ones", got)
	}
}

func TestDetectorBoundsClusters(t *testing.T) {
	d := New(Config{MaxClusters: 50, MaxClustersPerStream: 20}, time.Minute)
	for i := range 3000 {
		// Lines differ in their first word and length, so none can merge.
		d.Add(uint64(i%7), int64(i), strings.Repeat(fmt.Sprintf("w%c%c ", 'a'+i%26, 'a'+i/26%26), 4+i%40))
	}
	if d.n > 50 {
		t.Fatalf("detector holds %d clusters, want at most 50", d.n)
	}
	n, nodes := 0, 0
	for _, s := range d.streams {
		if s.n > 20 {
			t.Errorf("stream holds %d clusters, want at most 20", s.n)
		}
		n += s.n
		var visit func(*node) int
		visit = func(x *node) int {
			leaves := len(x.clusters)
			if len(x.clusters) == 0 && len(x.children) == 0 {
				t.Errorf("empty tree node %q left behind", x.key)
			}
			nodes++
			for _, c := range x.children {
				leaves += visit(c)
			}
			return leaves
		}
		for _, r := range s.roots {
			visit(r)
		}
		s.own.each(func(c *cluster) {
			if c.s != s {
				t.Errorf("cluster of another stream on a stream's list")
			}
		})
	}
	if n != d.n {
		t.Fatalf("streams hold %d clusters, detector counts %d", n, d.n)
	}
	// Each cluster's path has at most PrefixTokens nodes below its root.
	if nodes > d.n*(d.cfg.PrefixTokens+1) {
		t.Errorf("%d tree nodes for %d clusters: branches of evicted clusters are kept", nodes, d.n)
	}
}

func TestDetectorSharesTreesPastMaxStreams(t *testing.T) {
	d := New(Config{MaxStreams: 2}, time.Minute)
	for i := range 10 {
		d.Add(uint64(i), 0, fmt.Sprintf("level=info msg=started worker=%d", i))
	}
	if len(d.streams) != 2 || d.shared[sharedKey{FormatLogfmt, ""}] == nil {
		t.Fatalf("%d streams of their own, shared logfmt tree %v; want 2 and a shared tree", len(d.streams), d.shared[sharedKey{FormatLogfmt, ""}] != nil)
	}
	// Streams 0 and 1 have a tree each; the other 8 share one.
	checkTotals(t, d.Patterns(), map[string]int64{
		"level=info msg=started worker=0":   1,
		"level=info msg=started worker=1":   1,
		"level=info msg=started worker=<_>": 8,
	})
}

func FuzzDetector(f *testing.F) {
	for _, s := range []string{
		"level=info msg=hello duration=5ms", "  \t=\x00 a=b=c", `{"msg":"a b c d","x":[1,{"y":"z"}]}`,
		`10.0.0.1 - - [x] "GET / HTTP/1.1" 200 5`, `msg="a\"b\u00e9" k= z`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		d := New(Config{MaxClusters: 4, MaxChildren: 2, MaxClustersPerStream: 2}, time.Second)
		d.Add(1, 1, line)
		d.Add(1, 2, line+" x")
		d.Add(1, 3, strings.ToUpper(line))
		d.Add(2, -7, line)
		for _, p := range d.Patterns() {
			if p.Total <= 0 || len(p.Samples) == 0 {
				t.Fatalf("pattern %+v has no lines", p)
			}
		}
	})
}

// benchLines returns lines of one format: a few templates with varying values.
func benchLines(f Format) []string {
	lines := make([]string, 1000)
	for i := range lines {
		switch f {
		case FormatJSON:
			lines[i] = [...]string{
				fmt.Sprintf(`{"ts":"2026-11-22T10:00:%02d.123Z","level":"info","logger":"cart","msg":"item added to cart","trace_id":"%032x","user_id":%d,"status":200}`, i%60, i*7919, i),
				fmt.Sprintf(`{"ts":"2026-11-22T10:00:%02d.456Z","level":"info","logger":"auth","msg":"user %d logged in from 10.0.%d.%d","trace_id":"%032x"}`, i%60, i, i%4, i%256, i*31),
				fmt.Sprintf(`{"ts":"2026-11-22T10:00:%02d.789Z","level":"error","logger":"payments","message":"payment pay-%04d failed: card declined (code 51)","status":402}`, i%60, i),
				fmt.Sprintf(`{"ts":"2026-11-22T10:00:%02d.000Z","level":"debug","logger":"http","msg":"GET /api/v1/items/%d served in %dms","bytes":%d}`, i%60, i, i%50, i*3),
			}[i%4]
		case FormatLogfmt:
			lines[i] = [...]string{
				fmt.Sprintf("ts=2024-03-30T23:03:%02d caller=grpc_logging.go:66 level=info method=/cortex.Ingester/Push duration=%dms msg=gRPC", i%60, i),
				fmt.Sprintf(`ts=2026-11-22T10:00:%02d.%03dZ level=info caller=x.go:12 msg="job done" job_id=%d duration=%dms`, i%60, i, i, 3*i),
				fmt.Sprintf(`level=error msg="connection refused" host=db-%d retry=%d`, i%5, i%3),
				fmt.Sprintf(`time=2026-11-22T10:01:%02dZ level=error caller=worker.go:88 msg="job failed" job_id=%d err="connection reset by peer" traceID=%x`, i%60, i, i*104729),
			}[i%4]
		default:
			lines[i] = [...]string{
				fmt.Sprintf(`10.0.%d.%d - - [30/Mar/2024:23:03:%02d +0000] "GET /api/v1/users/%d HTTP/1.1" 200 %d "-" "curl/8.0"`, i%256, i%7, i%60, i, i*3),
				fmt.Sprintf(`2026-11-22 10:00:%02d.123 INFO [main] c.e.Foo - Started in %d.%d seconds`, i%60, i%9, i%10),
				fmt.Sprintf(`2026-11-22 10:00:%02d.456  WARN [pool-1-thread-%d] c.e.Bar - Retrying request %d of 3`, i%60, i%4, i%3),
				fmt.Sprintf("flushed chunk for stream %x after %d entries", i*7919, i),
			}[i%4]
		}
	}
	return lines
}

func benchmarkAdd(b *testing.B, f Format) {
	lines := benchLines(f)
	var size int64
	for _, l := range lines {
		size += int64(len(l))
	}
	d := New(Config{}, 10*time.Second)
	for i, l := range lines { // warm up: the patterns exist
		d.Add(uint64(i%8), int64(i), l)
	}
	b.ReportAllocs()
	b.SetBytes(size / int64(len(lines)))
	for i := 0; b.Loop(); i++ {
		d.Add(uint64(i%8), int64(len(lines)+i)*int64(time.Millisecond), lines[i%len(lines)])
	}
}

func BenchmarkDetectorJSON(b *testing.B)   { benchmarkAdd(b, FormatJSON) }
func BenchmarkDetectorLogfmt(b *testing.B) { benchmarkAdd(b, FormatLogfmt) }
func BenchmarkDetectorPlain(b *testing.B)  { benchmarkAdd(b, FormatPlain) }

func BenchmarkDetectorPatterns(b *testing.B) {
	d := New(Config{}, 10*time.Second)
	for _, f := range []Format{FormatJSON, FormatLogfmt, FormatPlain} {
		for i, l := range benchLines(f) {
			d.Add(uint64(f)*8+uint64(i%8), int64(i)*int64(time.Second), l)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if len(d.Patterns()) == 0 {
			b.Fatal("no patterns")
		}
	}
}

// TestDetectorAddAllocs checks that a line joining a known pattern in a known step allocates
// nothing, for each format: that is the common case on a busy stream.
func TestDetectorAddAllocs(t *testing.T) {
	race.SkipAllocs(t)
	for _, lines := range [][]string{
		{"level=info msg=done duration=5ms", "level=info msg=done duration=7ms", `level=info msg="done \"x\"" duration=9ms`},
		{`{"level":"info","msg":"user 1 logged in now"}`, `{"level":"info","msg":"user 2 logged in now"}`, `{"level":"info","msg":"user 3 logged in now"}`},
		{"GET /api/users/1 200 5ms", "GET /api/users/2 200 7ms", "GET /api/users/3 200 9ms"},
	} {
		d := New(Config{}, time.Minute)
		d.Add(1, 0, lines[0])
		d.Add(1, 0, lines[1])
		d.Add(1, 1, lines[2]) // scratch and token buffers have grown
		if n := testing.AllocsPerRun(100, func() { d.Add(1, 1, lines[2]) }); n != 0 {
			t.Errorf("Add(%q) of a known pattern allocates %v times, want 0", lines[2], n)
		}
	}
}

// TestDetectorLevels: lines of different levels are clustered apart, as Loki's pattern ingester
// keeps a tree per stream and level, so one template seen at two levels gives two patterns; the
// same pattern at one level in two streams is one.
func TestDetectorLevels(t *testing.T) {
	d := New(Config{}, time.Minute)
	for i := range 40 {
		d.AddLevel(1, "info", int64(i), fmt.Sprintf("request %d served in %d ms", i, i*3))
		d.AddLevel(2, "info", int64(i), fmt.Sprintf("request %d served in %d ms", 100+i, i))
		if i%4 == 0 {
			d.AddLevel(1, "error", int64(i), fmt.Sprintf("request %d served in %d ms", i, 9000+i))
		}
	}
	var got []string
	for _, p := range d.Patterns() {
		got = append(got, fmt.Sprintf("%d %s %s", p.Total, p.Level, p.Pattern))
	}
	want := []string{"80 info request <_> served in <_> ms", "10 error request <_> served in <_> ms"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("patterns %q, want %q", got, want)
	}
}
