package logql

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
)

// t0 is the start of the fixture's data: 2024-01-01T00:00:00Z in Unix ns.
var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()

func sec(s int) int64 { return t0 + int64(s)*int64(time.Second) }

// fixtureStreams is the fixed data set of the engine tests: two apps, json and logfmt lines,
// one malformed json line, structured metadata on some entries.
func fixtureStreams() []logproto.Stream {
	var api, web, worker []logproto.Entry
	levels := []string{"info", "warn", "error"}
	for i := 0; i < 60; i++ {
		lvl := levels[i%3]
		status := 200
		if lvl == "error" {
			status = 500
		}
		api = append(api, logproto.Entry{
			Timestamp: sec(i * 10),
			Line:      fmt.Sprintf(`{"level":"%s","status":%d,"path":"/api/v%d","took":"%dms","size":"%dKB"}`, lvl, status, i%2+1, 10*(i%7+1), i%5+1),
		})
		web = append(web, logproto.Entry{
			Timestamp: sec(i*10 + 5),
			Line:      fmt.Sprintf(`level=%s msg="request %d" status=%d latency=%d`, lvl, i, status, i%4*100),
		})
	}
	// A malformed json line in the api stream, at 601s.
	api = append(api, logproto.Entry{Timestamp: sec(601), Line: `{"level":"error", broken`})
	for i := 0; i < 6; i++ {
		worker = append(worker, logproto.Entry{
			Timestamp:          sec(i * 100),
			Line:               fmt.Sprintf("job %d done", i),
			StructuredMetadata: labels.FromStrings("trace_id", fmt.Sprintf("t%d", i)),
		})
	}
	return []logproto.Stream{
		{Labels: `{app="api", env="prod", pod="api-1"}`, Entries: api},
		{Labels: `{app="web", env="prod", pod="web-1"}`, Entries: web},
		{Labels: `{app="worker", env="dev"}`, Entries: worker},
	}
}

func newFixtureEngine(tb testing.TB) *Engine {
	tb.Helper()
	q, err := NewMemQuerier(fixtureStreams())
	if err != nil {
		tb.Fatal(err)
	}
	return NewEngine(q, Options{})
}

// formatOffset prints a timestamp as seconds after t0.
func formatOffset(ns int64) string {
	return fmt.Sprintf("+%gs", float64(ns-t0)/1e9)
}
