package logql

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/logql/syntax"
	"github.com/sluicelog/sluice/pkg/race"
)

// TestRangeEvaluatorMemoryBounded checks that a range aggregation keeps only the samples of
// the open window, not everything it has read.
func TestRangeEvaluatorMemoryBounded(t *testing.T) {
	eng, _, _ := benchData(t) // 20 streams, 10 entries per second each, for 500s
	e, err := syntax.ParseSampleExpr(`count_over_time({app="bench"}[1m])`)
	if err != nil {
		t.Fatal(err)
	}
	ra := e.(*syntax.RangeAggregation)
	st := steps{start: t0 + int64(time.Minute), end: t0 + int64(490*time.Second), step: int64(10 * time.Second)}
	c := &counters{}
	ev, err := eng.newRangeEvaluator(context.Background(), ra, nil, st, c)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	const perWindow = 20 * 10 * 60 // streams × entries per second × seconds
	maxLive, maxCap, steps := 0, 0, 0
	for {
		_, vec, ok := ev.Next()
		if !ok {
			break
		}
		steps++
		live, capacity := 0, 0
		for _, ws := range ev.order {
			live += len(ws.live())
			capacity += cap(ws.pts)
		}
		maxLive, maxCap = max(maxLive, live), max(maxCap, capacity)
		var sum float64
		for _, s := range vec {
			sum += s.v
		}
		if sum != perWindow {
			t.Fatalf("step %d: counted %v entries, want %d", steps, sum, perWindow)
		}
	}
	if err := ev.Err(); err != nil {
		t.Fatal(err)
	}
	if c.lines.Load() != 20*4900 { // (0s, 490s]: the first window is left-open
		t.Errorf("read %d lines, want each of the 98000 in (0s, 490s] once", c.lines.Load())
	}
	if maxLive > perWindow {
		t.Errorf("kept up to %d live samples, want at most one window (%d)", maxLive, perWindow)
	}
	if maxCap > 4*perWindow {
		t.Errorf("buffers grew to %d samples, want at most %d", maxCap, 4*perWindow)
	}
}

// TestRangeEvaluatorAllocs checks that, once its windows are warm, evaluating a step of a
// count over streams without parsers allocates nothing per entry.
func TestRangeEvaluatorAllocs(t *testing.T) {
	race.SkipAllocs(t)
	eng, _, _ := benchData(t)
	e, err := syntax.ParseSampleExpr(`count_over_time({app="bench"}[1m])`)
	if err != nil {
		t.Fatal(err)
	}
	st := steps{start: t0 + int64(time.Minute), end: t0 + int64(490*time.Second), step: int64(10 * time.Second)}
	ev, err := eng.newRangeEvaluator(context.Background(), e.(*syntax.RangeAggregation), nil, st, &counters{})
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	for i := 0; i < 5; i++ {
		if _, _, ok := ev.Next(); !ok {
			t.Fatal("evaluator ended early")
		}
	}
	// Each step reads 2000 entries (20 streams × 10s × 10/s).
	allocs := testing.AllocsPerRun(20, func() {
		if _, _, ok := ev.Next(); !ok {
			t.Fatal("evaluator ended early")
		}
	})
	if allocs > 1 {
		t.Errorf("a step allocated %v times, want at most 1 (none per entry)", allocs)
	}
}

