package storage

import (
	"container/list"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicelog/sluice/pkg/flagext"
)

// CacheConfig is Loki's chunk_store_config.chunk_cache_config block. Only the embedded
// (in-process) cache exists.
type CacheConfig struct {
	EmbeddedCache EmbeddedCacheConfig `yaml:"embedded_cache"`
}

// EmbeddedCacheConfig bounds the in-process chunk cache.
type EmbeddedCacheConfig struct {
	Enabled   bool             `yaml:"enabled"`
	MaxSizeMB int64            `yaml:"max_size_mb"`
	TTL       flagext.Duration `yaml:"ttl"`
}

// RegisterFlags registers the chunk cache's flags with Loki's names. Unlike Loki, the cache is
// on by default: Loki turns its embedded cache on when no other cache is configured, and Sluice
// has no other.
func (c *CacheConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.BoolVar(&c.EmbeddedCache.Enabled, "store.chunks-cache.embedded-cache.enabled", true, "Keep recently read chunks in an in-process cache.")
	fs.Int64Var(&c.EmbeddedCache.MaxSizeMB, "store.chunks-cache.embedded-cache.max-size-mb", 256, "Maximum memory of the chunk cache, in MB.")
	c.EmbeddedCache.TTL = flagext.Duration(time.Hour)
	fs.Var(&c.EmbeddedCache.TTL, "store.chunks-cache.embedded-cache.ttl", "How long a cached chunk is kept.")
}

// Validate checks the configuration.
func (c *CacheConfig) Validate() error {
	if c.EmbeddedCache.MaxSizeMB < 0 {
		return fmt.Errorf("chunk_store_config.chunk_cache_config.embedded_cache.max_size_mb: must not be negative, got %d", c.EmbeddedCache.MaxSizeMB)
	}
	if c.EmbeddedCache.TTL < 0 {
		return fmt.Errorf("chunk_store_config.chunk_cache_config.embedded_cache.ttl: must not be negative, got %s", c.EmbeddedCache.TTL)
	}
	return nil
}

// ChunkCache is a least-recently-used cache of chunk objects by key, bounded by the total size
// of the objects it holds. Chunk objects never change under one key (the key carries the chunk's
// checksum), so an entry is never stale; the TTL only returns memory of chunks nobody reads.
// It is safe for concurrent use.
type ChunkCache struct {
	maxBytes int64
	ttl      time.Duration
	now      func() time.Time

	mu    sync.Mutex
	order *list.List // of *cacheEntry, most recently used first
	byKey map[string]*list.Element
	size  int64

	hits, misses, evictions prometheus.Counter
	bytes, items            prometheus.Gauge
}

type cacheEntry struct {
	key   string
	data  []byte
	added time.Time
}

// NewChunkCache returns a cache holding up to maxBytes of objects, each for at most ttl (0: no
// limit), with its metrics registered in reg (nil: not registered).
func NewChunkCache(maxBytes int64, ttl time.Duration, reg prometheus.Registerer) *ChunkCache {
	c := &ChunkCache{
		maxBytes: maxBytes, ttl: ttl, now: time.Now,
		order: list.New(), byKey: map[string]*list.Element{},
		hits:      prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_chunk_cache_hits_total", Help: "Chunk reads answered from the chunk cache."}),
		misses:    prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_chunk_cache_misses_total", Help: "Chunk reads the chunk cache could not answer."}),
		evictions: prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_chunk_cache_evictions_total", Help: "Chunks dropped from the chunk cache to make room or because they expired."}),
		bytes:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "sluice_chunk_cache_bytes", Help: "Bytes of chunks in the chunk cache."}),
		items:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "sluice_chunk_cache_items", Help: "Chunks in the chunk cache."}),
	}
	if reg != nil {
		reg.MustRegister(c.hits, c.misses, c.evictions, c.bytes, c.items)
	}
	return c
}

// Get returns the cached object of key. The caller must not modify the returned bytes.
func (c *ChunkCache) Get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if ok && c.ttl > 0 && c.now().Sub(el.Value.(*cacheEntry).added) > c.ttl {
		c.remove(el)
		c.evictions.Inc()
		ok = false
	}
	if !ok {
		c.misses.Inc()
		return nil, false
	}
	c.hits.Inc()
	c.order.MoveToFront(el)
	return el.Value.(*cacheEntry).data, true
}

// Put caches data under key, evicting the least recently used objects to make room. An object
// larger than an eighth of the cache is not cached: it would push out too much. The cache keeps
// data; the caller must not modify it afterwards.
func (c *ChunkCache) Put(key string, data []byte) {
	n := int64(len(data))
	if n > c.maxBytes/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.remove(el)
	}
	for c.size+n > c.maxBytes && c.order.Len() > 0 {
		c.remove(c.order.Back())
		c.evictions.Inc()
	}
	c.byKey[key] = c.order.PushFront(&cacheEntry{key: key, data: data, added: c.now()})
	c.size += n
	c.bytes.Set(float64(c.size))
	c.items.Set(float64(len(c.byKey)))
}

// Invalidate drops key from the cache.
func (c *ChunkCache) Invalidate(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.remove(el)
	}
}

// Size returns the bytes and the number of objects cached.
func (c *ChunkCache) Size() (bytes int64, items int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size, len(c.byKey)
}

func (c *ChunkCache) remove(el *list.Element) {
	e := c.order.Remove(el).(*cacheEntry)
	delete(c.byKey, e.key)
	c.size -= int64(len(e.data))
	c.bytes.Set(float64(c.size))
	c.items.Set(float64(len(c.byKey)))
}

// chunkPrefix starts the keys of chunk objects, the only ones CachedObjects caches.
const chunkPrefix = "chunks/"

// CachedObjects returns an ObjectClient that answers Get of chunk objects from cache, fetching
// and caching them on a miss. Everything else goes straight to objects; Delete also drops the
// key from the cache. Chunks are not cached when written: a flushed chunk is read, if ever, long
// after the ingester answered queries for it from memory.
func CachedObjects(objects ObjectClient, cache *ChunkCache) ObjectClient {
	return &cachedObjects{ObjectClient: objects, cache: cache}
}

type cachedObjects struct {
	ObjectClient
	cache *ChunkCache
}

func (c *cachedObjects) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if !strings.HasPrefix(key, chunkPrefix) {
		return c.ObjectClient.Get(ctx, key)
	}
	if b, ok := c.cache.Get(key); ok {
		return newMemObject(b), nil
	}
	rc, err := c.ObjectClient.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	b, err := readObject(rc)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	c.cache.Put(key, b)
	return newMemObject(b), nil
}

func (c *cachedObjects) Delete(ctx context.Context, key string) error {
	c.cache.Invalidate(key)
	return c.ObjectClient.Delete(ctx, key)
}

// Invalidate drops key from the cache, for example a chunk found corrupt.
func (c *cachedObjects) Invalidate(key string) { c.cache.Invalidate(key) }

// invalidator is implemented by object clients that cache.
type invalidator interface{ Invalidate(key string) }

var _ invalidator = (*cachedObjects)(nil)

// errCorruptChecksum is wrapped (with chunk.ErrCorrupt) when a chunk's bytes do not match the
// checksum its index entry and key carry.
var errCorruptChecksum = errors.New("checksum mismatch")
