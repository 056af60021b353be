package logql_test

import (
	"context"
	"fmt"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql"
)

func ExampleEngine_Query() {
	q, err := logql.NewMemQuerier([]logproto.Stream{{
		Labels: `{app="api"}`,
		Entries: []logproto.Entry{
			{Timestamp: 1e9, Line: `level=info msg="started"`},
			{Timestamp: 2e9, Line: `level=error msg="failed"`},
			{Timestamp: 3e9, Line: `level=error msg="failed again"`, StructuredMetadata: labels.FromStrings("trace", "t1")},
		},
	}})
	if err != nil {
		panic(err)
	}
	eng := logql.NewEngine(q, logql.Options{})

	// A log query: newest first, labels from logfmt merged into the stream's.
	res, err := eng.Query(context.Background(), logql.Params{
		Query: `{app="api"} | logfmt | level="error"`, Start: 0, End: 10e9, Limit: 10,
	})
	if err != nil {
		panic(err)
	}
	for _, s := range res.Data.(logql.Streams) {
		for _, e := range s.Entries {
			fmt.Println(s.Labels, e.Line)
		}
	}

	// An instant metric query at t=10s: entries in (10s-1m, 10s].
	res, err = eng.Query(context.Background(), logql.Params{
		Query: `sum by (level) (count_over_time({app="api"} | logfmt [1m]))`, Start: 10e9, End: 10e9,
	})
	if err != nil {
		panic(err)
	}
	for _, s := range res.Data.(logql.Vector) {
		fmt.Println(s.Metric, s.V, s.T)
	}
	// Output:
	// {app="api", level="error", msg="failed again", trace="t1"} level=error msg="failed again"
	// {app="api", level="error", msg="failed"} level=error msg="failed"
	// {level="error"} 2 10000
	// {level="info"} 1 10000
}
