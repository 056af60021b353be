package queryrange

import (
	"context"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/api"
	"github.com/sluicelog/sluice/pkg/validation"
)

// TestCacheFreshnessPerTenant: how recent a cached sub-query may be is each tenant's
// max_cache_freshness_per_query. The same 24h query, run twice, runs again only its
// sub-ranges that were too fresh to cache: those ending within 10m (the default), 3h or 0s of
// now.
func TestCacheFreshnessPerTenant(t *testing.T) {
	limits := testLimits(time.Hour, 4)
	threeHours, none := *limits.Defaults(), *limits.Defaults()
	threeHours.MaxCacheFreshness.Set("3h")
	none.MaxCacheFreshness.Set("0s")
	limits.SetTenantLimits(map[string]*validation.Limits{"three-hours": &threeHours, "none": &none})
	inner := &fakeEngine{}
	f := New(DefaultConfig(), inner, limits, nil)
	now := at(24*time.Hour + 5*time.Minute)
	f.now = func() time.Time { return now }
	req := api.QueryRequest{Query: `sum(count_over_time({app="x"}[5m]))`, Start: now.Add(-24 * time.Hour), End: now, Step: time.Minute}

	for _, c := range []struct {
		tenant string
		again  int // sub-queries of the second run
	}{
		{"team-a", 2},      // [23h, 23h59m] and [24h, 24h05m] end after now-10m
		{"three-hours", 4}, // and [21h, 21h59m], [22h, 22h59m], which end after now-3h
		{"none", 0},        // every sub-range is closed
	} {
		ctx := tenantWith(context.Background(), c.tenant)
		before := len(inner.requests())
		if _, err := f.Query(ctx, req); err != nil {
			t.Fatal(err)
		}
		if n := len(inner.requests()) - before; n != 25 {
			t.Fatalf("%s: cold query ran %d sub-queries, want 25", c.tenant, n)
		}
		before = len(inner.requests())
		if _, err := f.Query(ctx, req); err != nil {
			t.Fatal(err)
		}
		if n := len(inner.requests()) - before; n != c.again {
			t.Errorf("%s: repeated query ran %d sub-queries, want %d", c.tenant, n, c.again)
		}
	}
}
