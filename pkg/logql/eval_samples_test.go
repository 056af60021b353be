package logql

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// valueSummary prints a metric result compactly, with times as seconds after t0.
func valueSummary(v Value) string {
	var sb strings.Builder
	off := func(ms int64) string { return fmt.Sprintf("%g", float64(ms*1e6-t0)/1e9) }
	switch v := v.(type) {
	case Vector:
		for _, s := range v {
			fmt.Fprintf(&sb, "%s %g @%s\n", s.Metric, s.V, off(s.T))
		}
	case Matrix:
		for _, s := range v {
			sb.WriteString(s.Metric.String())
			for _, p := range s.Points {
				fmt.Fprintf(&sb, " %g@%s", p.V, off(p.T))
			}
			sb.WriteString("\n")
		}
	case Scalar:
		fmt.Fprintf(&sb, "scalar %g @%s\n", v.V, off(v.T))
	case Streams:
		return streamsSummary(v)
	}
	return sb.String()
}

func instant(q string, at int64) Params { return Params{Query: q, Start: at, End: at} }

func rangeQ(q string, start, end int64, step time.Duration) Params {
	return Params{Query: q, Start: start, End: end, Step: step}
}

func TestMetricQueries(t *testing.T) {
	eng := newFixtureEngine(t)
	tests := []struct {
		name string
		p    Params
		want string
	}{
		{"left-open window", instant(`sum(count_over_time({app="worker"}[100s]))`, sec(200)), "{} 1 @200\n"},
		{"window covers both ends", instant(`sum(count_over_time({app="worker"}[101s]))`, sec(200)), "{} 2 @200\n"},
		{"structured metadata are series labels", instant(`count_over_time({app="worker"}[100s])`, sec(200)),
			"{app=\"worker\", env=\"dev\", trace_id=\"t2\"} 1 @200\n"},
		{"range query steps", rangeQ(`count_over_time({app="worker"} | drop trace_id [150s])`, sec(0), sec(300), 50*time.Second),
			"{app=\"worker\", env=\"dev\"} 1@0 1@50 2@100 1@150 2@200 1@250 2@300\n"},
		{"step larger than range", rangeQ(`count_over_time({app="worker"} | drop trace_id [10s])`, sec(0), sec(500), 200*time.Second),
			"{app=\"worker\", env=\"dev\"} 1@0 1@200 1@400\n"},
		{"sum by level over json", instant(`sum by (level) (count_over_time({app="api"} | json | __error__="" [60s]))`, sec(60)),
			"{level=\"error\"} 2 @60\n{level=\"info\"} 2 @60\n{level=\"warn\"} 2 @60\n"},
		{"rate", instant(`rate({app="web"}[1m])`, sec(60)), "{app=\"web\", env=\"prod\", pod=\"web-1\"} 0.1 @60\n"},
		{"bytes_over_time", instant(`bytes_over_time({app="worker"} | drop trace_id [1h])`, sec(1000)), "{app=\"worker\", env=\"dev\"} 60 @1000\n"},
		{"bytes_rate", instant(`bytes_rate({app="worker"} | drop trace_id [100s])`, sec(1000)), ""},
		{"sum of unwrap", instant(`sum(sum_over_time({app="web"} | logfmt | unwrap latency [60s]))`, sec(60)), "{} 700 @60\n"},
		{"max_over_time by", instant(`max_over_time({app="web"} | logfmt | unwrap latency [60s]) by (app)`, sec(60)), "{app=\"web\"} 300 @60\n"},
		{"avg_over_time by", instant(`avg_over_time({app="web"} | logfmt | unwrap latency [60s]) by (app)`, sec(60)), "{app=\"web\"} 116.66666666666667 @60\n"},
		{"min_over_time without", instant(`min_over_time({app="web"} | logfmt | unwrap latency [60s]) without (msg, level, status, pod, env)`, sec(60)), "{app=\"web\"} 0 @60\n"},
		{"quantile_over_time", instant(`quantile_over_time(0.5, {app="web"} | logfmt | unwrap latency [60s]) by (app)`, sec(60)), "{app=\"web\"} 100 @60\n"},
		{"first and last", instant(`first_over_time({app="web"} | logfmt | unwrap latency [60s]) by (app) + last_over_time({app="web"} | logfmt | unwrap latency [60s]) by (app)`, sec(60)), "{app=\"web\"} 100 @60\n"},
		{"stdvar_over_time", instant(`stdvar_over_time({app="web"} | logfmt | unwrap latency [40s]) by (app)`, sec(40)), "{app=\"web\"} 12500 @40\n"},
		{"stddev_over_time", instant(`stddev_over_time({app="web"} | logfmt | unwrap latency [40s]) by (app)`, sec(40)), "{app=\"web\"} 111.80339887498948 @40\n"},
		{"unwrap duration", instant(`max_over_time({app="api"} | json | unwrap duration(took) | __error__="" [60s]) by (app)`, sec(60)), "{app=\"api\"} 0.07 @60\n"},
		{"unwrap bytes", instant(`sum(sum_over_time({app="api"} | json | unwrap bytes(size) | __error__="" [60s]))`, sec(60)), "{} 17000 @60\n"},
		{"rate of unwrap", instant(`sum(rate({app="web"} | logfmt | unwrap latency [60s]))`, sec(60)), "{} 11.666666666666666 @60\n"},
		{"offset", instant(`count_over_time({app="worker"} | drop trace_id [150s] offset 100s)`, sec(300)), "{app=\"worker\", env=\"dev\"} 2 @300\n"},
		{"bottomk", instant(`bottomk(1, sum by (level) (count_over_time({app="api"} | json | __error__="" [10m])))`, sec(600)), "{level=\"info\"} 19 @600\n"},
		{"topk keeps ties by k", instant(`topk(2, sum by (level) (count_over_time({app="api"} | json | __error__="" [10m])))`, sec(600)),
			"{level=\"error\"} 20 @600\n{level=\"warn\"} 20 @600\n"},
		{"sort_desc keeps its order", instant(`sort_desc(sum by (level) (count_over_time({app="api"} | json | __error__="" [5m])))`, sec(600)),
			"{level=\"error\"} 10 @600\n{level=\"warn\"} 10 @600\n{level=\"info\"} 9 @600\n"},
		{"comparison filters", instant(`sum by (level) (count_over_time({app="api"} | json | __error__="" [10m])) > 19`, sec(600)),
			"{level=\"error\"} 20 @600\n{level=\"warn\"} 20 @600\n"},
		{"comparison bool", instant(`sum by (level) (count_over_time({app="api"} | json | __error__="" [10m])) > bool 19`, sec(600)),
			"{level=\"error\"} 1 @600\n{level=\"info\"} 0 @600\n{level=\"warn\"} 1 @600\n"},
		{"scalar on the left of a comparison keeps the vector value", instant(`19 < sum by (level) (count_over_time({app="api"} | json | __error__="" [10m]))`, sec(600)),
			"{level=\"error\"} 20 @600\n{level=\"warn\"} 20 @600\n"},
		{"unless", instant(`sum by (level) (count_over_time({app="api"} | json | __error__="" [10m])) unless sum by (level) (count_over_time({app="api"} | json | __error__="" [10m])) > 19`, sec(600)),
			"{level=\"info\"} 19 @600\n"},
		{"or", instant(`sum by (app) (count_over_time({app="api"}[60s])) or sum by (app) (count_over_time({app="web"}[60s]))`, sec(60)),
			"{app=\"api\"} 6 @60\n{app=\"web\"} 6 @60\n"},
		{"and with on", instant(`sum by (app, env) (count_over_time({env="prod"}[60s])) and on (app) sum by (app) (count_over_time({app="web"}[60s]))`, sec(60)),
			"{app=\"web\", env=\"prod\"} 6 @60\n"},
		{"group_left", instant(`sum by (app) (count_over_time({env="prod"}[60s])) / on () group_left sum(count_over_time({env="prod"}[60s]))`, sec(60)),
			"{app=\"api\"} 0.5 @60\n{app=\"web\"} 0.5 @60\n"},
		{"one-to-one ignoring", instant(`sum by (app, env) (count_over_time({app="api"}[60s])) - ignoring (app) sum by (env) (count_over_time({app="web"}[30s]))`, sec(60)),
			"{env=\"prod\"} 3 @60\n"},
		{"arithmetic with scalars", instant(`sum(count_over_time({app="api"}[60s])) * 2 + 1`, sec(60)), "{} 13 @60\n"},
		{"vector()", instant(`vector(1) + vector(1)`, sec(60)), "{} 2 @60\n"},
		{"literal instant is a scalar", instant(`1 + 1`, sec(60)), "scalar 2 @60\n"},
		{"literal range is a matrix", rangeQ(`2 * 3`, sec(0), sec(20), 10*time.Second), "{} 6@0 6@10 6@20\n"},
		{"label_replace", instant(`label_replace(sum by (app) (count_over_time({app="api"}[60s])), "svc", "s-$1", "app", "(.*)")`, sec(60)),
			"{app=\"api\", svc=\"s-api\"} 6 @60\n"},
		{"absent_over_time of nothing", instant(`absent_over_time({app="nope", env=~"p.*"}[1m])`, sec(60)), "{app=\"nope\"} 1 @60\n"},
		{"absent_over_time of something", instant(`absent_over_time({app="api"}[1m])`, sec(60)), ""},
		{"avg count stddev", instant(`avg(count_over_time({env="prod"} | drop __error__ [60s])) + count(count_over_time({env="prod"}[60s])) + stddev(count_over_time({env="prod"}[60s]))`, sec(60)),
			"{} 8 @60\n"},
		{"range sum by", rangeQ(`sum by (app) (rate({env="prod"}[20s]))`, sec(20), sec(40), 10*time.Second),
			"{app=\"api\"} 0.1@20 0.1@30 0.1@40\n{app=\"web\"} 0.1@20 0.1@30 0.1@40\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := eng.Query(context.Background(), tc.p)
			if err != nil {
				t.Fatalf("Query(%q): %v", tc.p.Query, err)
			}
			if got := valueSummary(res.Data); got != tc.want {
				t.Errorf("Query(%q) =\n%s\nwant\n%s", tc.p.Query, got, tc.want)
			}
		})
	}
}

