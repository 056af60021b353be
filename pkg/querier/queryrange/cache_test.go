package queryrange

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/api"
)

// matrixOf returns a result of one series with n points.
func matrixOf(n int) *api.QueryResult {
	return &api.QueryResult{Type: api.ResultMatrix, Matrix: []api.Series{{Metric: labels.FromStrings("a", "b"), Points: make([]api.Point, n)}}}
}

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	now := day0
	one := resultSize(matrixOf(100)) + 2 // key "kN"
	c := newResultsCache(3*one, 0, func() time.Time { return now }, newCacheMetrics(nil))
	for i := range 3 {
		c.put(fmt.Sprintf("k%d", i), matrixOf(100))
	}
	if c.get("k0") == nil { // k0 is now the most recently used; k1 the least
		t.Fatal("k0 missing before any eviction")
	}
	c.put("k3", matrixOf(100))
	if c.get("k1") != nil {
		t.Error("k1 (least recently used) was kept")
	}
	for _, k := range []string{"k0", "k2", "k3"} {
		if c.get(k) == nil {
			t.Errorf("%s was evicted", k)
		}
	}
	if c.bytes > c.maxBytes || c.bytes != 3*one {
		t.Errorf("cache holds %d bytes, budget %d", c.bytes, c.maxBytes)
	}
	if ev := counterValue(c.m.evicted); ev != 1 {
		t.Errorf("evictions = %v, want 1", ev)
	}
	// A result larger than the whole budget is not cached and evicts nothing.
	c.put("huge", matrixOf(10000))
	if c.get("huge") != nil || c.get("k0") == nil {
		t.Error("oversized result cached or evicted others")
	}
	// Replacing a key does not count its old size twice.
	c.put("k0", matrixOf(100))
	if c.bytes != 3*one {
		t.Errorf("after replacing k0 the cache holds %d bytes, want %d", c.bytes, 3*one)
	}
}

func TestCacheTTL(t *testing.T) {
	now := day0
	c := newResultsCache(1<<20, time.Hour, func() time.Time { return now }, newCacheMetrics(nil))
	c.put("k", matrixOf(1))
	now = now.Add(59 * time.Minute)
	if c.get("k") == nil {
		t.Fatal("entry expired before its TTL")
	}
	now = now.Add(2 * time.Minute)
	if c.get("k") != nil {
		t.Fatal("entry served after its TTL")
	}
	if c.bytes != 0 || len(c.items) != 0 {
		t.Errorf("expired entry still counted: %d bytes, %d items", c.bytes, len(c.items))
	}
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if c.cacheBytes() != 100<<20 {
		t.Errorf("default cache budget = %d, want 100 MB", c.cacheBytes())
	}
	for _, tc := range []struct {
		set  func(*Config)
		want string
	}{
		{func(c *Config) { c.ResultsCache.Cache.EmbeddedCache.MaxSizeMB = -1 }, "max_size_mb"},
		{func(c *Config) { c.ResultsCache.Compression = "lz4" }, "compression"},
	} {
		c := DefaultConfig()
		tc.set(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate = %v, want an error naming %s", err, tc.want)
		}
	}
	c.CacheResults = false
	if c.cacheBytes() != 0 {
		t.Error("cache_results: false still gives a cache")
	}
}
