package queryrange_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/sluice"
	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
)

// BenchmarkQueryRange24h measures a 24h metric range query at a 5m step over 200,000 lines
// flushed to the chunk store of a real server, through HTTP: cold (every sub-query runs; a
// matcher that changes each time and matches everything keeps the cache from answering) and
// cached (the same query again: only the sub-queries newer than the max freshness run).
//
// unsplit is the same cold query on a server with split_queries_by_interval: 0, the engine
// alone, for comparison.
func BenchmarkQueryRange24h(b *testing.B) {
	now := time.Now()
	start := func(opts ...sluicetest.Option) *sluicetest.Server {
		srv := sluicetest.Start(b, opts...)
		pushLines(b, srv.URL, []string{"api", "web", "worker", "db"}, now.Add(-24*time.Hour), now.Add(-time.Minute), 50_000)
		resp, err := http.Post(srv.URL+"/flush", "", nil)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			b.Fatalf("flush: %d", resp.StatusCode)
		}
		return srv
	}
	srv := start()
	whole := start(func(c *sluice.Config) { c.Limits.SplitQueriesByInterval = 0 })
	params := func(query string) url.Values {
		return url.Values{"query": {query}, "start": {unixNano(now.Add(-24 * time.Hour))}, "end": {unixNano(now)}, "step": {"300"}}
	}
	const query = `sum by (app) (count_over_time({job="e2e"%s}[5m]))`

	i := 0 // a nonce for cold queries; -count reruns the sub-benchmarks on the same servers
	b.Run("cold", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			i++
			r := queryRange(b, srv.URL, params(fmt.Sprintf(query, `, nonce!="`+strconv.Itoa(i)+`"`)))
			if r.Data.Stats.Summary.TotalEntriesReturned == 0 {
				b.Fatal("empty result")
			}
		}
	})
	b.Run("unsplit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			i++
			r := queryRange(b, whole.URL, params(fmt.Sprintf(query, `, nonce!="`+strconv.Itoa(i)+`"`)))
			if r.Data.Stats.Summary.TotalEntriesReturned == 0 {
				b.Fatal("empty result")
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		p := params(fmt.Sprintf(query, ""))
		queryRange(b, srv.URL, p) // fill the cache
		for b.Loop() {
			r := queryRange(b, srv.URL, p)
			if r.Data.Stats.Summary.TotalEntriesReturned == 0 {
				b.Fatal("empty result")
			}
		}
	})
}

// BenchmarkInstantQuery24h measures the instant query Grafana's stat and log-volume panels
// send, sum(count_over_time({...}[24h])), over 200,000 lines flushed to the chunk store of a
// real server, through HTTP: split by the default split_instant_metric_queries_by_interval
// (24 one-hour pieces in parallel) and unsplit (the engine alone, interval 0).
func BenchmarkInstantQuery24h(b *testing.B) {
	benchmarkInstant(b, 50_000)
}

func benchmarkInstant(b *testing.B, perApp int) {
	now := time.Now()
	start := func(opts ...sluicetest.Option) *sluicetest.Server {
		srv := sluicetest.Start(b, append(opts, func(c *sluice.Config) {
			c.Limits.IngestionRateMB, c.Limits.IngestionBurstSizeMB = 1000, 1000
			c.Limits.PerStreamRateLimit, c.Limits.PerStreamRateLimitBurst = 1<<30, 1<<30
		})...)
		pushLines(b, srv.URL, []string{"api", "web", "worker", "db"}, now.Add(-24*time.Hour), now.Add(-time.Minute), perApp)
		flush(b, srv.URL)
		return srv
	}
	split := start()
	whole := start(func(c *sluice.Config) { c.Limits.SplitInstantMetricQueriesByInterval = 0 })
	const query = `sum(count_over_time({job="e2e"}[24h]))`
	// The first line of each app is at now-24h exactly, outside the left-open window.
	want := fmt.Sprintf(`"%d"`, 4*perApp-1)
	for _, bc := range []struct {
		name string
		srv  *sluicetest.Server
	}{{"split", split}, {"unsplit", whole}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				code, body := instantQuery(b, bc.srv.URL, query, now)
				if code != http.StatusOK || !strings.Contains(string(body), want) {
					b.Fatalf("%d %.300s, want a count of %s", code, body, want)
				}
			}
		})
	}
}

// BenchmarkQueryRecentHour measures Grafana's log volume query over the last hour, at a 1m
// step, over 200,000 lines the ingester still holds (none flushed), on a server with
// split_queries_by_interval: 0. The query counts entries only, so the ingester's compressed
// blocks are read without their lines.
func BenchmarkQueryRecentHour(b *testing.B) {
	now := time.Now()
	srv := sluicetest.Start(b, sluicetest.WithConfig(func(c *sluice.Config) { c.Limits.SplitQueriesByInterval = 0 }))
	pushLines(b, srv.URL, []string{"api", "web", "worker", "db"}, now.Add(-time.Hour), now.Add(-time.Second), 50_000)
	const query = `sum by (level, detected_level) (count_over_time({job="e2e", nonce!="%d"} | drop __error__ [1m]))`
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		r := queryRange(b, srv.URL, url.Values{"query": {fmt.Sprintf(query, i)}, "start": {unixNano(now.Add(-time.Hour))},
			"end": {unixNano(now)}, "step": {"60"}})
		if r.Data.Stats.Summary.TotalEntriesReturned == 0 {
			b.Fatal("empty result")
		}
	}
}
