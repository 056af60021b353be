package ingester

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/flagext"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/storage"
)

// batchMemStore writes and commits chunks in two steps, as storage.Store does, and fails the
// commits it is told to: a store whose sync or index write fails is a fault the real one
// cannot be made to show on demand.
type batchMemStore struct {
	mu          sync.Mutex
	written     int
	committed   map[*storage.Chunk]bool // by the chunk the ingester handed over
	commits     int
	failCommits int // commits still to fail
}

func (m *batchMemStore) PutChunk(context.Context, *storage.Chunk) error {
	return errors.New("PutChunk called on a store that commits in batches")
}

func (m *batchMemStore) WriteChunk(context.Context, *storage.Chunk) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.written++
	return nil
}

func (m *batchMemStore) CommitChunks(_ context.Context, cs []*storage.Chunk) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failCommits > 0 {
		m.failCommits--
		return errors.New("sync failed")
	}
	m.commits++
	for _, c := range cs {
		m.committed[c] = true
	}
	return nil
}

func (m *batchMemStore) entries() (chunks, entries int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for c := range m.committed {
		chunks++
		entries += c.Entries
	}
	return chunks, entries
}

// pushStreams pushes n entries to each of streams streams of tenant t.
func pushStreams(t *testing.T, ing *Ingester, streams, n int) {
	t.Helper()
	base := time.Now().UnixNano()
	for s := range streams {
		var es []logproto.Entry
		for i := range n {
			es = append(es, logproto.Entry{Timestamp: base + int64(i), Line: fmt.Sprintf("line %d", i)})
		}
		if err := ing.Push(context.Background(), "t", []logproto.Stream{{Labels: fmt.Sprintf(`{app="a%d"}`, s), Entries: es}}); err != nil {
			t.Fatal(err)
		}
	}
}

// A flush writes every chunk and commits them together, once; a commit that fails is retried.
func TestFlushCommitsChunksTogether(t *testing.T) {
	store := &batchMemStore{committed: map[*storage.Chunk]bool{}, failCommits: 2}
	ing := newIngesterWith(t, store, func(c *Config) { c.ConcurrentFlushes = 3 })
	pushStreams(t, ing, 5, 10)
	if err := ing.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	chunks, entries := store.entries()
	if store.written != 5 || chunks != 5 || entries != 50 || store.commits != 1 {
		t.Fatalf("wrote %d chunks, committed %d holding %d entries in %d commits; want 5, 5, 50 in 1", store.written, chunks, entries, store.commits)
	}
	if got := metricValue(t, ing.metrics.flushFailures); got != 2 {
		t.Errorf("flush failures = %v, want the 2 failed commits", got)
	}
	if got := metricValue(t, ing.metrics.chunksFlushed); got != 5 {
		t.Errorf("chunks flushed = %v, want 5", got)
	}
}

// Chunks whose commit never succeeds are not taken as flushed: the flush reports the error
// and the next one writes and commits them again.
func TestFlushKeepsUncommittedChunks(t *testing.T) {
	store := &batchMemStore{committed: map[*storage.Chunk]bool{}, failCommits: 1 << 30}
	ing := newIngesterWith(t, store, func(c *Config) { c.FlushOpTimeout = flagext.Duration(250 * time.Millisecond) })
	pushStreams(t, ing, 3, 4)
	if err := ing.Flush(context.Background()); err == nil {
		t.Fatal("Flush succeeded while every commit failed")
	}
	if got := metricValue(t, ing.metrics.chunksFlushed); got != 0 {
		t.Fatalf("chunks flushed = %v after failed commits, want 0", got)
	}
	store.mu.Lock()
	store.failCommits = 0
	store.mu.Unlock()
	if err := ing.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if chunks, entries := store.entries(); chunks != 3 || entries != 12 || store.written != 6 {
		t.Fatalf("committed %d chunks holding %d entries after %d writes; want 3 holding 12 after 6", chunks, entries, store.written)
	}
}