// TestRangeAccMatchesRangeFunc: a rangeAcc fed a window's samples one by one gives, bit for
// bit, what the range function computes over all of them, for every function it serves.
func TestRangeAccMatchesRangeFunc(t *testing.T) {
	queries := []string{
		`count_over_time({a="b"}[1m])`, `rate({a="b"}[1m])`, `bytes_over_time({a="b"}[1m])`,
		`bytes_rate({a="b"}[1m])`, `absent_over_time({a="b"}[1m])`,
		`rate({a="b"} | unwrap v [1m])`, `sum_over_time({a="b"} | unwrap v [1m])`,
		`avg_over_time({a="b"} | unwrap v [1m])`, `min_over_time({a="b"} | unwrap v [1m])`,
		`max_over_time({a="b"} | unwrap v [1m])`, `first_over_time({a="b"} | unwrap v [1m])`,
		`last_over_time({a="b"} | unwrap v [1m])`, `stdvar_over_time({a="b"} | unwrap v [1m])`,
		`stddev_over_time({a="b"} | unwrap v [1m])`,
	}
	rng := rand.New(rand.NewPCG(1, 2))
	special := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), 1e300, -1e-300, 0.1}
	windows := [][]point{{{v: math.NaN()}, {v: 1}}, {{v: 1}, {v: math.NaN()}, {v: -2}}}
	for i := 0; i < 500; i++ {
		pts := make([]point, 1+rng.IntN(60))
		for j := range pts {
			pts[j] = point{t: int64(j), v: rng.NormFloat64() * math.Pow(10, float64(rng.IntN(20)-10))}
			if rng.IntN(20) == 0 {
				pts[j].v = special[rng.IntN(len(special))]
			}
		}
		windows = append(windows, pts)
	}
	for _, q := range queries {
		e, err := syntax.ParseSampleExpr(q)
		if err != nil {
			t.Fatal(err)
		}
		ra := e.(*syntax.RangeAggregation)
		fn, err := rangeFuncFor(ra)
		if err != nil {
			t.Fatal(err)
		}
		flags, accFn, ok := accFuncFor(ra)
		if !ok {
			t.Fatalf("%s: no running aggregation", q)
		}
		for _, pts := range windows {
			var a rangeAcc
			for _, p := range pts {
				a.add(p.v, flags)
			}
			want, _ := fn(pts, 0, int64(time.Minute))
			if got := accFn(&a); math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
				t.Fatalf("%s over %v: running %v, over the samples %v", q, pts, got, want)
			}
		}
	}
	for _, q := range []string{`quantile_over_time(0.5, {a="b"} | unwrap v [1m])`, `rate_counter({a="b"} | unwrap v [1m])`} {
		e, _ := syntax.ParseSampleExpr(q)
		if _, _, ok := accFuncFor(e.(*syntax.RangeAggregation)); ok {
			t.Errorf("%s needs every sample, but has a running aggregation", q)
		}
	}
}

// TestRangeEvaluatorRunning: when windows cannot overlap, the evaluator keeps no samples, and
// gives at every step exactly what keeping them gives.
func TestRangeEvaluatorRunning(t *testing.T) {
	eng, _, _ := benchData(t)
	for _, tc := range []struct {
		q  string
		st steps
	}{
		{`sum by (ns) (count_over_time({app="bench"}[10s]))`, steps{start: t0, end: t0 + int64(500*time.Second), step: int64(10 * time.Second)}},
		{`count_over_time({app="bench"} |= "timeout" [10s])`, steps{start: t0, end: t0 + int64(500*time.Second), step: int64(15 * time.Second)}},
		{`avg_over_time({app="bench"} | json | unwrap status [30s])`, steps{start: t0, end: t0 + int64(500*time.Second), step: int64(30 * time.Second)}},
		{`max_over_time({app="bench"} | json | unwrap status [24h])`, steps{start: t0 + int64(500*time.Second), end: t0 + int64(500*time.Second)}},
	} {
		e, err := syntax.ParseSampleExpr(tc.q)
		if err != nil {
			t.Fatal(err)
		}
		var ra *syntax.RangeAggregation
		var grouping *syntax.Grouping
		switch x := e.(type) {
		case *syntax.VectorAggregation:
			ra, grouping = x.Left.(*syntax.RangeAggregation), pushdownGrouping(x, x.Left.(*syntax.RangeAggregation))
		case *syntax.RangeAggregation:
			ra = x
		}
		running, err := eng.newRangeEvaluator(context.Background(), ra, grouping, tc.st, &counters{})
		if err != nil {
			t.Fatal(err)
		}
		if running.accFn == nil {
			t.Fatalf("%s: windows cannot overlap, but the evaluator keeps samples", tc.q)
		}
		kept, err := eng.newRangeEvaluator(context.Background(), ra, grouping, tc.st, &counters{})
		if err != nil {
			t.Fatal(err)
		}
		kept.accFn = nil
		samples := 0
		for step := 0; ; step++ {
			ts1, got, ok1 := running.Next()
			ts2, want, ok2 := kept.Next()
			if ok1 != ok2 || ts1 != ts2 {
				t.Fatalf("%s step %d: running (%d, %v), kept (%d, %v)", tc.q, step, ts1, ok1, ts2, ok2)
			}
			if !ok1 {
				break
			}
			if len(got) != len(want) {
				t.Fatalf("%s step %d: %d series, want %d", tc.q, step, len(got), len(want))
			}
			for i := range got {
				if got[i].hash != want[i].hash || math.Float64bits(got[i].v) != math.Float64bits(want[i].v) {
					t.Fatalf("%s step %d: %v = %v, want %v = %v", tc.q, step, got[i].metric, got[i].v, want[i].metric, want[i].v)
				}
				samples++
			}
			for _, ws := range running.order {
				if cap(ws.pts) != 0 {
					t.Fatalf("%s: series %v keeps samples", tc.q, ws.metric)
				}
			}
		}
		if samples == 0 {
			t.Errorf("%s: no samples compared", tc.q)
		}
		running.Close()
		kept.Close()
	}
}
