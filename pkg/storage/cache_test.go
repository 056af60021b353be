package storage_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicelog/sluice/pkg/race"
	"github.com/sluicelog/sluice/pkg/storage"
)

func TestChunkCacheLRU(t *testing.T) {
	c := storage.NewChunkCache(800, 0, nil)
	put := func(key string, n int) { c.Put(key, bytes.Repeat([]byte{'x'}, n)) }
	put("a", 100)
	put("b", 100)
	put("c", 100)
	if _, ok := c.Get("a"); !ok { // a is now the most recently used
		t.Fatal("Get(a) missed")
	}
	for _, k := range []string{"d", "e", "f", "g", "h", "i"} {
		put(k, 100)
	}
	// 800 bytes hold 8 objects of 100: b, the least recently used, made room for i.
	if _, ok := c.Get("b"); ok {
		t.Error("Get(b) hit, want it evicted")
	}
	for _, k := range []string{"a", "c", "i"} {
		if _, ok := c.Get(k); !ok {
			t.Errorf("Get(%s) missed", k)
		}
	}
	if size, items := c.Size(); size != 800 || items != 8 {
		t.Errorf("Size() = %d bytes, %d items; want 800 bytes, 8 items", size, items)
	}
	put("huge", 101) // over an eighth of the cache: not cached
	if _, ok := c.Get("huge"); ok {
		t.Error("an object over an eighth of the cache was cached")
	}
	c.Invalidate("a")
	if _, ok := c.Get("a"); ok {
		t.Error("Get(a) hit after Invalidate")
	}
}

func TestChunkCacheTTL(t *testing.T) {
	c := storage.NewChunkCache(1<<20, time.Nanosecond, nil)
	c.Put("a", []byte("x"))
	time.Sleep(time.Millisecond)
	if _, ok := c.Get("a"); ok {
		t.Error("Get hit an expired object")
	}
	if size, items := c.Size(); size != 0 || items != 0 {
		t.Errorf("Size() = %d, %d after expiry, want 0, 0", size, items)
	}
}

// countingObjects counts Gets that reach the backend.
type countingObjects struct {
	storage.ObjectClient
	gets int
}

func (c *countingObjects) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	c.gets++
	return c.ObjectClient.Get(ctx, key)
}

func TestCachedObjects(t *testing.T) {
	ctx := context.Background()
	backend := &countingObjects{ObjectClient: storage.NewMemory()}
	reg := prometheus.NewRegistry()
	cache := storage.NewChunkCache(1<<20, time.Hour, reg)
	objects := storage.CachedObjects(backend, cache)
	for _, k := range []string{"chunks/fake/1/a", "index/1/fake/x.db"} {
		if err := objects.Put(ctx, k, strings.NewReader("data of "+k)); err != nil {
			t.Fatal(err)
		}
	}
	read := func(key string) string {
		t.Helper()
		rc, err := objects.Get(ctx, key)
		if err != nil {
			t.Fatalf("Get(%s) = %v", key, err)
		}
		defer rc.Close()
		b, _ := io.ReadAll(rc)
		return string(b)
	}
	for range 3 {
		if got := read("chunks/fake/1/a"); got != "data of chunks/fake/1/a" {
			t.Fatalf("Get = %q", got)
		}
		read("index/1/fake/x.db")
	}
	// One backend read for the chunk, three for the index table (never cached).
	if backend.gets != 4 {
		t.Errorf("backend Gets = %d, want 4", backend.gets)
	}
	if h, m := counterValue(t, reg, "sluice_chunk_cache_hits_total"), counterValue(t, reg, "sluice_chunk_cache_misses_total"); h != 2 || m != 1 {
		t.Errorf("hits, misses = %v, %v, want 2, 1", h, m)
	}
	if err := objects.Delete(ctx, "chunks/fake/1/a"); err != nil {
		t.Fatal(err)
	}
	if _, err := objects.Get(ctx, "chunks/fake/1/a"); err == nil {
		t.Error("Get after Delete answered from cache")
	}
}

// counterValue returns the value of the unlabelled counter name in reg.
func counterValue(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

func BenchmarkChunkCacheGet(b *testing.B) {
	c := storage.NewChunkCache(64<<20, time.Hour, nil)
	data := bytes.Repeat([]byte{'x'}, 64<<10)
	keys := make([]string, 512)
	for i := range keys {
		keys[i] = "chunks/fake/" + strings.Repeat("k", i%7) + string(rune('a'+i%26)) + string(rune('a'+i/26))
		c.Put(keys[i], data)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, ok := c.Get(keys[i%len(keys)]); !ok {
			b.Fatal("miss")
		}
	}
}

func TestChunkCacheGetAllocs(t *testing.T) {
	race.SkipAllocs(t)
	c := storage.NewChunkCache(1<<20, time.Hour, nil)
	c.Put("chunks/a", []byte("x"))
	if n := testing.AllocsPerRun(100, func() { c.Get("chunks/a") }); n != 0 {
		t.Errorf("Get allocates %v times, want 0", n)
	}
}