func TestMetricQueryErrors(t *testing.T) {
	q, err := NewMemQuerier(fixtureStreams())
	if err != nil {
		t.Fatal(err)
	}
	eng := NewEngine(q, Options{MaxSeries: 5})
	_, err = eng.Query(context.Background(), instant(`count_over_time({app="api"} | json [1h])`, sec(700)))
	var pe *PipelineError
	if !errors.As(err, &pe) || pe.ErrorType != "JSONParserErr" || !strings.HasPrefix(err.Error(), "pipeline error: 'JSONParserErr' for series: '{") {
		t.Errorf("json error not filtered: err = %v, want a JSONParserErr PipelineError", err)
	}
	_, err = eng.Query(context.Background(), rangeQ(`count_over_time({app="web"} | logfmt [10m])`, sec(0), sec(600), time.Minute))
	var se *SeriesLimitError
	if !errors.As(err, &se) || err.Error() != "maximum of series (5) reached for a single query" {
		t.Errorf("series limit: err = %v", err)
	}
	_, err = eng.Query(context.Background(), rangeQ(`count_over_time({app="web"}[1m])`, sec(0), sec(600), time.Millisecond))
	if !errors.Is(err, ErrBadParams) || !strings.Contains(err.Error(), "exceeded maximum resolution of 11,000 points") {
		t.Errorf("too many steps: err = %v", err)
	}
	_, err = eng.Query(context.Background(), rangeQ(`count_over_time({app="web"}[1m])`, sec(0), sec(600), 0))
	if !errors.Is(err, ErrBadParams) {
		t.Errorf("zero step: err = %v, want ErrBadParams", err)
	}
	_, err = eng.Query(context.Background(), instant(`sum(rate({app="web"}[1m])) / on () rate({env="prod"}[1m])`, sec(60)))
	if !errors.Is(err, ErrBadParams) || !strings.Contains(err.Error(), "matching labels must be unique on one side") {
		t.Errorf("many-to-many: err = %v", err)
	}
}

