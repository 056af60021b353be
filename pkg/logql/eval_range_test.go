package logql

import (
	"context"
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
