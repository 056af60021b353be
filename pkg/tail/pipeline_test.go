package tail

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql"
)

// TestPipelineMatchesEngine checks that a tail selects and rewrites exactly what a query_range
// of the same query returns: same lines, same labels, for every kind of stage.
func TestPipelineMatchesEngine(t *testing.T) {
	meta := labels.FromStrings("trace_id", "abc")
	streams := []logproto.Stream{
		{Labels: `{app="api", env="prod"}`, Entries: []logproto.Entry{
			{Timestamp: 1, Line: `{"level":"error","status":500,"took":"1.5s","size":"2KB","ip":"10.0.0.7","msg":"boom \u001b[31mred\u001b[0m"}`},
			{Timestamp: 2, Line: `{"level":"info","status":200,"took":"20ms","size":"100B","ip":"192.168.1.1","msg":"ok"}`, StructuredMetadata: meta},
			{Timestamp: 3, Line: `level=warn status=404 msg="not found" user=bob`},
			{Timestamp: 4, Line: `GET /api/items 200 12ms`},
			{Timestamp: 5, Line: `not json at all`},
		}},
		{Labels: `{app="web", env="dev"}`, Entries: []logproto.Entry{
			{Timestamp: 6, Line: `{"level":"error","status":502,"nested":{"a":"x"}}`},
			{Timestamp: 7, Line: `level=error status=500 user=alice`},
			{Timestamp: 8, Line: `POST /login 401 3ms`},
		}},
	}
	queries := []string{
		`{env=~".+"}`,
		`{app="api"} |= "error"`,
		`{env=~".+"} != "level" `,
		`{env=~".+"} |~ "status.?[:=]50[0-9]"`,
		`{env=~".+"} !~ "^{"`,
		`{env=~".+"} |= "error" or "404"`,
		`{env=~".+"} |> "<_> /<_> <_> <_>"`,
		`{env=~".+"} !> "<_> /<_> <_> <_>"`,
		`{env=~".+"} |= ip("10.0.0.0/8")`,
		`{env=~".+"} | json`,
		`{env=~".+"} | json | level="error"`,
		`{env=~".+"} | json | status >= 500`,
		`{env=~".+"} | json | took > 1s`,
		`{env=~".+"} | json | size > 1KB`,
		`{env=~".+"} | json | ip = ip("10.0.0.0/8")`,
		`{env=~".+"} | json | level="error" or status=200`,
		`{env=~".+"} | json lvl="level", inner="nested.a"`,
		`{env=~".+"} | logfmt`,
		`{env=~".+"} | logfmt --strict user`,
		`{env=~".+"} | regexp "(?P<method>[A-Z]+) (?P<path>\\S+)"`,
		`{env=~".+"} | pattern "<method> <path> <status> <_>"`,
		`{env=~".+"} | json | line_format "{{.level}}: {{.msg}}"`,
		`{env=~".+"} | json | label_format lvl=level, where="{{.app}}-{{.env}}"`,
		`{env=~".+"} | decolorize`,
		`{env=~".+"} | json | drop ip, took`,
		`{env=~".+"} | json | keep app, level`,
		`{env=~".+"} | logfmt | distinct level`,
		`{env=~".+"} | unpack`,
	}
	q, err := logql.NewMemQuerier(streams)
	if err != nil {
		t.Fatal(err)
	}
	eng := logql.NewEngine(q, logql.Options{})
	for _, query := range queries {
		t.Run(query, func(t *testing.T) {
			res, err := eng.Query(context.Background(), logql.Params{Query: query, Start: 0, End: 100, Direction: logproto.Forward, Limit: 1000})
			if err != nil {
				t.Fatalf("engine: %v", err)
			}
			var want []string
			for _, s := range res.Data.(logql.Streams) {
				for _, e := range s.Entries {
					want = append(want, fmt.Sprintf("%d %s %s", e.Timestamp, s.Labels, e.Line))
				}
			}
			if len(want) == 0 {
				t.Fatal("the engine selects nothing: the case tests nothing")
			}
			r := New(Config{}, nil)
			sub := subscribe(t, r, "t", query, 0)
			// The hub works through pushes in order: once the marker tail has its entry, the
			// tail under test has all of its own.
			marker := subscribe(t, r, "t", `{app="zz-end"}`, 0)
			r.Push("t", streams)
			r.Push("t", []logproto.Stream{{Labels: `{app="zz-end"}`, Entries: []logproto.Entry{{Timestamp: 99, Line: "end"}}}})
			collect(t, marker, 1)
			var got []string
			es, ds, _ := sub.Take(time.Now().Add(time.Hour), 1000, nil)
			if len(ds) > 0 {
				t.Fatalf("%d dropped", len(ds))
			}
			for _, e := range es {
				got = append(got, fmt.Sprintf("%d %s %s", e.Timestamp, e.Labels.String(), e.Line))
			}
			sort.Strings(want)
			sort.Strings(got)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("tail:\n%s\nengine:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}
