package queryrange

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/api"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
	"github.com/sluicelog/sluice/pkg/runtimeconfig"
	"github.com/sluicelog/sluice/pkg/validation"
)

func formatPieces(ps []piece) string {
	var parts []string
	for _, p := range ps {
		parts = append(parts, fmt.Sprintf("[%s]off%s", syntax.FormatDuration(p.rng), syntax.FormatDuration(p.offset)))
	}
	return strings.Join(parts, " ")
}

func TestSplitInstantRange(t *testing.T) {
	h, m := time.Hour, time.Minute
	for _, tc := range []struct {
		name                  string
		rng, offset, interval time.Duration
		want                  string
	}{
		{"disabled", 3 * h, 0, 0, ""},
		{"range equal to interval", h, 0, h, ""},
		{"range shorter than interval", 30 * m, 0, h, ""},
		{"multiple of interval", 3 * h, 0, h, "[1h]off2h [1h]off1h [1h]off0s"},
		{"remainder is the oldest piece", 150 * m, 0, h, "[30m]off2h [1h]off1h [1h]off0s"},
		{"offset shifts every piece", 2*h + 10*m, 30 * m, h, "[10m]off2h30m [1h]off1h30m [1h]off30m"},
		{"negative offset", 2 * h, -30 * m, h, "[1h]off30m [1h]off-30m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatPieces(splitInstantRange(tc.rng, tc.offset, tc.interval, maxInstantSplits)); got != tc.want {
				t.Errorf("splitInstantRange(%s, %s, %s) = %q, want %q", tc.rng, tc.offset, tc.interval, got, tc.want)
			}
		})
	}
}

// TestSplitInstantRangeTiles checks the splitter's invariant over many shapes: the pieces'
// windows (T-offset-rng, T-offset] are consecutive, oldest first, none longer than the
// interval (or its widened multiple past maxInstantSplits), and together they are exactly
// the whole window, so each instant of it, a boundary included, is in exactly one piece.
func TestSplitInstantRangeTiles(t *testing.T) {
	for _, rng := range []time.Duration{61 * time.Minute, 90 * time.Minute, 24 * time.Hour, 24*time.Hour + 7*time.Second, 2000 * time.Hour} {
		for _, offset := range []time.Duration{0, 17 * time.Minute, 3 * time.Hour} {
			for _, interval := range []time.Duration{time.Minute, 25 * time.Minute, time.Hour} {
				ps := splitInstantRange(rng, offset, interval, maxInstantSplits)
				name := fmt.Sprintf("[%s] offset %s by %s", rng, offset, interval)
				if len(ps) < 2 || len(ps) > maxInstantSplits {
					t.Errorf("%s: %d pieces", name, len(ps))
					continue
				}
				longest := interval * ((rng/interval + maxInstantSplits) / maxInstantSplits)
				// Windows relative to T: piece i is (-(offset+rng), -offset] cut into parts.
				next := -(offset + rng)
				for i, p := range ps {
					start, end := -(p.offset + p.rng), -p.offset
					if start != next || p.rng <= 0 || p.rng > longest {
						t.Errorf("%s: piece %d is (%s, %s], want it to start at %s and last at most %s", name, i, start, end, next, longest)
					}
					next = end
				}
				if next != -offset {
					t.Errorf("%s: pieces end at %s, want %s", name, next, -offset)
				}
				// Every boundary instant is in the piece it ends and not in the next one.
				for i := 1; i < len(ps); i++ {
					b := -ps[i-1].offset
					in := 0
					for _, p := range ps {
						if b > -(p.offset+p.rng) && b <= -p.offset {
							in++
						}
					}
					if in != 1 {
						t.Errorf("%s: boundary %s is in %d pieces", name, b, in)
					}
				}
			}
		}
	}
}

