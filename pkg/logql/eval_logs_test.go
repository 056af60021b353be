package logql

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sluicelog/sluice/pkg/logproto"
)

// streamsSummary prints streams compactly: labels then the entries' offsets and lines.
func streamsSummary(s Streams) string {
	var sb strings.Builder
	for _, st := range s {
		sb.WriteString(st.Labels)
		sb.WriteString("\n")
		for _, e := range st.Entries {
			sb.WriteString("  ")
			sb.WriteString(formatOffset(e.Timestamp))
			sb.WriteString(" ")
			sb.WriteString(e.Line)
			if !e.StructuredMetadata.IsEmpty() || !e.Parsed.IsEmpty() {
				sb.WriteString(" sm=" + e.StructuredMetadata.String() + " parsed=" + e.Parsed.String())
			}
			sb.WriteString("\n")
		}
	}
	return sb.String()
}

func TestLogQueries(t *testing.T) {
	eng := newFixtureEngine(t)
	run := func(p Params) Streams {
		t.Helper()
		res, err := eng.Query(context.Background(), p)
		if err != nil {
			t.Fatalf("Query(%q): %v", p.Query, err)
		}
		s, ok := res.Data.(Streams)
		if !ok {
			t.Fatalf("Query(%q) = %T, want Streams", p.Query, res.Data)
		}
		return s
	}
	tests := []struct {
		name string
		p    Params
		want string
	}{
		{
			name: "selector, line filter, backward with limit",
			p:    Params{Query: `{app="web"} |= "request 1"`, Start: sec(0), End: sec(200), Limit: 3},
			want: "{app=\"web\", env=\"prod\", pod=\"web-1\"}\n" +
				"  +195s level=warn msg=\"request 19\" status=200 latency=300\n" +
				"  +185s level=info msg=\"request 18\" status=200 latency=200\n" +
				"  +175s level=error msg=\"request 17\" status=500 latency=100\n",
		},
		{
			name: "forward, regexp and negative filters",
			p: Params{Query: `{env="prod"} |~ "request [0-9]$|\"level\":\"warn\"" != "/api/v1"`, Start: sec(0), End: sec(40),
				Direction: logproto.Forward},
			want: "{app=\"api\", env=\"prod\", pod=\"api-1\"}\n" +
				"  +10s {\"level\":\"warn\",\"status\":200,\"path\":\"/api/v2\",\"took\":\"20ms\",\"size\":\"2KB\"}\n",
		},
		{
			name: "logfmt and label filter, labels merged",
			p: Params{Query: `{app="web"} | logfmt | status >= 500 and latency > 250`, Start: sec(0), End: sec(200),
				Direction: logproto.Forward},
			want: "{app=\"web\", env=\"prod\", latency=\"300\", level=\"error\", msg=\"request 11\", pod=\"web-1\", status=\"500\"}\n" +
				"  +115s level=error msg=\"request 11\" status=500 latency=300\n",
		},
		{
			name: "json, line_format, keep",
			p: Params{Query: `{app="api"} | json | level="error" | line_format "{{.path}} {{.status}}" | keep app, level`,
				Start: sec(0), End: sec(60), Direction: logproto.Forward},
			want: "{app=\"api\", level=\"error\"}\n  +20s /api/v1 500\n  +50s /api/v2 500\n",
		},
		{
			name: "json error label",
			p:    Params{Query: `{app="api"} | json | __error__!=""`, Start: sec(0), End: sec(700)},
			want: "{__error__=\"JSONParserErr\", __error_details__=\"",
		},
		{
			name: "categorize labels",
			p: Params{Query: `{app="worker"} | regexp "job (?P<job>\\d+)" | job > 3`, Start: sec(0), End: sec(1000),
				CategorizeLabels: true},
			want: "{app=\"worker\", env=\"dev\"}\n" +
				"  +500s job 5 done sm={trace_id=\"t5\"} parsed={job=\"5\"}\n" +
				"  +400s job 4 done sm={trace_id=\"t4\"} parsed={job=\"4\"}\n",
		},
		{
			name: "structured metadata merged without categorize",
			p:    Params{Query: `{app="worker"} | trace_id="t1"`, Start: sec(0), End: sec(1000)},
			want: "{app=\"worker\", env=\"dev\", trace_id=\"t1\"}\n  +100s job 1 done\n",
		},
		{
			name: "interval",
			p:    Params{Query: `{app="worker"}`, Start: sec(0), End: sec(1000), Interval: 150e9, Direction: logproto.Forward},
			// One interval for the whole query, across streams, as in Loki.
			want: "{app=\"worker\", env=\"dev\", trace_id=\"t0\"}\n  +0s job 0 done\n" +
				"{app=\"worker\", env=\"dev\", trace_id=\"t2\"}\n  +200s job 2 done\n" +
				"{app=\"worker\", env=\"dev\", trace_id=\"t4\"}\n  +400s job 4 done\n",
		},
		{
			name: "interval backward",
			p:    Params{Query: `{app="worker"} | drop trace_id`, Start: sec(0), End: sec(1000), Interval: 150e9},
			want: "{app=\"worker\", env=\"dev\"}\n  +500s job 5 done\n  +300s job 3 done\n  +100s job 1 done\n",
		},
		{
			name: "end is exclusive",
			p:    Params{Query: `{app="worker"} | drop trace_id`, Start: sec(100), End: sec(300), Direction: logproto.Forward},
			want: "{app=\"worker\", env=\"dev\"}\n  +100s job 1 done\n  +200s job 2 done\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := streamsSummary(run(tc.p))
			if !strings.HasPrefix(got, tc.want) || (!strings.HasSuffix(tc.want, "\"") && got != tc.want) {
				t.Errorf("Query(%q) =\n%s\nwant\n%s", tc.p.Query, got, tc.want)
			}
		})
	}
}

func TestLogQueryStats(t *testing.T) {
	eng := newFixtureEngine(t)
	res, err := eng.Query(context.Background(), Params{Query: `{app="worker"} |= "job 1"`, Start: sec(0), End: sec(1000)})
	if err != nil {
		t.Fatal(err)
	}
	// The line filter is pushed down, so only the matching line is read.
	if res.Stats.LinesProcessed != 1 || res.Stats.BytesProcessed != int64(len("job 1 done")) || res.Stats.EntriesReturned != 1 {
		t.Fatalf("Stats = %+v, want 1 line of 10 bytes, 1 entry", res.Stats)
	}
}

func TestLogQueryErrors(t *testing.T) {
	eng := newFixtureEngine(t)
	for q, want := range map[string]string{
		`{app="api"`:                       "parse error at line 1",
		`{app="api"} | line_format "{{.a"`: "parse error : | line_format",
		`{app="api"} | pattern "nothing"`:  "parse error : | pattern",
	} {
		_, err := eng.Query(context.Background(), Params{Query: q, Start: sec(0), End: sec(10)})
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Query(%q) error = %v, want prefix %q", q, err, want)
		}
	}
}

func TestInstantLogQueryRefused(t *testing.T) {
	eng := newFixtureEngine(t)
	_, err := eng.Query(context.Background(), Params{Query: `{app="api"}`, Start: sec(10), End: sec(10)})
	if !errors.Is(err, ErrBadParams) || !strings.Contains(err.Error(), ErrInstantLogQuery) {
		t.Fatalf("instant log query: err = %v", err)
	}
}
