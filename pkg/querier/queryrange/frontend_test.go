package queryrange

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/sluicelog/sluice/pkg/api"
	"github.com/sluicelog/sluice/pkg/logproto"
)

// TestMetricSplitMatchesEngine runs metric range queries through the frontend (split by one
// hour) and straight through the engine, and wants the same matrix: every evaluation time is
// computed by one sub-query from the same data.
func TestMetricSplitMatchesEngine(t *testing.T) {
	eng := newMemEngine(t, testStreams())
	queries := []string{
		`count_over_time({app="api"}[5m])`,
		`sum by (pod) (rate({app="api"} |= "error" [10m]))`,
		`sum(bytes_over_time({app=~".+"}[1h]))`,
		`topk(1, count_over_time({app=~".+"}[15m]))`,
		`sort_desc(sum by (app) (count_over_time({app=~".+"}[5m])))`,
		`avg_over_time({app="api"} | logfmt | unwrap latency [30m]) by (pod) > 50`,
		`quantile_over_time(0.9, {app="api"} | logfmt | unwrap latency [20m]) by (pod)`,
		`sum(count_over_time({app="api"}[5m])) / sum(count_over_time({app=~".+"}[5m]))`,
		`absent_over_time({app="nope"}[10m])`,
		`count_over_time({app="api"}[5m] offset 30m)`,
		`label_replace(count_over_time({app="cron"}[1h]), "x", "$1", "app", "(.*)")`,
		`vector(3)`,
	}
	steps := []time.Duration{time.Minute, 7 * time.Minute, 90 * time.Minute}
	for _, q := range queries {
		for _, step := range steps {
			t.Run(fmt.Sprintf("%s/step=%s", q, step), func(t *testing.T) {
				f := New(DefaultConfig(), eng, testLimits(time.Hour, 4), nil)
				f.now = func() time.Time { return at(48 * time.Hour) }
				req := api.QueryRequest{Query: q, Start: at(0), End: at(6*time.Hour + 20*time.Minute), Step: step}
				// The frontend aligns a split query to the step; ask the engine for that range.
				want, err := eng.Query(tenantCtx(), api.QueryRequest{Query: q, Step: step,
					Start: time.Unix(0, alignDown(req.Start.UnixNano(), int64(step))),
					End:   time.Unix(0, alignUp(req.End.UnixNano(), int64(step)))})
				if err != nil {
					t.Fatal(err)
				}
				for round := range 2 { // the second round is answered from the cache
					got, err := f.Query(tenantCtx(), req)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(got.Matrix, want.Matrix) {
						t.Fatalf("round %d: split result differs:\n got %v\nwant %v", round, got.Matrix, want.Matrix)
					}
					if got.Stats.Splits < 2 {
						t.Errorf("round %d: Splits = %d, want several", round, got.Stats.Splits)
					}
				}
			})
		}
	}
}

// TestLogSplitMatchesEngine compares log queries through the frontend with the engine's
// answer for the whole range, both directions, with limits that cut inside a sub-range.
func TestLogSplitMatchesEngine(t *testing.T) {
	eng := newMemEngine(t, testStreams())
	for _, q := range []string{`{app="api"}`, `{app=~".+"} |= "error"`, `{app=~".+"} | logfmt | level="warn"`} {
		for _, dir := range []logproto.Direction{logproto.Backward, logproto.Forward} {
			for _, limit := range []int{1, 7, 100, 1000, 5000} {
				name := fmt.Sprintf("%s/%v/limit=%d", q, dir, limit)
				req := api.QueryRequest{Query: q, Start: at(10 * time.Minute), End: at(5*time.Hour + 59*time.Minute), Direction: dir, Limit: limit}
				want, err := eng.Query(tenantCtx(), req)
				if err != nil {
					t.Fatal(err)
				}
				f := New(DefaultConfig(), eng, testLimits(time.Hour, 3), nil)
				got, err := f.Query(tenantCtx(), req)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got.Streams, want.Streams) {
					t.Errorf("%s: split result differs:\n got %s\nwant %s", name, summarize(got.Streams), summarize(want.Streams))
				}
				if int(got.Stats.TotalEntriesReturned) != countEntries(want.Streams) {
					t.Errorf("%s: TotalEntriesReturned = %d, want %d", name, got.Stats.TotalEntriesReturned, countEntries(want.Streams))
				}
			}
		}
	}
}

