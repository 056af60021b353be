package api_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
)

// TestPatternsByFormat pushes JSON, logfmt and plain streams of one service and checks the
// /patterns answer: each stream is tokenized by the format of its lines, patterns of fewer
// than 30 lines are left out (as Loki's querier does), and the rest come most frequent first.
// How each expected pattern follows from Loki's tokenizers is spelled out in the pattern
// package's tests (TestDetectorJSON, TestDetectorLogfmt, TestDetectorPlain).
func TestPatternsByFormat(t *testing.T) {
	srv := sluicetest.Start(t)
	t0 := time.Now().Add(-5 * time.Minute).Truncate(time.Minute)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	var cart, worker, nginx, java []line
	for i := range 40 {
		cart = append(cart, line{at: at(i), text: fmt.Sprintf(`{"ts":"2026-11-22T10:00:%02d.123Z","level":"info","logger":"cart","msg":"item added to cart","trace_id":"%032x","user_id":%d,"status":200}`, i, i*7919, i)})
		worker = append(worker, line{at: at(i), text: fmt.Sprintf(`ts=2026-11-22T10:00:%02d.%03dZ level=info caller=x.go:12 msg="job done" job_id=%d duration=%dms`, i, i, 100+i, 3*i)})
		nginx = append(nginx, line{at: at(i), text: fmt.Sprintf(`10.0.%d.%d - - [22/Nov/2026:10:00:%02d +0000] "GET /api/v1/items/%d HTTP/1.1" 200 %d "-" "curl/8.0"`, i%3, i, i, i, 100+i)})
		if i < 35 {
			cart = append(cart, line{at: at(i), text: fmt.Sprintf(`{"ts":"2026-11-22T10:00:%02d.456Z","level":"info","logger":"auth","msg":"user %d logged in from 10.0.%d.%d"}`, i, 1000+i, i%4, i)})
			java = append(java, line{at: at(i), text: fmt.Sprintf(`2026-11-22 10:00:%02d.123 INFO [main] c.e.Foo - Started in %d.%d seconds`, i, i%9+1, i%10)})
		}
		if i < 30 {
			worker = append(worker, line{at: at(i), text: fmt.Sprintf(`time=2026-11-22T10:01:%02dZ level=error caller=worker.go:88 msg="job failed" job_id=%d err="connection reset by peer" traceID=%x`, i, 500+i, i*104729)})
			java = append(java, line{at: at(i), text: fmt.Sprintf(`2026-11-22 10:00:%02d.456  WARN [pool-1-thread-%d] c.e.Bar - Retrying request %d of 3`, i, i%4+1, i%3+1)})
		}
		if i < 10 {
			// 10 lines: a pattern, but under Loki's 30-line minimum.
			cart = append(cart, line{at: at(i), text: fmt.Sprintf(`{"level":"error","message":"payment pay-%04d failed: card declined (code 51)"}`, i)})
			// No message member: skipped, as Loki does.
			cart = append(cart, line{at: at(i), text: fmt.Sprintf(`{"level":"debug","items":%d}`, i)})
		}
	}
	pushJSON(t, srv.URL, map[string]string{"service_name": "shop", "app": "cart"}, cart...)
	pushJSON(t, srv.URL, map[string]string{"service_name": "shop", "app": "worker"}, worker...)
	pushJSON(t, srv.URL, map[string]string{"service_name": "shop", "app": "nginx"}, nginx...)
	pushJSON(t, srv.URL, map[string]string{"service_name": "shop", "app": "java"}, java...)

	// Each answer line is "<lines> <level> <pattern>": the level is the lines' detected_level
	// (the nginx lines name none: unknown), and lines of different levels never share a pattern.
	check := func(query string, want ...string) {
		t.Helper()
		var pr patternsResponse
		getJSON(t, srv.URL, "/loki/api/v1/patterns", url.Values{
			"query": {query}, "start": {ns(t0.Add(-time.Minute))}, "end": {ns(t0.Add(2 * time.Minute))}, "step": {"1m"},
		}, &pr)
		var got []string
		for _, p := range pr.Data {
			var n int64
			for _, s := range p.Samples {
				n += s[1]
			}
			got = append(got, fmt.Sprintf("%d %s %s", n, p.Level, p.Pattern))
		}
		if pr.Status != "success" || strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("patterns of %s:\n%s\nwant:\n%s", query, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	check(`{service_name="shop"}`,
		`40 unknown <_> - - [<_> +0000] "GET <_> HTTP/1.1" 200 <_> "-" "curl/8.0"`,
		`40 info <_>item added to cart<_>`,
		`40 info ts=<_> level=info caller=x.go:12 msg="job done" job_id=<_> duration=<_>`,
		`35 info 2026-11-22 <_> INFO [main] c.e.Foo - Started in <_> seconds`,
		`35 info <_>user <_> logged in from <_>`,
		`30 warn 2026-11-22 <_>  WARN [<_>] c.e.Bar - Retrying request <_> of 3`,
		`30 error time=<_> level=error caller=worker.go:88 msg="job failed" job_id=<_> err="connection reset by peer" traceID=<_>`,
	)
	// With a pipeline the lines come through the query engine; the patterns are the same.
	check(`{service_name="shop", app="worker"} |= "job"`,
		`40 info ts=<_> level=info caller=x.go:12 msg="job done" job_id=<_> duration=<_>`,
		`30 error time=<_> level=error caller=worker.go:88 msg="job failed" job_id=<_> err="connection reset by peer" traceID=<_>`,
	)
	// From the store too.
	flush(t, srv.URL)
	check(`{service_name="shop", app="cart"}`,
		`40 info <_>item added to cart<_>`,
		`35 info <_>user <_> logged in from <_>`,
	)
}
