package distributor

import (
	"context"
	"errors"
	"flag"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
	"github.com/sluicelog/sluice/pkg/validation"
)

type recorder struct{ streams []logproto.Stream }

func (r *recorder) Push(_ context.Context, _ string, s []logproto.Stream) error {
	r.streams = append(r.streams, s...)
	return nil
}

func defaultLimits() validation.Limits {
	var l validation.Limits
	l.RegisterFlags(flag.NewFlagSet("", flag.PanicOnError))
	return l
}

func TestParseLabels(t *testing.T) {
	check := func(in, want string) {
		t.Helper()
		ls, err := syntax.ParseLabels(in)
		if err != nil || ls.String() != want {
			t.Errorf("ParseLabels(%q) = %v, %v; want %s", in, ls, err, want)
		}
	}
	check(`{app="api", pod="x"}`, `{app="api", pod="x"}`)
	check(`{pod="x",app="api"}`, `{app="api", pod="x"}`)
	check(`{ a = "q\"uote" }`, `{a="q\"uote"}`)
	check("{a=`raw`}", `{a="raw"}`)
	check(`{}`, `{}`)
	for _, bad := range []string{`app="x"`, `{app="x}`, `{1a="x"}`, `{a=~"x"}`, `{a="x" b="y"}`, `{a=x}`} {
		if _, err := syntax.ParseLabels(bad); err == nil {
			t.Errorf("ParseLabels(%q) succeeded", bad)
		}
	}
}

func TestPushValidation(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	lim := defaultLimits()
	lim.MaxLineSize = 20
	lim.MaxLabelNamesPerSeries = 3
	cases := []struct {
		name    string
		stream  logproto.Stream
		status  int
		message string
	}{
		{"ok", logproto.Stream{Labels: `{app="a"}`, Entries: []logproto.Entry{{Timestamp: now.UnixNano(), Line: "fine"}}}, 0, ""},
		{"unparseable", logproto.Stream{Labels: `{app="a}`, Entries: []logproto.Entry{{Timestamp: now.UnixNano(), Line: "x"}}}, 400, "error parsing labels"},
		{"empty", logproto.Stream{Labels: `{}`, Entries: []logproto.Entry{{Timestamp: now.UnixNano(), Line: "x"}}}, 400, "at least one label pair"},
		{"duplicate", logproto.Stream{Labels: `{a="1", a="2"}`, Entries: []logproto.Entry{{Timestamp: now.UnixNano(), Line: "x"}}}, 400, "duplicate label name"},
		{"too many labels", logproto.Stream{Labels: `{a="1", b="2", c="3", d="4"}`, Entries: []logproto.Entry{{Timestamp: now.UnixNano(), Line: "x"}}}, 400, "has 4 label names; limit 3"},
		{"line too long", logproto.Stream{Labels: `{app="a"}`, Entries: []logproto.Entry{{Timestamp: now.UnixNano(), Line: strings.Repeat("x", 21)}}}, 400, "max entry size '20' bytes exceeded"},
		{"too old", logproto.Stream{Labels: `{app="a"}`, Entries: []logproto.Entry{{Timestamp: now.Add(-8 * 24 * time.Hour).UnixNano(), Line: "x"}}}, 400, "timestamp too old"},
		{"too new", logproto.Stream{Labels: `{app="a"}`, Entries: []logproto.Entry{{Timestamp: now.Add(time.Hour).UnixNano(), Line: "x"}}}, 400, "timestamp too new"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			d := New(validation.NewOverrides(lim), rec, nil)
			d.now = func() time.Time { return now }
			err := d.Push(context.Background(), "t", &logproto.PushRequest{Streams: []logproto.Stream{tc.stream}})
			if tc.status == 0 {
				if err != nil || len(rec.streams) != 1 {
					t.Fatalf("Push = %v, stored %d streams", err, len(rec.streams))
				}
				return
			}
			var de *Error
			if !errors.As(err, &de) || de.Status != tc.status || !strings.Contains(de.Msg, tc.message) {
				t.Fatalf("Push = %v, want %d containing %q", err, tc.status, tc.message)
			}
			if len(rec.streams) != 0 {
				t.Fatalf("rejected stream was stored: %v", rec.streams)
			}
		})
	}
}