func countEntries(ss []api.Stream) int {
	n := 0
	for _, s := range ss {
		n += len(s.Entries)
	}
	return n
}

func summarize(ss []api.Stream) string {
	var b strings.Builder
	for _, s := range ss {
		fmt.Fprintf(&b, "%s:%d", s.Labels, len(s.Entries))
		if len(s.Entries) > 0 {
			fmt.Fprintf(&b, "[%d..%d]", s.Entries[0].Timestamp, s.Entries[len(s.Entries)-1].Timestamp)
		}
		b.WriteString(" ")
	}
	return b.String()
}

// TestLogEarlyStop checks that a backward log query asks for the newest hour first and stops
// once the limit is reached.
func TestLogEarlyStop(t *testing.T) {
	inner := &fakeEngine{}
	f := New(noCache(), inner, testLimits(time.Hour, 1), nil)
	req := api.QueryRequest{Query: `{app="x"}`, Start: at(0), End: at(10 * time.Hour), Direction: logproto.Backward, Limit: 90}
	res, err := f.Query(tenantCtx(), req)
	if err != nil {
		t.Fatal(err)
	}
	calls := inner.requests()
	if len(calls) != 2 {
		t.Fatalf("sub-queries = %d, want 2 (60 entries per hour, limit 90)", len(calls))
	}
	if !calls[0].Start.Equal(at(9*time.Hour)) || !calls[0].End.Equal(at(10*time.Hour)) || !calls[1].Start.Equal(at(8*time.Hour)) {
		t.Errorf("sub-ranges %v..%v then %v: want newest hour first", calls[0].Start, calls[0].End, calls[1].Start)
	}
	es := res.Streams[0].Entries
	if len(es) != 90 || es[0].Timestamp != at(10*time.Hour-time.Minute).UnixNano() || es[89].Timestamp != at(8*time.Hour+30*time.Minute).UnixNano() {
		t.Errorf("got %d entries from %d to %d", len(es), es[0].Timestamp, es[len(es)-1].Timestamp)
	}
	for i := 1; i < len(es); i++ {
		if es[i].Timestamp >= es[i-1].Timestamp {
			t.Fatalf("entry %d not older than the previous one", i)
		}
	}
	if res.Stats.Splits != 2 || res.Stats.TotalEntriesReturned != 90 || res.Stats.TotalLinesProcessed != 120 {
		t.Errorf("stats = %+v", res.Stats)
	}

	// Forward: oldest first, also stopping early.
	inner = &fakeEngine{}
	f = New(noCache(), inner, testLimits(time.Hour, 1), nil)
	req.Direction = logproto.Forward
	if _, err := f.Query(tenantCtx(), req); err != nil {
		t.Fatal(err)
	}
	calls = inner.requests()
	if len(calls) != 2 || !calls[0].Start.Equal(at(0)) || !calls[1].Start.Equal(at(time.Hour)) {
		t.Errorf("forward sub-queries %d, first %v: want 2 from the oldest hour", len(calls), calls[0].Start)
	}
}

