package logql

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
)

// A range aggregation grouped by (labels) has its parsers extract only the labels it needs
// (log.WithRequiredLabels). These tests run queries with and without that and require equal
// results, over data made to catch a label skipped wrongly: values that change on every line,
// parse errors between good lines, a grouping label only some lines have, names that clash
// with stream labels, nested and sanitised keys, structured metadata.

func requiredLabelsStreams() []logproto.Stream {
	var api, web []logproto.Entry
	for i := 0; i < 300; i++ {
		ts := sec(i * 2)
		var line string
		switch {
		case i%17 == 5:
			line = `{"level":"error","status":` // malformed
		case i%3 == 0:
			line = fmt.Sprintf(`{"ts":"%d","level":"info","status":%d,"took":"%dms","app":"inner","user":{"id":%d},"a-b":"x%d"}`, i, 200+i%4*100, i%50, i, i%2)
		default:
			line = fmt.Sprintf(`{"status":%d,"ts":"%d","took":"%dms","latency":%d}`, 500+i%2, i, i%30, i%9)
		}
		var sm labels.Labels
		if i%4 == 0 {
			sm = labels.FromStrings("trace_id", fmt.Sprint(i), "region", []string{"eu", "us"}[i%2])
		}
		api = append(api, logproto.Entry{Timestamp: ts, Line: line, StructuredMetadata: sm})
		web = append(web, logproto.Entry{Timestamp: ts + 1,
			Line: fmt.Sprintf(`ts=%d level=%s status=%d latency=%dms msg="r %d" pod=inner`, i, []string{"info", "warn", "error"}[i%3], 200+i%2*300, i%7, i)})
	}
	return []logproto.Stream{
		{Labels: `{app="api", pod="api-1"}`, Entries: api},
		{Labels: `{app="web", pod="web-1"}`, Entries: web},
	}
}

var requiredLabelsQueries = []string{
	`sum by (level) (count_over_time({app=~".+"} | json [1m]))`,
	`sum by (level) (count_over_time({app=~".+"} | logfmt [1m]))`,
	`sum by (level) (rate({app="api"} | json | __error__="" [1m]))`,
	`sum by (level, __error__) (count_over_time({app="api"} | json [1m]))`,
	`sum by (__error_details__) (count_over_time({app="api"} | json [1m]))`,
	`sum by (status) (count_over_time({app="api"} | json | level="info" [1m]))`,
	`sum by (level) (count_over_time({app="api"} | json | status >= 500 [1m]))`,
	`sum by (level) (count_over_time({app="api"} | json | took > 20ms or status == 200 [1m]))`,
	`sum by (app_extracted, pod) (count_over_time({app="api"} | json [1m]))`,
	`sum by (pod_extracted) (count_over_time({app="web"} | logfmt [1m]))`,
	`sum by (user_id, a_b) (count_over_time({app="api"} | json [1m]))`,
	`sum by (region) (count_over_time({app="api"} | json [1m]))`,
	`sum (count_over_time({app=~".+"} | json | __error__="" [1m]))`,
	`sum by (level) (sum_over_time({app="api"} | json | unwrap latency [1m]))`,
	`sum by (level) (sum_over_time({app="web"} | logfmt | unwrap duration(latency) | __error__="" [1m]))`,
	`max by (level) (max_over_time({app="api"} | json | unwrap status [1m]))`,
	`count_over_time({app="api"} | json [1m]) by (level)`,
	`quantile_over_time(0.9, {app="api"} | json | unwrap latency [1m]) by (status)`,
	`sum by (level) (count_over_time({app="api"} | json level="level", s="status" [1m]))`,
	`sum by (level) (count_over_time({app="web"} | logfmt level, st="status" [1m]))`,
	`sum by (level) (count_over_time({app="web"} | regexp "level=(?P<level>\\w+) status=(?P<status>\\d+)" [1m]))`,
	`sum by (status) (count_over_time({app="web"} | pattern "ts=<ts> level=<level> status=<status> <_>" [1m]))`,
	`sum by (level) (count_over_time({app="api"} | json | line_format "{{.ts}}" [1m]))`,
	`sum by (level) (count_over_time({app="api"} | json | label_format level="{{.status}}" [1m]))`,
	`sum without (ts, took) (count_over_time({app="api"} | json [1m]))`,
	`count_over_time({app="api"} | json [1m])`,
	`sum by (level) (count_over_time({app="api"} | json | drop ts [1m]))`,
	`sum by (level) (count_over_time({app="api"} | json | keep level, status [1m]))`,
}

func TestRequiredLabelsGiveSameResults(t *testing.T) {
	q, err := NewMemQuerier(requiredLabelsStreams())
	if err != nil {
		t.Fatal(err)
	}
	restricted := NewEngine(q, Options{})
	full := NewEngine(q, Options{})
	full.allLabels = true
	for _, qs := range requiredLabelsQueries {
		for _, p := range []Params{
			rangeQ(qs, sec(0), sec(600), 30*time.Second),
			instant(qs, sec(300)),
		} {
			want, werr := full.Query(context.Background(), p)
			got, gerr := restricted.Query(context.Background(), p)
			if fmt.Sprint(gerr) != fmt.Sprint(werr) {
				t.Fatalf("%s: error %v, want %v", qs, gerr, werr)
			}
			if werr != nil {
				continue
			}
			if g, w := valueSummary(got.Data), valueSummary(want.Data); g != w {
				t.Fatalf("%s:\n got %s\nwant %s", qs, g, w)
			}
			if valueSummary(want.Data) == "" {
				t.Fatalf("%s: no result; the test data does not exercise the query", qs)
			}
		}
	}
}