func TestPlanInstant(t *testing.T) {
	check := func(query string, interval time.Duration, want ...string) {
		t.Helper()
		expr, err := syntax.ParseExpr(query)
		if err != nil {
			t.Fatalf("ParseExpr(%q): %v", query, err)
		}
		plan := planInstant(expr, interval, maxInstantSplits)
		var got []string
		if plan != nil {
			got = plan.subs
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("planInstant(%q, %s) = %q, want %q", query, interval, got, want)
		}
	}
	h := time.Hour
	check(`count_over_time({app="x"}[3h])`, h,
		`count_over_time({app="x"} [1h] offset 2h)`, `count_over_time({app="x"} [1h] offset 1h)`, `count_over_time({app="x"} [1h])`)
	// rate runs as a count, the remainder comes first, and an existing offset is kept.
	check(`sum by (app) (rate({app="x"} |= "e" [150m] offset 10m))`, h,
		`sum by (app)(count_over_time({app="x"} |= "e" [30m] offset 2h10m))`,
		`sum by (app)(count_over_time({app="x"} |= "e" [1h] offset 1h10m))`,
		`sum by (app)(count_over_time({app="x"} |= "e" [1h] offset 10m))`)
	check(`bytes_rate({app="x"} [2h])`, h, `bytes_over_time({app="x"} [1h] offset 1h)`, `bytes_over_time({app="x"} [1h])`)
	check(`rate({app="x"} | logfmt | unwrap n [2h])`, h,
		`sum_over_time({app="x"} | logfmt | unwrap n [1h] offset 1h)`, `sum_over_time({app="x"} | logfmt | unwrap n [1h])`)
	check(`max without (pod) (max_over_time({app="x"} | logfmt | unwrap n [2h]) by (pod, level))`, h,
		`max without (pod)(max_over_time({app="x"} | logfmt | unwrap n [1h] offset 1h) by (pod,level))`,
		`max without (pod)(max_over_time({app="x"} | logfmt | unwrap n [1h]) by (pod,level))`)
	check(`min(min_over_time({app="x"} | logfmt | unwrap n [2h]))`, h,
		`min(min_over_time({app="x"} | logfmt | unwrap n [1h] offset 1h))`, `min(min_over_time({app="x"} | logfmt | unwrap n [1h]))`)

	// Not split: no exact merge, or nothing to split.
	for _, q := range []string{
		`count_over_time({app="x"} [1h])`,
		`count_over_time({app="x"}[30m])`,
		`avg_over_time({app="x"} | logfmt | unwrap n [3h])`,
		`quantile_over_time(0.9, {app="x"} | logfmt | unwrap n [3h])`,
		`first_over_time({app="x"} | logfmt | unwrap n [3h])`,
		`last_over_time({app="x"} | logfmt | unwrap n [3h])`,
		`stddev_over_time({app="x"} | logfmt | unwrap n [3h])`,
		`rate_counter({app="x"} | logfmt | unwrap n [3h])`,
		`absent_over_time({app="x"}[3h])`,
		`count(count_over_time({app="x"}[3h]))`,
		`avg(count_over_time({app="x"}[3h]))`,
		`max(count_over_time({app="x"}[3h]))`,
		`sum(max_over_time({app="x"} | logfmt | unwrap n [3h]))`,
		`min(max_over_time({app="x"} | logfmt | unwrap n [3h]))`,
		`topk(2, count_over_time({app="x"}[3h]))`,
		`sort(count_over_time({app="x"}[3h]))`,
		`sum(sum(count_over_time({app="x"}[3h])))`,
		`count_over_time({app="x"}[3h]) * 2`,
		`sum(count_over_time({app="x"}[3h])) / sum(count_over_time({app="y"}[3h]))`,
		`label_replace(count_over_time({app="x"}[3h]), "a", "$1", "app", "(.*)")`,
		`vector(1)`,
		`3`,
		`{app="x"}`,
	} {
		check(q, h)
	}
	// A piece whose duration does not read back to the nanosecond runs unsplit: past 2^53 ns
	// (104 days) the parser's float arithmetic cannot keep the 7ns of 200d7ns.
	check(`count_over_time({app="x"}[250d])`, 200*24*time.Hour+7)
}

// recorder passes queries to next and records them.
type recorder struct {
	next  api.Engine
	mu    sync.Mutex
	calls []api.QueryRequest
}

func (r *recorder) Query(ctx context.Context, q api.QueryRequest) (*api.QueryResult, error) {
	r.mu.Lock()
	r.calls = append(r.calls, q)
	r.mu.Unlock()
	return r.next.Query(ctx, q)
}