func TestPartialAccept(t *testing.T) {
	now := time.Now()
	rec := &recorder{}
	d := New(validation.NewOverrides(defaultLimits()), rec, nil)
	err := d.Push(context.Background(), "t", &logproto.PushRequest{Streams: []logproto.Stream{
		{Labels: `{app="good"}`, Entries: []logproto.Entry{{Timestamp: now.UnixNano(), Line: "a"}, {Timestamp: 1, Line: "ancient"}}},
		{Labels: `{app=bad}`, Entries: []logproto.Entry{{Timestamp: now.UnixNano(), Line: "b"}}},
		{Labels: `{app="also good"}`, Entries: []logproto.Entry{{Timestamp: now.UnixNano(), Line: "c"}}},
	}})
	var de *Error
	if !errors.As(err, &de) || de.Status != http.StatusBadRequest || !strings.Contains(de.Msg, "and 1 more errors") {
		t.Fatalf("Push = %v", err)
	}
	if len(rec.streams) != 2 || len(rec.streams[0].Entries) != 1 || rec.streams[1].Labels != `{app="also good", service_name="also good"}` {
		t.Fatalf("stored %+v", rec.streams)
	}
}

func TestTruncateAndRateLimit(t *testing.T) {
	lim := defaultLimits()
	lim.MaxLineSize = 4
	lim.MaxLineSizeTruncate = true
	lim.IngestionRateMB = 1.0 / (1 << 20) // one byte per second
	lim.IngestionBurstSizeMB = 10.0 / (1 << 20)
	rec := &recorder{}
	d := New(validation.NewOverrides(lim), rec, nil)
	now := time.Now()
	d.now = func() time.Time { return now }
	req := func() *logproto.PushRequest {
		return &logproto.PushRequest{Streams: []logproto.Stream{{Labels: `{app="a"}`, Entries: []logproto.Entry{{Timestamp: now.UnixNano(), Line: "truncated"}}}}}
	}
	if err := d.Push(context.Background(), "t", req()); err != nil {
		t.Fatal(err)
	}
	if got := rec.streams[0].Entries[0].Line; got != "trun" {
		t.Fatalf("line = %q, want truncated to 4 bytes", got)
	}
	d.Push(context.Background(), "t", req())
	err := d.Push(context.Background(), "t", req()) // 12 bytes in the same instant: over the burst of 10
	var de *Error
	if !errors.As(err, &de) || de.Status != http.StatusTooManyRequests || !strings.Contains(de.Msg, "Ingestion rate limit exceeded for user t") {
		t.Fatalf("third push = %v, want 429", err)
	}
}

// BenchmarkPush pushes 10 streams of 100 lines. "off" is the push without service name and
// level discovery (what every push cost before they existed); the others have both on, with
// lines whose level is found by a keyword, a logfmt field or a JSON field, and with entries
// that carry structured metadata of their own. ns/line is the time per pushed line.
func BenchmarkPush(b *testing.B) {
	lines := map[string]string{
		"plain":  "GET /api/v1/users 200 12ms",
		"logfmt": `ts=2024-05-01T10:00:00Z caller=http.go:42 level=info method=GET path=/api/v1/users status=200 duration=12ms`,
		"json":   `{"ts":"2024-05-01T10:00:00Z","caller":"http.go:42","level":"info","method":"GET","path":"/api/v1/users","status":200,"duration":"12ms"}`,
	}
	run := func(b *testing.B, on bool, line string, meta labels.Labels) {
		lim := defaultLimits()
		lim.IngestionRateMB, lim.IngestionBurstSizeMB = 1e9, 1e9
		if !on {
			lim.DiscoverServiceName, lim.DiscoverLogLevels = nil, false
		}
		d := New(validation.NewOverrides(lim), &discard{}, nil)
		now := time.Now().UnixNano()
		req := &logproto.PushRequest{}
		n := 0
		for s := 0; s < 10; s++ {
			st := logproto.Stream{Labels: `{namespace="prod", app="api", pod="api-` + string(rune('a'+s)) + `"}`}
			for i := 0; i < 100; i++ {
				st.Entries = append(st.Entries, logproto.Entry{Timestamp: now + int64(i), Line: line, StructuredMetadata: meta})
				n++
			}
			req.Streams = append(req.Streams, st)
		}
		b.SetBytes(int64(n * len(line)))
		b.ReportAllocs()
		for b.Loop() {
			if on {
				// Discovery sets each entry's metadata: put back what the client sent, or
				// the next push would find a detected_level already there. (About 1 ns a
				// line.)
				for i := range req.Streams {
					for j := range req.Streams[i].Entries {
						req.Streams[i].Entries[j].StructuredMetadata = meta
					}
				}
			}
			if err := d.Push(context.Background(), "t", req); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/line")
	}
	b.Run("off", func(b *testing.B) { run(b, false, lines["plain"], labels.EmptyLabels()) })
	for _, name := range []string{"plain", "logfmt", "json"} {
		b.Run("on/"+name, func(b *testing.B) { run(b, true, lines[name], labels.EmptyLabels()) })
	}
	b.Run("on/metadata", func(b *testing.B) { run(b, true, lines["logfmt"], labels.FromStrings("trace_id", "0af7651916cd43dd")) })
}

type discard struct{}

func (discard) Push(context.Context, string, []logproto.Stream) error { return nil }
