package queryrange

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/api"
	"github.com/sluicelog/sluice/pkg/tenant"
)

// TestCacheGeneration checks that a new cache generation (a delete request) makes cached
// metric results miss, and an unchanged one hits.
func TestCacheGeneration(t *testing.T) {
	var calls atomic.Int64
	next := countingEngine{calls: &calls}
	f := New(DefaultConfig(), next, testLimits(time.Hour, 4), nil)
	gen := int64(1)
	f.SetCacheGeneration(func(string) int64 { return gen })
	now := time.Now()
	q := api.QueryRequest{Query: `sum(count_over_time({a="b"}[1m]))`, Start: now.Add(-6 * time.Hour), End: now.Add(-3 * time.Hour), Step: time.Minute}
	ctx := tenant.With(context.Background(), "team-a")
	run := func() int64 {
		before := calls.Load()
		if _, err := f.Query(ctx, q); err != nil {
			t.Fatal(err)
		}
		return calls.Load() - before
	}
	if n := run(); n == 0 {
		t.Fatal("cold query ran no sub-query")
	}
	if n := run(); n != 0 {
		t.Fatalf("repeated query ran %d sub-queries, want all from the cache", n)
	}
	gen = 2
	if n := run(); n == 0 {
		t.Fatal("after a new cache generation the cached results were still used")
	}
}

type countingEngine struct{ calls *atomic.Int64 }

func (e countingEngine) Query(ctx context.Context, q api.QueryRequest) (*api.QueryResult, error) {
	e.calls.Add(1)
	return &api.QueryResult{Type: api.ResultMatrix}, nil
}