// TestParallelismBound checks that no more than max_query_parallelism sub-queries run at once
// and that the bound is reached.
func TestParallelismBound(t *testing.T) {
	// The frontend runs at most max_query_parallelism (3 here) and 2×GOMAXPROCS at once.
	p := min(3, 2*runtime.GOMAXPROCS(0))
	ready := make(chan struct{})
	inner := &fakeEngine{}
	var started = make(chan struct{}, 100)
	inner.before = func(ctx context.Context) error {
		started <- struct{}{}
		select {
		case <-ready:
		case <-time.After(5 * time.Second):
		}
		return nil
	}
	go func() {
		for range p {
			<-started
		}
		close(ready) // p calls are in flight at once: let them all go
	}()
	f := New(noCache(), inner, testLimits(time.Hour, 3), nil)
	req := api.QueryRequest{Query: `count_over_time({app="x"}[1m])`, Start: at(0), End: at(12 * time.Hour), Step: time.Minute}
	res, err := f.Query(tenantCtx(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := inner.maxSeen.Load(); got != int64(p) {
		t.Errorf("most sub-queries in flight = %d, want %d", got, p)
	}
	if n := len(inner.requests()); n != 13 || res.Stats.Splits != 13 {
		t.Errorf("sub-queries = %d, Splits = %d; want 13", n, res.Stats.Splits)
	}
	if pts := res.Matrix[0].Points; len(pts) != 12*60+1 {
		t.Errorf("points = %d, want %d", len(pts), 12*60+1)
	}
}

// TestMetricAlignment checks the sub-ranges the engine is asked for: step-aligned when split
// (start down, end up), untouched when not split unless align_queries_with_step is on.
func TestMetricAlignment(t *testing.T) {
	step := 5 * time.Minute
	req := api.QueryRequest{Query: `count_over_time({app="x"}[1m])`, Start: at(7 * time.Minute), End: at(2*time.Hour + 3*time.Minute), Step: step}

	inner := &fakeEngine{}
	if _, err := New(noCache(), inner, testLimits(time.Hour, 1), nil).Query(tenantCtx(), req); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range inner.requests() {
		got = append(got, fmt.Sprintf("%s-%s", c.Start.Sub(day0), c.End.Sub(day0)))
	}
	if want := "[5m0s-55m0s 1h0m0s-1h55m0s 2h0m0s-2h5m0s]"; fmt.Sprint(got) != want {
		t.Errorf("split sub-ranges %v, want %s", got, want)
	}

	inner = &fakeEngine{}
	if _, err := New(noCache(), inner, testLimits(0, 2), nil).Query(tenantCtx(), req); err != nil {
		t.Fatal(err)
	}
	if c := inner.requests(); len(c) != 1 || !c[0].Start.Equal(req.Start) || !c[0].End.Equal(req.End) {
		t.Errorf("unsplit query changed: %v", c)
	}

	inner = &fakeEngine{}
	cfg := noCache()
	cfg.AlignQueriesWithStep = true
	if _, err := New(cfg, inner, testLimits(0, 2), nil).Query(tenantCtx(), req); err != nil {
		t.Fatal(err)
	}
	if c := inner.requests(); len(c) != 1 || !c[0].Start.Equal(at(5*time.Minute)) || !c[0].End.Equal(at(2*time.Hour)) {
		t.Errorf("align_queries_with_step: got %v, want both ends rounded down", c)
	}
}

// TestResultsCache checks that a repeated query is answered from the cache except for its
// sub-ranges newer than the max freshness, and that tenants do not share entries.
func TestResultsCache(t *testing.T) {
	inner := &fakeEngine{}
	reg := prometheus.NewRegistry()
	f := New(DefaultConfig(), inner, testLimits(time.Hour, 4), reg)
	now := at(24*time.Hour + 5*time.Minute)
	f.now = func() time.Time { return now }
	req := api.QueryRequest{Query: `sum(count_over_time({app="x"}[5m]))`, Start: now.Add(-24 * time.Hour), End: now, Step: time.Minute}

	first, err := f.Query(tenantCtx(), req)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(inner.requests()); n != 25 {
		t.Fatalf("cold query ran %d sub-queries, want 25", n)
	}
	second, err := f.Query(tenantCtx(), req)
	if err != nil {
		t.Fatal(err)
	}
	calls := inner.requests()[25:]
	// Only the sub-ranges ending after now-10m run again: [23h, 23h59m] and [24h, 24h05m].
	if len(calls) != 2 || !calls[0].End.Equal(at(24*time.Hour-time.Minute)) && !calls[1].End.Equal(at(24*time.Hour-time.Minute)) {
		t.Errorf("cached query ran %d sub-queries (%v), want only the two fresh ones", len(calls), calls)
	}
	if !reflect.DeepEqual(first.Matrix, second.Matrix) || second.Stats.Splits != 25 {
		t.Errorf("cached result differs or Splits = %d", second.Stats.Splits)
	}
	if second.Stats.TotalLinesProcessed != 2 {
		t.Errorf("cached query processed %d lines, want only the fresh sub-queries' 2", second.Stats.TotalLinesProcessed)
	}
	if hits := counterValue(f.cache.m.hits); hits != 23 {
		t.Errorf("cache hits = %v, want 23", hits)
	}
	if keys := counterValue(f.cache.m.requests); keys != 46 {
		t.Errorf("cache lookups = %v, want 46", keys)
	}

	// Another tenant must not see team-a's results.
	before := len(inner.requests())
	if _, err := f.Query(tenantWith(context.Background(), "team-b"), req); err != nil {
		t.Fatal(err)
	}
	if n := len(inner.requests()) - before; n != 25 {
		t.Errorf("another tenant ran %d sub-queries, want 25", n)
	}

	// A step change is another query.
	req.Step = 2 * time.Minute
	before = len(inner.requests())
	if _, err := f.Query(tenantCtx(), req); err != nil {
		t.Fatal(err)
	}
	if n := len(inner.requests()) - before; n != 25 {
		t.Errorf("new step ran %d sub-queries, want 25", n)
	}
}

// TestCancel checks that cancelling the request cancels every running sub-query and that
// Query returns only after they stopped.
func TestCancel(t *testing.T) {
	p := min(4, 2*runtime.GOMAXPROCS(0)) // what runs at once: see TestParallelismBound
	inner := &fakeEngine{}
	started := make(chan struct{}, 100)
	var stopped = make(chan struct{}, 100)
	inner.before = func(ctx context.Context) error {
		started <- struct{}{}
		<-ctx.Done()
		stopped <- struct{}{}
		return ctx.Err()
	}
	f := New(noCache(), inner, testLimits(time.Hour, 4), nil)
	ctx, cancel := context.WithCancel(tenantCtx())
	errc := make(chan error, 1)
	go func() {
		_, err := f.Query(ctx, api.QueryRequest{Query: `{app="x"}`, Start: at(0), End: at(24 * time.Hour), Limit: 100, Direction: logproto.Backward})
		errc <- err
	}()
	for range p {
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatalf("fewer than %d sub-queries started", p)
		}
	}
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("query did not return after cancel")
	}
	if len(stopped) != p || len(inner.requests()) != p {
		t.Errorf("%d sub-queries stopped of %d started, want %d", len(stopped), len(inner.requests()), p)
	}
}

