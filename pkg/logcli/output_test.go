package logcli_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/logcli"
	"github.com/sluicelog/sluice/pkg/logcli/logclitest"
)

func TestQueryOutputGolden(t *testing.T) {
	srv := logclitest.Start(t)
	srv.Add(sampleEntries()...)
	single := map[string]string{"app": "solo", "job": "x"}
	srv.Add(logclitest.Entry{Labels: single, Timestamp: base.UnixNano(), Line: "only stream"})
	c := newClient(t, srv.URL)
	india := time.FixedZone("IST", 5*3600+1800)

	tests := []struct {
		name  string
		mode  string
		opts  logcli.OutputOptions
		query string
		mod   func(q *logcli.Query)
	}{
		{name: "default_utc", mode: "default", opts: logcli.OutputOptions{Timezone: time.UTC}},
		{name: "default_timezone", mode: "default", opts: logcli.OutputOptions{Timezone: india}},
		{name: "default_forward", mode: "default", opts: logcli.OutputOptions{Timezone: time.UTC}, mod: func(q *logcli.Query) { q.Forward = true }},
		{name: "default_no_labels", mode: "default", opts: logcli.OutputOptions{Timezone: time.UTC, NoLabels: true}},
		{name: "default_color", mode: "default", opts: logcli.OutputOptions{Timezone: time.UTC, Color: true}},
		{name: "default_colored_output", mode: "default", opts: logcli.OutputOptions{Timezone: time.UTC, Color: true, ColoredOutput: true}},
		{name: "default_labels_length", mode: "default", opts: logcli.OutputOptions{Timezone: time.UTC}, mod: func(q *logcli.Query) { q.FixedLabelsLen = 50 }},
		{name: "default_exclude_label", mode: "default", opts: logcli.OutputOptions{Timezone: time.UTC}, mod: func(q *logcli.Query) { q.IgnoreLabelsKey = []string{"pod"} }},
		{name: "default_include_label", mode: "default", opts: logcli.OutputOptions{Timezone: time.UTC}, mod: func(q *logcli.Query) { q.ShowLabelsKey = []string{"pod", "env"} }},
		{name: "default_include_common_labels", mode: "default", opts: logcli.OutputOptions{Timezone: time.UTC}, mod: func(q *logcli.Query) { q.IncludeCommonLabels = true }},
		{name: "default_quiet", mode: "default", opts: logcli.OutputOptions{Timezone: time.UTC}, mod: func(q *logcli.Query) { q.Quiet = true; q.IgnoreLabelsKey = []string{"pod"} }},
		{name: "default_single_stream", mode: "default", opts: logcli.OutputOptions{Timezone: time.UTC}, query: `{app="solo"}`},
		{name: "default_common_app", mode: "default", opts: logcli.OutputOptions{Timezone: time.UTC}, query: `{app="api"}`},
		{name: "raw", mode: "raw", opts: logcli.OutputOptions{Timezone: time.UTC}},
		{name: "jsonl_utc", mode: "jsonl", opts: logcli.OutputOptions{Timezone: time.UTC}},
		{name: "jsonl_timezone", mode: "jsonl", opts: logcli.OutputOptions{Timezone: india}},
		{name: "jsonl_no_labels", mode: "jsonl", opts: logcli.OutputOptions{Timezone: time.UTC, NoLabels: true}},
		{name: "jsonl_exclude_label", mode: "jsonl", opts: logcli.OutputOptions{Timezone: time.UTC}, mod: func(q *logcli.Query) { q.IgnoreLabelsKey = []string{"pod", "region"} }},
		{name: "jsonl_include_common_labels", mode: "jsonl", opts: logcli.OutputOptions{Timezone: time.UTC}, mod: func(q *logcli.Query) { q.IncludeCommonLabels = true }},
		{name: "limit_2", mode: "default", opts: logcli.OutputOptions{Timezone: time.UTC}, mod: func(q *logcli.Query) { q.Limit = 2 }},
		{name: "metric_matrix", mode: "default", opts: logcli.OutputOptions{Timezone: time.UTC}, query: `count_over_time({env="prod"}[1h])`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			query := tt.query
			if query == "" {
				query = `{env="prod"}`
			}
			q := &logcli.Query{
				QueryString: query, Start: base.Add(-time.Minute), End: base.Add(time.Minute),
				Limit: 30, BatchSize: 1000,
			}
			if tt.mod != nil {
				tt.mod(q)
			}
			cp := newCapture(t, tt.mode, tt.opts)
			if err := q.DoQuery(ctx(t), c, &cp.p); err != nil {
				t.Fatalf("DoQuery: %v", err)
			}
			checkGolden(t, tt.name, cp.String())
		})
	}
}

func TestInstantQueryGolden(t *testing.T) {
	srv := logclitest.Start(t)
	srv.Add(sampleEntries()...)
	c := newClient(t, srv.URL)
	for _, tt := range []struct{ name, query string }{
		{"instant_vector", `count_over_time({env="prod"}[1h])`},
		{"instant_streams", `{app="web"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cp := newCapture(t, "default", logcli.OutputOptions{Timezone: time.UTC})
			q := &logcli.Query{QueryString: tt.query, Limit: 30}
			if err := q.DoInstant(ctx(t), c, &cp.p, base.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.name, cp.String())
		})
	}
}

func TestNewLogOutputRejectsUnknownMode(t *testing.T) {
	if _, err := logcli.NewLogOutput("yaml", logcli.OutputOptions{}); err == nil {
		t.Fatal("NewLogOutput(yaml) succeeded, want an error")
	}
}

func TestStatsFlag(t *testing.T) {
	srv := logclitest.Start(t)
	srv.Add(sampleEntries()...)
	cp := newCapture(t, "raw", logcli.OutputOptions{Timezone: time.UTC})
	cp.p.Stats = true
	q := &logcli.Query{QueryString: `{app="web"}`, Start: base, End: base.Add(time.Minute), Limit: 30, Quiet: true}
	if err := q.DoQuery(ctx(t), newClient(t, srv.URL), &cp.p); err != nil {
		t.Fatal(err)
	}
	want := "Ingester.TotalReached           1\nQuerier.Store.TotalChunksRef    0\nSummary.BytesProcessedPerSecond 1.0 kB\n"
	if !strings.HasPrefix(cp.stderr.String(), want) || !strings.Contains(cp.stderr.String(), "Summary.ExecTime                100ms\n") {
		t.Errorf("stats output %q, want it to start with %q", cp.stderr.String(), want)
	}
}