// sameVector describes how got differs from want, "" when it does not. Values must be equal
// to the bit, or within a relative tol (for sums of floats added in another order).
func sameVector(got, want []api.Sample, tol float64) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d samples, want %d:\n got %v\nwant %v", len(got), len(want), got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Metric.String() != w.Metric.String() || g.T != w.T {
			return fmt.Sprintf("sample %d is %s@%d, want %s@%d", i, g.Metric, g.T, w.Metric, w.T)
		}
		if math.Float64bits(g.V) == math.Float64bits(w.V) {
			continue
		}
		if tol == 0 || math.Abs(g.V-w.V) > tol*math.Abs(w.V) {
			return fmt.Sprintf("sample %d %s = %v, want %v", i, g.Metric, g.V, w.V)
		}
	}
	return ""
}

// instantStreams is testStreams plus a stream whose latency does not parse on one line in
// the third hour, and lines exactly on the hour marks of several streams.
func instantStreams() []logproto.Stream {
	ss := testStreams()
	var bad []logproto.Entry
	for i := range 36 { // every 10 minutes for 6h
		line := fmt.Sprintf("level=info latency=%d", i)
		if i == 15 {
			line = "level=info latency=fast"
		}
		bad = append(bad, logproto.Entry{Timestamp: at(time.Duration(i) * 10 * time.Minute).UnixNano(), Line: line})
	}
	return append(ss, logproto.Stream{Labels: `{app="bad"}`, Entries: bad})
}

