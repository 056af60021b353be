package pattern

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/race"
)

func TestDetectorCollapsesVaryingTokens(t *testing.T) {
	d := New(Config{}, 10*time.Second)
	base := int64(1711839260) * int64(time.Second)
	for i := range 30 {
		ts := base + int64(i)*int64(time.Second)
		d.Add(ts, fmt.Sprintf("ts=2024-03-30T23:03:%02d caller=grpc_logging.go:66 level=info method=/cortex.Ingester/Push duration=%dms msg=gRPC", i, 100+i))
	}
	for i := range 5 {
		d.Add(base+int64(i)*int64(time.Second), fmt.Sprintf("connection from 10.0.0.%d closed after %d bytes", i, i*100))
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
	d.Add(0, "GET /api/users 200")
	d.Add(0, "GET /api/users 200")
	d.Add(0, "starting the server on port 8080 with tls enabled")
	got := d.Patterns()
	if len(got) != 2 || got[0].Pattern != "GET /api/users 200" || got[0].Total != 2 {
		t.Fatalf("Patterns() = %+v, want the GET line twice and the startup line once", got)
	}
}

func TestTokenize(t *testing.T) {
	check := func(line, want string, n int) {
		t.Helper()
		ts := tokenize(nil, line, 128)
		if len(ts) != n || render(ts) != want {
			t.Errorf("tokenize(%q) = %d tokens rendering %q, want %d rendering %q", line, len(ts), render(ts), n, want)
		}
	}
	check("a=1 b=2", "a=1 b=2", 4)
	check("  spaced\tout  line ", "spaced out line", 3)
	check("k= =v x=", "k= =v x=", 3)
	check("", "", 0)
	if got := tokenize(nil, "a b c d e f", 3); len(got) != 3 || got[2].text != "c d e f" {
		t.Errorf("tokenize with max 3 = %+v, want the rest of the line as the last token", got)
	}
}

func TestDetectorBoundsClusters(t *testing.T) {
	d := New(Config{MaxClusters: 50}, time.Minute)
	for i := range 1000 {
		// Every line is distinct in its first tokens and in length, so none can merge.
		d.Add(int64(i), strings.Repeat(fmt.Sprintf("w%c ", 'a'+i%26), 1+i%40)+fmt.Sprint(i))
	}
	if d.clusters > 50 {
		t.Fatalf("detector holds %d clusters, want at most 50", d.clusters)
	}
	n := 0
	d.walk(func(*cluster) { n++ })
	if n != d.clusters {
		t.Fatalf("tree holds %d clusters, counter says %d", n, d.clusters)
	}
}

func FuzzDetector(f *testing.F) {
	f.Add("level=info msg=hello duration=5ms")
	f.Add("  \t=\x00 a=b=c")
	f.Fuzz(func(t *testing.T, line string) {
		d := New(Config{MaxClusters: 4}, time.Second)
		d.Add(1, line)
		d.Add(-7, line+" x")
		for _, p := range d.Patterns() {
			if p.Total <= 0 || len(p.Samples) == 0 {
				t.Fatalf("pattern %+v has no lines", p)
			}
		}
	})
}

func benchLines() []string {
	lines := make([]string, 1000)
	for i := range lines {
		switch i % 4 {
		case 0:
			lines[i] = fmt.Sprintf("ts=2024-03-30T23:03:%02d caller=grpc_logging.go:66 level=info method=/cortex.Ingester/Push duration=%dms msg=gRPC", i%60, i)
		case 1:
			lines[i] = fmt.Sprintf(`10.0.%d.%d - - [30/Mar/2024:23:03:%02d +0000] "GET /api/v1/users/%d HTTP/1.1" 200 %d`, i%256, i%7, i%60, i, i*3)
		case 2:
			lines[i] = fmt.Sprintf("level=error msg=\"connection refused\" host=db-%d retry=%d", i%5, i%3)
		default:
			lines[i] = fmt.Sprintf("flushed chunk for stream %x after %d entries", i*7919, i)
		}
	}
	return lines
}

func BenchmarkDetectorAdd(b *testing.B) {
	lines := benchLines()
	var size int64
	for _, l := range lines {
		size += int64(len(l))
	}
	d := New(Config{}, 10*time.Second)
	b.ReportAllocs()
	b.SetBytes(size / int64(len(lines)))
	for i := 0; b.Loop(); i++ {
		d.Add(int64(i)*int64(time.Millisecond), lines[i%len(lines)])
	}
}

func BenchmarkDetectorPatterns(b *testing.B) {
	d := New(Config{}, 10*time.Second)
	for i, l := range benchLines() {
		d.Add(int64(i)*int64(time.Second), l)
	}
	b.ReportAllocs()
	for b.Loop() {
		if len(d.Patterns()) == 0 {
			b.Fatal("no patterns")
		}
	}
}

// TestDetectorAddAllocs checks that a line joining a known pattern in a known step allocates
// nothing: that is the common case on a busy stream.
func TestDetectorAddAllocs(t *testing.T) {
	race.SkipAllocs(t)
	d := New(Config{}, time.Minute)
	d.Add(0, "level=info msg=done duration=5ms")
	d.Add(0, "level=info msg=done duration=7ms")
	line := "level=info msg=done duration=9ms"
	if n := testing.AllocsPerRun(100, func() { d.Add(1, line) }); n != 0 {
		t.Errorf("Add of a known pattern allocates %v times, want 0", n)
	}
}
