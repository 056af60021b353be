package queryrange

import (
	"container/list"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicelog/sluice/pkg/api"
)

// resultsCache keeps results of metric sub-queries in memory, bounded by bytes, evicting the
// least recently used first. Entries older than the TTL count as misses. It is safe for
// concurrent use. Cached results are shared: callers must not modify them.
type resultsCache struct {
	maxBytes int64
	ttl      time.Duration
	now      func() time.Time
	m        *cacheMetrics

	mu    sync.Mutex
	bytes int64
	lru   *list.List // of *cacheEntry, most recently used first
	items map[string]*list.Element
}

type cacheEntry struct {
	key   string
	res   *api.QueryResult
	size  int64
	added time.Time
}

func newResultsCache(maxBytes int64, ttl time.Duration, now func() time.Time, m *cacheMetrics) *resultsCache {
	return &resultsCache{maxBytes: maxBytes, ttl: ttl, now: now, m: m, lru: list.New(), items: map[string]*list.Element{}}
}

// get returns the result cached under key, or nil.
func (c *resultsCache) get(key string) *api.QueryResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m.requests.Inc()
	el, ok := c.items[key]
	if !ok {
		return nil
	}
	e := el.Value.(*cacheEntry)
	if c.ttl > 0 && c.now().Sub(e.added) > c.ttl {
		c.remove(el)
		return nil
	}
	c.lru.MoveToFront(el)
	c.m.hits.Inc()
	return e.res
}

// put caches res under key, evicting the least recently used entries to stay in budget. A
// result larger than the whole budget is not cached.
func (c *resultsCache) put(key string, res *api.QueryResult) {
	size := resultSize(res) + int64(len(key))
	if size > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.remove(el)
	}
	for c.bytes+size > c.maxBytes {
		c.remove(c.lru.Back())
		c.m.evicted.Inc()
	}
	c.items[key] = c.lru.PushFront(&cacheEntry{key: key, res: res, size: size, added: c.now()})
	c.bytes += size
	c.m.added.Inc()
	c.m.entries.Set(float64(len(c.items)))
	c.m.bytes.Set(float64(c.bytes))
}

func (c *resultsCache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*cacheEntry)
	delete(c.items, e.key)
	c.bytes -= e.size
	c.m.entries.Set(float64(len(c.items)))
	c.m.bytes.Set(float64(c.bytes))
}

// cacheMetrics are the results cache's metrics, named as Loki names its cache metrics.
type cacheMetrics struct {
	requests, hits, added, evicted prometheus.Counter
	entries, bytes                 prometheus.Gauge
}

func newCacheMetrics(reg prometheus.Registerer) *cacheMetrics {
	const name = "frontend.results-cache"
	cl := prometheus.Labels{"name": name}
	m := &cacheMetrics{
		requests: prometheus.NewCounter(prometheus.CounterOpts{Name: "loki_cache_fetched_keys", Help: "Keys looked up in the cache.", ConstLabels: cl}),
		hits:     prometheus.NewCounter(prometheus.CounterOpts{Name: "loki_cache_hits", Help: "Keys found in the cache.", ConstLabels: cl}),
		added:    prometheus.NewCounter(prometheus.CounterOpts{Name: "loki_embeddedcache_entries_added_new_total", Help: "Entries added to the embedded cache.", ConstLabels: prometheus.Labels{"cache": name}}),
		evicted:  prometheus.NewCounter(prometheus.CounterOpts{Name: "loki_embeddedcache_entries_evicted_total", Help: "Entries evicted from the embedded cache to stay within its size.", ConstLabels: prometheus.Labels{"cache": name}}),
		entries:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "loki_embeddedcache_entries", Help: "Entries in the embedded cache.", ConstLabels: prometheus.Labels{"cache": name}}),
		bytes:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "loki_embeddedcache_memory_bytes", Help: "Estimated memory held by the embedded cache.", ConstLabels: prometheus.Labels{"cache": name}}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.hits, m.added, m.evicted, m.entries, m.bytes)
	}
	return m
}