// TestInstantSplitMatchesEngine runs instant queries through the frontend and straight
// through the engine and wants the same vector: same series, labels, order and values
// (bit for bit, except sums of unwrapped floats), the same lines read (every entry read
// by exactly one piece), and splittable queries split into the pieces of the interval.
func TestInstantSplitMatchesEngine(t *testing.T) {
	eng := newMemEngine(t, instantStreams())
	splittable := []string{
		`count_over_time({app="api"}[3h])`,
		`count_over_time({app=~"api|cron"}[150m])`,
		`count_over_time({app="api"}[3h] offset 1h)`,
		`count_over_time({app="api"}[2h30m] offset 17m)`,
		`sum(count_over_time({app=~".+"}[24h]))`,
		`sum by (app) (count_over_time({app=~"api|cron"} |= "error" [2h30m]))`,
		`sum without (pod) (count_over_time({app=~"api|cron"}[5h]))`,
		`sum without (pod) (bytes_over_time({app=~"api|cron"}[4h]))`,
		`bytes_over_time({app="api"}[4h] offset 30m)`,
		`rate({app=~"api|cron"}[3h] offset 30m)`,
		`sum by (app) (rate({app=~"api|cron"}[100m]))`,
		`sum(rate({app=~".+"} |= "warn" [5h]))`,
		`bytes_rate({app="api"}[5h])`,
		`sum by (pod) (bytes_rate({app="api"}[5h] offset 5m))`,
		`max_over_time({app="api"} | logfmt | unwrap latency [3h]) by (level)`,
		`max by (pod) (max_over_time({app="api"} | logfmt | drop n | unwrap latency [3h]))`,
		`max without (level) (max_over_time({app="api"} | logfmt | drop n | unwrap latency [5h] offset 20m))`,
		`min(min_over_time({app="api"} | logfmt | unwrap latency [3h]))`,
		`min_over_time({app="api"} | logfmt | drop n | unwrap latency [150m])`,
		`count_over_time({app="nope"}[3h])`,
		`sum(rate({app="nope"}[3h]))`,
		`count_over_time({app="api"}[3h] offset 12h)`,
	}
	// Sums of unwrapped floats: added piece by piece they may differ in the last bits.
	floatSums := []string{
		`sum_over_time({app="api"} | logfmt | drop n | unwrap latency [3h])`,
		`sum by (pod) (sum_over_time({app="api"} | logfmt | unwrap latency [4h]))`,
		`rate({app="api"} | logfmt | drop n | unwrap latency [150m])`,
		`sum(rate({app="api"} | logfmt | unwrap latency [5h]))`,
	}
	unsplit := []string{
		`count_over_time({app="api"}[20m])`,
		`count_over_time({app="api"}[25m])`,
		`avg_over_time({app="api"} | logfmt | drop n | unwrap latency [3h]) by (pod)`,
		`quantile_over_time(0.5, {app="api"} | logfmt | unwrap latency [3h]) by (pod)`,
		`first_over_time({app="api"} | logfmt | unwrap latency [3h]) by (pod)`,
		`last_over_time({app="api"} | logfmt | unwrap latency [3h]) by (pod)`,
		`stddev_over_time({app="api"} | logfmt | unwrap latency [3h]) by (pod)`,
		`sum(rate_counter({app="api"} | logfmt | drop n | unwrap latency [3h]))`,
		`absent_over_time({app="nope"}[3h])`,
		`count(count_over_time({app=~".+"}[3h]))`,
		`avg by (app) (count_over_time({app=~".+"}[3h]))`,
		`max(count_over_time({app=~".+"}[3h]))`,
		`topk(2, count_over_time({app=~".+"}[3h]))`,
		`sort_desc(sum by (app) (count_over_time({app=~".+"}[3h])))`,
		`sum(count_over_time({app="api"}[3h])) / sum(count_over_time({app=~".+"}[3h]))`,
		`label_replace(count_over_time({app="cron"}[3h]), "x", "$1", "app", "(.*)")`,
		`vector(2)`,
		`2 * 3`,
	}
	times := []time.Duration{6 * time.Hour, 5 * time.Hour, 5*time.Hour + 7*time.Second + 123*time.Millisecond, 4*time.Hour + time.Second}
	intervals := []time.Duration{time.Hour, 25 * time.Minute}
	run := func(t *testing.T, q string, ts, interval time.Duration, split bool, tol float64) {
		lim := testLimits(time.Hour, 4)
		lim.Defaults().SplitInstantMetricQueriesByInterval.Set(interval.String())
		rec := &recorder{next: eng}
		f := New(noCache(), rec, lim, nil)
		f.instantPieces = maxInstantSplits // as many pieces as the interval makes
		req := api.QueryRequest{Query: q, Start: at(ts), End: at(ts), Instant: true, Limit: 100}
		want, err := eng.Query(tenantCtx(), req)
		if err != nil {
			t.Fatalf("engine: %v", err)
		}
		got, err := f.Query(tenantCtx(), req)
		if err != nil {
			t.Fatalf("frontend: %v", err)
		}
		if got.Type != want.Type {
			t.Fatalf("result type %s, want %s", got.Type, want.Type)
		}
		if d := sameVector(got.Vector, want.Vector, tol); d != "" || got.Scalar != want.Scalar {
			t.Fatalf("split result differs: %s (scalar %v, want %v)", d, got.Scalar, want.Scalar)
		}
		if got.Stats.TotalLinesProcessed != want.Stats.TotalLinesProcessed {
			t.Errorf("lines processed %d, want %d: an entry was read by no piece or by two", got.Stats.TotalLinesProcessed, want.Stats.TotalLinesProcessed)
		}
		if !split {
			if len(rec.calls) != 1 || !reflect.DeepEqual(rec.calls[0], req) {
				t.Errorf("unsplittable query reached the engine as %v, want %v once", rec.calls, req)
			}
			return
		}
		expr, _ := syntax.ParseExpr(q)
		plan := planInstant(expr, interval, maxInstantSplits)
		if plan == nil || len(plan.subs) < 2 {
			t.Fatalf("no plan")
		}
		if len(rec.calls) != len(plan.subs) || got.Stats.Splits != int64(len(plan.subs)) {
			t.Errorf("%d sub-queries, Splits = %d; want %d", len(rec.calls), got.Stats.Splits, len(plan.subs))
		}
		for _, c := range rec.calls {
			if !c.Instant || !c.Start.Equal(req.Start) || !c.End.Equal(req.End) {
				t.Errorf("sub-query %+v is not an instant query at the query's time", c)
			}
		}
		if got.Stats.TotalEntriesReturned != int64(len(want.Vector)) {
			t.Errorf("TotalEntriesReturned = %d, want %d", got.Stats.TotalEntriesReturned, len(want.Vector))
		}
	}
	for _, ts := range times {
		for _, iv := range intervals {
			for _, q := range splittable {
				t.Run(fmt.Sprintf("%s/T=%s/by=%s", q, ts, iv), func(t *testing.T) { run(t, q, ts, iv, true, 0) })
			}
			for _, q := range floatSums {
				t.Run(fmt.Sprintf("%s/T=%s/by=%s", q, ts, iv), func(t *testing.T) { run(t, q, ts, iv, true, 1e-12) })
			}
			for _, q := range unsplit {
				t.Run(fmt.Sprintf("%s/T=%s/by=%s", q, ts, iv), func(t *testing.T) { run(t, q, ts, iv, false, 0) })
			}
		}
	}
}

