package distributor

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/validation"
)

// pushOne pushes one stream of entries with limits lim and returns what reached the ingester.
func pushOne(t *testing.T, lim validation.Limits, stream string, entries ...logproto.Entry) []logproto.Stream {
	t.Helper()
	rec := &recorder{}
	d := New(validation.NewOverrides(lim), rec, nil)
	if err := d.Push(context.Background(), "t", &logproto.PushRequest{Streams: []logproto.Stream{{Labels: stream, Entries: entries}}}); err != nil {
		t.Fatalf("Push(%s) = %v", stream, err)
	}
	return rec.streams
}

func entry(line string, meta ...string) logproto.Entry {
	return logproto.Entry{Timestamp: time.Now().UnixNano(), Line: line, StructuredMetadata: labels.FromStrings(meta...)}
}

func TestDetectedLevel(t *testing.T) {
	cases := []struct {
		name   string
		stream string
		entry  logproto.Entry
		want   string // the entry's structured metadata after the push
	}{
		{"from a logfmt line", `{app="a"}`, entry(`level=warn msg="an error"`), `{detected_level="warn"}`},
		{"from a JSON line", `{app="a"}`, entry(`{"lvl":"ERROR"}`), `{detected_level="error"}`},
		{"from a keyword", `{app="a"}`, entry(`[INFO] up`), `{detected_level="info"}`},
		{"nothing found is unknown", `{app="a"}`, entry(`GET / 200`), `{detected_level="unknown"}`},
		{"stream level label wins over the line", `{app="a", level="DEBUG"}`, entry(`level=error`), `{detected_level="debug"}`},
		{"stream level label kept as written when not a level", `{app="a", level="notice"}`, entry(`level=error`), `{detected_level="notice"}`},
		{"metadata level field", `{app="a"}`, entry(`[ERROR] x`, "severity", "Warning"), `{detected_level="warn", severity="Warning"}`},
		{"stream label before metadata", `{app="a", lvl="info"}`, entry(`x`, "severity", "error"), `{detected_level="info", severity="error"}`},
		{"OpenTelemetry severity number", `{app="a"}`, entry(`[ERROR] x`, "severity_number", "6"), `{detected_level="debug", severity_number="6"}`},
		{"metadata without a level field reads the line", `{app="a"}`, entry(`level=fatal`, "trace_id", "abc"), `{detected_level="fatal", trace_id="abc"}`},
		{"detected_level sent is kept", `{app="a", level="info"}`, entry(`level=error`, "detected_level", "critical"), `{detected_level="critical"}`},
		{"detected_level sent is normalised", `{app="a"}`, entry(`x`, "detected_level", "WRN", "a", "b"), `{a="b", detected_level="warn"}`},
		{"detected_level sent unknown value kept", `{app="a"}`, entry(`level=error`, "detected_level", "weird"), `{detected_level="weird"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := pushOne(t, defaultLimits(), tc.stream, tc.entry)
			if len(got) != 1 || len(got[0].Entries) != 1 {
				t.Fatalf("stored %+v", got)
			}
			if sm := got[0].Entries[0].StructuredMetadata.String(); sm != tc.want {
				t.Errorf("structured metadata = %s, want %s", sm, tc.want)
			}
		})
	}
}

func TestDetectedLevelOff(t *testing.T) {
	off := defaultLimits()
	off.DiscoverLogLevels = false
	noMeta := defaultLimits()
	noMeta.AllowStructuredMetadata = false
	for name, lim := range map[string]validation.Limits{"discover_log_levels false": off, "allow_structured_metadata false": noMeta} {
		t.Run(name, func(t *testing.T) {
			got := pushOne(t, lim, `{app="a"}`, entry(`level=error`))
			if sm := got[0].Entries[0].StructuredMetadata; !sm.IsEmpty() {
				t.Errorf("structured metadata = %s, want none", sm)
			}
		})
	}
	// Without allow_structured_metadata, an entry that carries metadata is still refused.
	rec := &recorder{}
	d := New(validation.NewOverrides(noMeta), rec, nil)
	err := d.Push(context.Background(), "t", &logproto.PushRequest{Streams: []logproto.Stream{{Labels: `{app="a"}`, Entries: []logproto.Entry{entry("x", "k", "v")}}}})
	var de *Error
	if !errors.As(err, &de) || !strings.Contains(de.Msg, "includes structured metadata, but this feature is disallowed") {
		t.Fatalf("Push with metadata and allow_structured_metadata false = %v", err)
	}
}

func TestDetectedLevelCustomFields(t *testing.T) {
	lim := defaultLimits()
	lim.LogLevelFields = []string{"log_level"}
	got := pushOne(t, lim, `{app="a", level="debug"}`, entry(`log_level=warn`), entry(`{"level":"dbg"}`))
	if sm := got[0].Entries[0].StructuredMetadata.String(); sm != `{detected_level="warn"}` {
		t.Errorf("entry 0: %s, want warn from log_level (the level label is not in the list)", sm)
	}
	if sm := got[0].Entries[1].StructuredMetadata.String(); sm != `{detected_level="unknown"}` {
		t.Errorf("entry 1: %s, want unknown", sm)
	}
	// An empty list means Loki's default list.
	lim.LogLevelFields = nil
	got = pushOne(t, lim, `{app="a"}`, entry(`SeverityText=WARN`))
	if sm := got[0].Entries[0].StructuredMetadata.String(); sm != `{detected_level="warn"}` {
		t.Errorf("empty log_level_fields: %s, want warn", sm)
	}
}

// TestDetectedLevelNotCounted checks that the metadata limits apply to what the client sent:
// an entry at the count limit is accepted although detected_level makes it one over.
func TestDetectedLevelNotCounted(t *testing.T) {
	lim := defaultLimits()
	lim.MaxStructuredMetadataEntries = 1
	got := pushOne(t, lim, `{app="a"}`, entry(`level=info`, "trace_id", "1"))
	if sm := got[0].Entries[0].StructuredMetadata.String(); sm != `{detected_level="info", trace_id="1"}` {
		t.Errorf("structured metadata = %s", sm)
	}
}

// TestDetectedLevelAfterRejection checks entries kept after a refused one (they are copied).
func TestDetectedLevelAfterRejection(t *testing.T) {
	rec := &recorder{}
	d := New(validation.NewOverrides(defaultLimits()), rec, nil)
	old := entry("level=info")
	old.Timestamp = 1
	_ = d.Push(context.Background(), "t", &logproto.PushRequest{Streams: []logproto.Stream{{Labels: `{app="a"}`, Entries: []logproto.Entry{entry("level=warn"), old, entry("level=error")}}}})
	if len(rec.streams) != 1 || len(rec.streams[0].Entries) != 2 {
		t.Fatalf("stored %+v", rec.streams)
	}
	for i, want := range []string{levelWarn, levelError} {
		if got := rec.streams[0].Entries[i].StructuredMetadata.Get(detectedLevelLabel); got != want {
			t.Errorf("entry %d: detected_level %q, want %q", i, got, want)
		}
	}
}

// TestPushLevelAllocs keeps the common case free of allocations per line: with detection on,
// a push of entries without metadata allocates what it allocates with detection off.
func TestPushLevelAllocs(t *testing.T) {
	for _, line := range []string{"GET /api/v1/users 200 12ms", `level=info msg="done" duration=3ms`, `{"level":"warn","msg":"slow"}`} {
		measure := func(on bool) float64 {
			lim := defaultLimits()
			lim.IngestionRateMB, lim.IngestionBurstSizeMB = 1e9, 1e9
			lim.DiscoverLogLevels = on
			d := New(validation.NewOverrides(lim), &discard{}, nil)
			req := &logproto.PushRequest{Streams: []logproto.Stream{{Labels: `{app="api", pod="p"}`}}}
			for i := 0; i < 200; i++ {
				req.Streams[0].Entries = append(req.Streams[0].Entries, logproto.Entry{Timestamp: time.Now().UnixNano(), Line: line})
			}
			return testing.AllocsPerRun(20, func() {
				for i := range req.Streams[0].Entries {
					req.Streams[0].Entries[i].StructuredMetadata = labels.EmptyLabels()
				}
				if err := d.Push(context.Background(), "t", req); err != nil {
					t.Fatal(err)
				}
			})
		}
		if off, on := measure(false), measure(true); on > off {
			t.Errorf("push of 200 lines like %q: %v allocations with level detection, %v without", line, on, off)
		}
	}
}