func TestExtrapolatedRate(t *testing.T) {
	var pts []point
	for i := 1; i <= 5; i++ {
		pts = append(pts, point{t: int64(i) * 10e9, v: float64(i)})
	}
	if got := extrapolatedRate(pts, 0, 60e9, 60); got != 0.1 {
		t.Errorf("extrapolatedRate = %v, want 0.1", got)
	}
	// A reset from 5 to 1 adds the 5 lost.
	pts = append(pts, point{t: 55e9, v: 1})
	// Increase 5 over 45s sampled; extrapolated by 9s (to where the counter was 0) and 5s.
	if got, want := extrapolatedRate(pts, 0, 60e9, 60), 5*59.0/45/60; math.Abs(got-want) > 1e-15 {
		t.Errorf("extrapolatedRate with reset = %v, want %v", got, want)
	}
}

func TestMetricQueryStatsAndCancel(t *testing.T) {
	eng := newFixtureEngine(t)
	res, err := eng.Query(context.Background(), instant(`count_over_time({app="worker"}[1h])`, sec(1000)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.LinesProcessed != 6 || res.Stats.EntriesReturned != 6 {
		t.Errorf("Stats = %+v, want 6 lines and 6 samples", res.Stats)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := eng.Query(ctx, rangeQ(`count_over_time({app="worker"}[1h])`, sec(0), sec(1000), time.Second)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled query: err = %v", err)
	}
}

func TestBinOpMatchingLabelOrder(t *testing.T) {
	eng := newFixtureEngine(t)
	// on (pod, app) lists labels out of order; matching must not depend on it.
	res, err := eng.Query(context.Background(), instant(`sum by (app, pod) (count_over_time({env="prod"}[60s])) + on (pod, app) sum by (pod, app, env) (count_over_time({env="prod"}[60s]))`, sec(60)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := valueSummary(res.Data), "{app=\"api\", pod=\"api-1\"} 12 @60\n{app=\"web\", pod=\"web-1\"} 12 @60\n"; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	res, err = eng.Query(context.Background(), instant(`sum by (app, pod, env) (count_over_time({env="prod"}[60s])) - ignoring (pod, env) sum by (app) (count_over_time({env="prod"}[30s]))`, sec(60)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := valueSummary(res.Data), "{app=\"api\"} 3 @60\n{app=\"web\"} 3 @60\n"; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestSharedRangeAggregation(t *testing.T) {
	eng := newFixtureEngine(t)
	single, err := eng.Query(context.Background(), rangeQ(`count_over_time({app="web"}[1m])`, sec(0), sec(600), time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	res, err := eng.Query(context.Background(), rangeQ(`count_over_time({app="web"}[1m]) / count_over_time({app="web"}[1m]) + (count_over_time({app="web"}[1m]) - count_over_time({app="web"}[1m]))`, sec(0), sec(600), time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	// The four occurrences are read once.
	if res.Stats.LinesProcessed != single.Stats.LinesProcessed {
		t.Errorf("read %d lines, want %d (one pass)", res.Stats.LinesProcessed, single.Stats.LinesProcessed)
	}
	m := res.Data.(Matrix)
	if len(m) != 1 || len(m[0].Points) != 10 {
		t.Fatalf("got %s", valueSummary(m))
	}
	for _, p := range m[0].Points {
		if p.V != 1 {
			t.Fatalf("got %s, want 1 at every step", valueSummary(m))
		}
	}
	// Different pushed-down groupings are evaluated separately.
	res, err = eng.Query(context.Background(), instant(`sum by (app) (count_over_time({env="prod"}[60s])) / on () group_left sum(count_over_time({env="prod"}[60s]))`, sec(60)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := valueSummary(res.Data), "{app=\"api\"} 0.5 @60\n{app=\"web\"} 0.5 @60\n"; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