// TestInstantSplitBoundaries pins boundary handling with a few entries placed exactly on the
// pieces' edges: (T-3h, T] includes T and excludes T-3h, and T-1h and T-2h are each counted
// once.
func TestInstantSplitBoundaries(t *testing.T) {
	T := at(5 * time.Hour)
	var es []logproto.Entry
	for _, d := range []time.Duration{3 * time.Hour, 2 * time.Hour, time.Hour, time.Nanosecond, 0} {
		es = append(es, logproto.Entry{Timestamp: T.Add(-d).UnixNano(), Line: "x"})
	}
	es = append(es, logproto.Entry{Timestamp: T.Add(time.Nanosecond).UnixNano(), Line: "x"})
	eng := newMemEngine(t, []logproto.Stream{{Labels: `{app="edge"}`, Entries: es}})
	f := New(noCache(), eng, testLimits(time.Hour, 2), nil)
	for q, want := range map[string]float64{
		`count_over_time({app="edge"}[3h])`:                   4, // T-2h, T-1h, T-1ns, T; not T-3h nor T+1ns
		`count_over_time({app="edge"}[2h] offset 1h)`:         2, // (T-3h, T-1h]: T-2h, T-1h
		`sum(count_over_time({app="edge"}[3h] offset 1ns))`:   4, // (T-3h-1ns, T-1ns]: T-3h, T-2h, T-1h, T-1ns
		`count_over_time({app="edge"}[150m] offset 30m)`:      2, // (T-3h, T-30m]: T-2h, T-1h
		`sum by (app) (count_over_time({app="edge"}[3h1ns]))`: 5, // T-3h now in, T+1ns still out
	} {
		req := api.QueryRequest{Query: q, Start: T, End: T, Instant: true}
		res, err := f.Query(tenantCtx(), req)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if len(res.Vector) != 1 || res.Vector[0].V != want || res.Stats.Splits < 2 {
			t.Errorf("%s = %v (%d splits), want %v from several pieces", q, res.Vector, res.Stats.Splits, want)
		}
		whole, err := eng.Query(tenantCtx(), req)
		if err != nil || len(whole.Vector) != 1 || whole.Vector[0].V != want {
			t.Errorf("%s unsplit = %v, %v; want %v (the expectation is wrong)", q, whole, err, want)
		}
	}
}

