package ingester

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/flagext"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql"
	"github.com/sluicelog/sluice/pkg/storage"
)

// While flushes are held, a flush writes its chunks but commits none and marks none flushed;
// on release it does both.
func TestHoldFlushesDelaysCommits(t *testing.T) {
	store := &batchMemStore{committed: map[*storage.Chunk]bool{}}
	ing := newIngesterWith(t, store, func(c *Config) {})
	pushStreams(t, ing, 3, 5)
	release, exact := ing.HoldFlushes()
	if !exact {
		t.Fatal("HoldFlushes not exact before any failure")
	}
	done := make(chan error)
	go func() { done <- ing.Flush(context.Background()) }()
	time.Sleep(100 * time.Millisecond)
	if chunks, _ := store.entries(); chunks != 0 {
		t.Fatalf("%d chunks committed while flushes are held", chunks)
	}
	if got := selectUnflushed(t, ing, false); len(got) != 15 {
		t.Fatalf("%d unflushed entries while the flush waits, want 15", len(got))
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if chunks, entries := store.entries(); chunks != 3 || entries != 15 {
		t.Fatalf("committed %d chunks holding %d entries after release, want 3 holding 15", chunks, entries)
	}
	release, _ = ing.HoldFlushes()
	defer release()
	if got := selectUnflushed(t, ing, false); len(got) != 0 {
		t.Fatalf("unflushed entries after the flush: %q", got)
	}
}

// A failed commit may have indexed part of its chunks: until they are flushed, HoldFlushes
// says the split between the ingester and the store is not exact.
func TestFailedCommitMakesSplitInexact(t *testing.T) {
	store := &batchMemStore{committed: map[*storage.Chunk]bool{}, failCommits: 1 << 30}
	ing := newIngesterWith(t, store, func(c *Config) { c.FlushOpTimeout = flagext.Duration(200 * time.Millisecond) })
	pushStreams(t, ing, 2, 3)
	if err := ing.Flush(context.Background()); err == nil {
		t.Fatal("Flush succeeded while every commit failed")
	}
	release, exact := ing.HoldFlushes()
	release()
	if exact {
		t.Fatal("HoldFlushes exact after a failed commit")
	}
	store.mu.Lock()
	store.failCommits = 0
	store.mu.Unlock()
	if err := ing.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	release, exact = ing.HoldFlushes()
	release()
	if !exact {
		t.Fatal("HoldFlushes still inexact once every chunk is flushed")
	}
}

// SelectUnflushed leaves out flushed chunks (kept in memory for chunk_retain_period), gives each
// entry once, and leaves out the lines, when the caller reads none, of streams from a lone
// source in time order only: a stream written out of order keeps them for its de-duplication.
func TestSelectUnflushed(t *testing.T) {
	store := &batchMemStore{committed: map[*storage.Chunk]bool{}}
	ing := newIngesterWith(t, store, func(c *Config) { c.ChunkRetainPeriod = RetainFor(time.Hour); c.ChunkBlockSize = 256 })
	ctx := context.Background()
	base := time.Now().Add(-time.Minute).UnixNano()
	push := func(stream string, from, n int, tag string) {
		var es []logproto.Entry
		for i := from; i < from+n; i++ {
			es = append(es, logproto.Entry{Timestamp: base + int64(i)*1e6, Line: fmt.Sprintf("%s %d %s", tag, i, "padding to cut blocks soon")})
		}
		if err := ing.Push(ctx, "t", []logproto.Stream{{Labels: stream, Entries: es}}); err != nil {
			t.Fatal(err)
		}
	}
	push(`{app="in-order"}`, 0, 20, "flushed")
	push(`{app="late"}`, 0, 20, "flushed")
	if err := ing.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	push(`{app="in-order"}`, 20, 30, "new")
	push(`{app="late"}`, 30, 30, "new")
	push(`{app="late"}`, 25, 5, "late") // older than blocks already cut: the head is out of order
	push(`{app="late"}`, 40, 1, "new")  // a resend, after its block was cut
	release, exact := ing.HoldFlushes()
	defer release()
	if !exact {
		t.Fatal("not exact")
	}
	got := selectUnflushed(t, ing, true)
	var lines, empty int
	for _, e := range got {
		if e[len(e)-1] == '|' {
			empty++
		} else {
			lines++
		}
	}
	// in-order: 30 new entries without lines; late: 35 entries with their lines.
	if len(got) != 65 || empty != 30 || lines != 35 {
		t.Errorf("got %d entries, %d without lines and %d with; want 65, 30 and 35:\n%q", len(got), empty, lines, got)
	}
}

func selectUnflushed(t *testing.T, ing *Ingester, noLines bool) []string {
	t.Helper()
	p := logql.SelectLogParams{
		Matchers: []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "app", ".+")},
		Start:    0, End: 1 << 62, Direction: logproto.Forward,
	}
	if noLines {
		p.NoLinesBefore = p.End
	}
	it, err := ing.SelectUnflushed(context.Background(), "t", p)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []string
	for it.Next() {
		out = append(out, fmt.Sprintf("%s %d |%s", it.Labels(), it.At().Timestamp, it.At().Line))
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Entries replayed from the WAL may have been flushed before the crash (after the last
// checkpoint): until they are flushed again, HoldFlushes says the split is not exact, so that
// queries compare the ingester's entries with the store's.
func TestReplayedEntriesMakeSplitInexact(t *testing.T) {
	store := &batchMemStore{committed: map[*storage.Chunk]bool{}}
	walDir, crashed := t.TempDir(), t.TempDir()
	ing := newTestIngester(t, walDir, store)
	pushStreams(t, ing, 2, 5)
	// The WAL as a crash right after the flush below, before any checkpoint, leaves it.
	files, err := os.ReadDir(walDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(walDir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(crashed, f.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := ing.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if chunks, entries := store.entries(); chunks != 2 || entries != 10 {
		t.Fatalf("store holds %d chunks of %d entries, want 2 of 10", chunks, entries)
	}
	restarted := newTestIngester(t, crashed, store)
	release, exact := restarted.HoldFlushes()
	got := selectUnflushed(t, restarted, false)
	release()
	if exact || len(got) != 10 {
		t.Fatalf("after replay: exact %v, %d entries in memory; want not exact, 10", exact, len(got))
	}
	if err := restarted.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if release, exact = restarted.HoldFlushes(); !exact {
		t.Error("still not exact once the replayed entries are flushed again")
	}
	release()
}