// TestLimitsChecked checks the limits the frontend enforces on the whole query: the range
// (a split would hide it from the engine), the entries limit, and the series of the merged
// matrix.
func TestLimitsChecked(t *testing.T) {
	lim := testLimits(time.Hour, 2)
	lim.Defaults().MaxQueryLength.Set("10h")
	lim.Defaults().MaxEntriesLimitPerQuery = 50
	lim.Defaults().MaxQuerySeries = 1
	f := New(noCache(), &fakeEngine{}, lim, nil)
	for _, tc := range []struct {
		req  api.QueryRequest
		want string
	}{
		{api.QueryRequest{Query: `{app="x"}`, Start: at(0), End: at(11 * time.Hour), Limit: 10}, "the query time range exceeds the limit"},
		{api.QueryRequest{Query: `{app="x"}`, Start: at(0), End: at(time.Hour), Limit: 51}, "max entries limit per query exceeded"},
	} {
		_, err := f.Query(tenantCtx(), tc.req)
		var se interface{ StatusCode() int }
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &se) || se.StatusCode() != http.StatusBadRequest {
			t.Errorf("%v: err = %v, want 400 %q", tc.req, err, tc.want)
		}
	}

	// Two series in different sub-queries: each alone is within the limit, together not.
	eng := newMemEngine(t, []logproto.Stream{
		{Labels: `{app="a"}`, Entries: []logproto.Entry{{Timestamp: at(10 * time.Minute).UnixNano(), Line: "x"}}},
		{Labels: `{app="b"}`, Entries: []logproto.Entry{{Timestamp: at(70 * time.Minute).UnixNano(), Line: "x"}}},
	})
	f = New(noCache(), eng, lim, nil)
	_, err := f.Query(tenantCtx(), api.QueryRequest{Query: `count_over_time({app=~".+"}[1m])`, Start: at(0), End: at(2 * time.Hour), Step: time.Minute})
	var se interface{ StatusCode() int }
	if err == nil || !strings.Contains(err.Error(), "maximum of series (1)") || !errors.As(err, &se) || se.StatusCode() != http.StatusBadRequest {
		t.Errorf("series limit: err = %v", err)
	}
}

// TestBadQueryPassesThrough checks that queries the frontend cannot read reach the engine,
// which reports the error.
func TestBadQueryPassesThrough(t *testing.T) {
	eng := newMemEngine(t, testStreams())
	f := New(DefaultConfig(), eng, testLimits(time.Hour, 2), nil)
	_, err := f.Query(tenantCtx(), api.QueryRequest{Query: `{app="x"`, Start: at(0), End: at(5 * time.Hour), Limit: 10})
	if err == nil || eng.calls.Load() != 1 {
		t.Errorf("err = %v after %d engine calls; want the engine's parse error", err, eng.calls.Load())
	}
	if _, err := f.Query(context.Background(), api.QueryRequest{Query: `{app="x"}`, Start: at(0), End: at(5 * time.Hour)}); err == nil {
		t.Error("query without a tenant succeeded")
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}