// TestInstantSplitErrors checks that a split instant query fails as the unsplit one does:
// the series limit (over the merged vector, or in a piece), a pipeline error (the oldest,
// as the engine meets it first), a pipeline error winning over a series limit met earlier,
// and a timeout.
func TestInstantSplitErrors(t *testing.T) {
	var streams []logproto.Stream
	for i, app := range []string{"a", "b", "c"} {
		// Each app logs in its own hour only, so each piece alone has one series.
		var es []logproto.Entry
		for j := range 10 {
			es = append(es, logproto.Entry{Timestamp: at(time.Duration(i)*time.Hour + time.Duration(j)*time.Minute + time.Minute).UnixNano(), Line: fmt.Sprintf("v=%d", j)})
		}
		streams = append(streams, logproto.Stream{Labels: fmt.Sprintf(`{app=%q}`, app), Entries: es})
	}
	streams = append(streams,
		logproto.Stream{Labels: `{app="d"}`, Entries: []logproto.Entry{{Timestamp: at(2*time.Hour + 30*time.Minute).UnixNano(), Line: "v=late"}}},
		logproto.Stream{Labels: `{app="e"}`, Entries: []logproto.Entry{{Timestamp: at(90 * time.Minute).UnixNano(), Line: "v=early"}}},
		logproto.Stream{Labels: `{app="f"}`, Entries: []logproto.Entry{
			{Timestamp: at(10 * time.Minute).UnixNano(), Line: "v=1"}, {Timestamp: at(20 * time.Minute).UnixNano(), Line: "v=2"}}},
		logproto.Stream{Labels: `{app="g"}`, Entries: []logproto.Entry{{Timestamp: at(20 * time.Minute).UnixNano(), Line: "v=3"}}},
	)
	const limit = 2
	eng := newMemEngineWith(t, streams, logql.Options{MaxSeries: limit})
	lim := testLimits(time.Hour, 3)
	lim.Defaults().MaxQuerySeries = limit
	f := New(noCache(), eng, lim, nil)
	T := at(3 * time.Hour)
	for _, tc := range []struct{ name, query, want string }{
		{"series limit over the merged vector", `count_over_time({app=~"a|b|c"}[3h])`, "maximum of series (2)"},
		{"series limit in a piece", `count_over_time({app=~"a|b|f|g"}[3h])`, "maximum of series (2)"},
		{"oldest pipeline error", `max_over_time({app=~"d|e"} | logfmt | unwrap v [3h])`, `app="e"`},
		{"pipeline error wins over an earlier series limit", `max_over_time({app=~"a|d|f|g"} | logfmt | unwrap v [3h])`, `app="d"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := api.QueryRequest{Query: tc.query, Start: T, End: T, Instant: true}
			_, want := eng.Query(tenantCtx(), req)
			if want == nil || !strings.Contains(want.Error(), tc.want) {
				t.Fatalf("engine: %v, want an error with %q (test data is wrong)", want, tc.want)
			}
			_, got := f.Query(tenantCtx(), req)
			if got == nil || got.Error() != want.Error() {
				t.Fatalf("split error:\n %v\nwant\n %v", got, want)
			}
		})
	}
	// The merged-vector limit is a 400, as the server's engine answers it.
	_, err := f.Query(tenantCtx(), api.QueryRequest{Query: `count_over_time({app=~"a|b|c"}[3h])`, Start: T, End: T, Instant: true})
	var se interface{ StatusCode() int }
	if !errors.As(err, &se) || se.StatusCode() != http.StatusBadRequest {
		t.Errorf("series limit error %v is not a 400", err)
	}
	// Within the limit the same data answers.
	if res, err := f.Query(tenantCtx(), api.QueryRequest{Query: `sum(count_over_time({app=~"a|b|c"}[3h]))`, Start: T, End: T, Instant: true}); err != nil || len(res.Vector) != 1 || res.Vector[0].V != 30 {
		t.Errorf("sum over three apps = %v, %v; want 30", res, err)
	}

	// A sub-query that outlives query_timeout fails the query with the deadline.
	inner := &fakeEngine{before: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}
	lim = testLimits(time.Hour, 2)
	lim.Defaults().QueryTimeout.Set("50ms")
	began := time.Now()
	_, err = New(noCache(), inner, lim, nil).Query(tenantCtx(), api.QueryRequest{Query: `count_over_time({app="x"}[3h])`, Start: T, End: T, Instant: true})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(began) > 5*time.Second {
		t.Errorf("err = %v after %s, want the deadline", err, time.Since(began))
	}
}

// TestInstantSplitParallelism checks that pieces run in parallel up to
// max_query_parallelism, as the sub-queries of a range query do.
func TestInstantSplitParallelism(t *testing.T) {
	p := min(3, 2*runtime.GOMAXPROCS(0)) // what the frontend runs at once with parallelism 3
	ready := make(chan struct{})
	started := make(chan struct{}, 100)
	inner := &fakeEngine{before: func(ctx context.Context) error {
		started <- struct{}{}
		select {
		case <-ready:
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	}}
	go func() {
		for range p {
			<-started
		}
		close(ready)
	}()
	f := New(noCache(), inner, testLimits(time.Hour, 3), nil)
	f.instantPieces = maxInstantSplits
	T := at(24 * time.Hour)
	res, err := f.Query(tenantCtx(), api.QueryRequest{Query: `sum(count_over_time({app="x"}[24h]))`, Start: T, End: T, Instant: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := inner.maxSeen.Load(); got != int64(p) {
		t.Errorf("most sub-queries in flight = %d, want %d", got, p)
	}
	// fakeEngine answers each piece with {app="x"} 1.
	if len(res.Vector) != 1 || res.Vector[0].V != 24 || res.Stats.Splits != 24 || res.Stats.TotalLinesProcessed != 24 {
		t.Errorf("result %v, stats %+v; want 24 from 24 pieces", res.Vector, res.Stats)
	}
	if res.Vector[0].T != T.UnixMilli() {
		t.Errorf("sample time %d, want %d", res.Vector[0].T, T.UnixMilli())
	}
}

// TestInstantSplitLimit checks split_instant_metric_queries_by_interval: 0 disables splitting,
// and a tenant's runtime override replaces the default.
func TestInstantSplitLimit(t *testing.T) {
	T := at(24 * time.Hour)
	req := api.QueryRequest{Query: `count_over_time({app="x"}[24h])`, Start: T, End: T, Instant: true}
	calls := func(lim *validation.Overrides, tenant string) []api.QueryRequest {
		t.Helper()
		inner := &fakeEngine{}
		f := New(noCache(), inner, lim, nil)
		f.instantPieces = maxInstantSplits
		if _, err := f.Query(tenantWith(context.Background(), tenant), req); err != nil {
			t.Fatal(err)
		}
		return inner.requests()
	}
	lim := testLimits(time.Hour, 4)
	if d := lim.Defaults().SplitInstantMetricQueriesByInterval.D(); d != time.Hour {
		t.Errorf("default split_instant_metric_queries_by_interval = %s, want 1h (Loki's)", d)
	}
	// Per-tenant values come from the runtime overrides file.
	tenants, err := runtimeconfig.Parse([]byte(`
overrides:
  "off": {split_instant_metric_queries_by_interval: 0s}
  six: {split_instant_metric_queries_by_interval: 6h}
`), *lim.Defaults())
	if err != nil {
		t.Fatal(err)
	}
	lim.SetTenantLimits(tenants)

	if c := calls(lim, "team-a"); len(c) != 24 {
		t.Errorf("default: %d sub-queries, want 24", len(c))
	}
	if c := calls(lim, "off"); len(c) != 1 || !reflect.DeepEqual(c[0], req) {
		t.Errorf("disabled: the engine got %v, want the query untouched", c)
	}
	var six []string
	for _, c := range calls(lim, "six") {
		six = append(six, c.Query)
	}
	slices.Sort(six)
	if want := []string{`count_over_time({app="x"} [6h] offset 12h)`, `count_over_time({app="x"} [6h] offset 18h)`,
		`count_over_time({app="x"} [6h] offset 6h)`, `count_over_time({app="x"} [6h])`}; !slices.Equal(six, want) {
		t.Errorf("override 6h: sub-queries %q, want %q", six, want)
	}

	_, err = runtimeconfig.Parse([]byte("overrides:\n  x: {split_instant_metric_queries_by_interval: -1h}\n"), *lim.Defaults())
	if err == nil || !strings.Contains(err.Error(), "split_instant_metric_queries_by_interval") {
		t.Errorf("a negative interval: %v, want an error naming the field", err)
	}
}

// TestInstantSplitPiecesFollowParallelism checks that by default an instant query is cut into
// no more pieces than the frontend runs at once and the process has cores (whole multiples of
// the interval): more would add index lookups, memory and a second decode of every block on a
// boundary, for no parallelism.
func TestInstantSplitPiecesFollowParallelism(t *testing.T) {
	T := at(24 * time.Hour)
	req := api.QueryRequest{Query: `sum(count_over_time({app="x"}[24h]))`, Start: T, End: T, Instant: true}
	inner := &fakeEngine{}
	lim := testLimits(time.Hour, 3)
	f := New(noCache(), inner, lim, nil)
	p := min(f.parallelism(lim.For("fake")), max(2, runtime.GOMAXPROCS(0)))
	res, err := f.Query(tenantCtx(), req)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range inner.requests() {
		got = append(got, c.Query)
	}
	slices.Sort(got)
	want := len(splitInstantRange(24*time.Hour, 0, time.Hour, p))
	if want < 2 || want > p {
		t.Fatalf("splitInstantRange made %d pieces for parallelism %d", want, p)
	}
	if len(got) != want || res.Stats.Splits != int64(want) || len(res.Vector) != 1 || res.Vector[0].V != float64(len(got)) {
		t.Errorf("parallelism %d: %d sub-queries %q, splits %d, result %v; want %d pieces", p, len(got), got, res.Stats.Splits, res.Vector, want)
	}
}
