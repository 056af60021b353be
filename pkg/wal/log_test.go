package wal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestLogReplay(t *testing.T) {
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	w := mustOpen(t, dir, Options{Metrics: m})
	recs := testRecords(200)
	logAll(t, w, recs)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if got := counterValue(m.RecordsLogged); got != 200 {
		t.Errorf("records logged metric = %v, want 200", got)
	}
	got, stats, err := replayAll(t, dir, Options{Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	sameRecs(t, got, recs)
	if stats.Checkpoint != -1 || stats.Segments != 1 || stats.Records != 200 || stats.TruncatedBytes != 0 || stats.Corruptions != 0 {
		t.Errorf("stats = %+v", stats)
	}
	if got := counterValue(m.ReplayRecords); got != 200 {
		t.Errorf("replay records metric = %v, want 200", got)
	}

	// Reopening starts a new segment and keeps the old one.
	w = mustOpen(t, dir, Options{})
	if s := w.Stats(); s.Segment != 2 {
		t.Errorf("reopened WAL writes segment %d, want 2", s.Segment)
	}
	more := testRecords(10)
	logAll(t, w, more)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, _, err = replayAll(t, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sameRecs(t, got, append(slices.Clone(recs), more...))
}

func TestLogAfterCloseAndCancel(t *testing.T) {
	w := mustOpen(t, t.TempDir(), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Log(ctx, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Log with canceled ctx = %v, want context.Canceled", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Log(context.Background(), []byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Log after Close = %v, want ErrClosed", err)
	}
	if err := w.Checkpoint(context.Background(), func(func([]byte) error) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("Checkpoint after Close = %v, want ErrClosed", err)
	}
}

// Many concurrent writers must share fsyncs, and every record must be durable and intact.
func TestGroupCommit(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{})
	const writers, each = 32, 25
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := 0; i < each; i++ {
				if err := w.Log(context.Background(), fmt.Appendf(nil, "writer %02d record %03d", g, i)); err != nil {
					t.Errorf("Log: %v", err)
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	s := w.Stats()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d records, %d batches, %d fsyncs", s.Records, s.Batches, s.Fsyncs)
	if s.Records != writers*each {
		t.Fatalf("Stats().Records = %d, want %d", s.Records, writers*each)
	}
	if s.Fsyncs >= s.Records/2 {
		t.Errorf("%d fsyncs for %d records: group commit is not grouping", s.Fsyncs, s.Records)
	}
	got, _, err := replayAll(t, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Each writer's records must come back in the order that writer logged them.
	next := make([]int, writers)
	for _, r := range got {
		var g, i int
		if _, err := fmt.Sscanf(string(r), "writer %d record %d", &g, &i); err != nil {
			t.Fatalf("replayed record %q: %v", r, err)
		}
		if i != next[g] {
			t.Fatalf("writer %d: record %d replayed where %d was due", g, i, next[g])
		}
		next[g]++
	}
	for g, n := range next {
		if n != each {
			t.Errorf("writer %d: %d records replayed, want %d", g, n, each)
		}
	}
}

// With a small pending limit, writers wait for room instead of failing or losing records.
func TestLogBackpressure(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{MaxPendingBytes: 1000})
	rec := bytes.Repeat([]byte("p"), 400)
	big := bytes.Repeat([]byte("B"), 5000) // larger than the limit: accepted on its own
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				r := rec
				if i == 5 {
					r = big
				}
				if err := w.Log(context.Background(), r); err != nil {
					t.Errorf("Log: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, _, err := replayAll(t, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 80 {
		t.Errorf("replayed %d records, want 80", len(got))
	}
}

func TestSegmentRoll(t *testing.T) {
	dir := t.TempDir()
	const segSize = 1024
	w := mustOpen(t, dir, Options{SegmentSize: segSize})
	var recs [][]byte
	for i := 0; i < 60; i++ {
		size := 100
		if i == 30 {
			size = 3000 // larger than a segment: gets one of its own
		}
		recs = append(recs, bytes.Repeat([]byte{byte(i)}, size))
	}
	logAll(t, w, recs)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	names := dirNames(t, dir)
	if len(names) < 7 {
		t.Errorf("%d segments (%v), want at least 7 for 9 KiB in 1 KiB segments", len(names), names)
	}
	for _, name := range names {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > segSize && fi.Size() != fileHeaderSize+frameHeaderSize+3000 {
			t.Errorf("segment %s is %d bytes, over the %d limit", name, fi.Size(), segSize)
		}
	}
	got, stats, err := replayAll(t, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sameRecs(t, got, recs)
	if stats.Segments != len(names) {
		t.Errorf("replayed %d segments, want %d", stats.Segments, len(names))
	}
}

func TestLogConcurrentWithClose(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var acked [][]byte
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				rec := fmt.Appendf(nil, "%d-%d", g, i)
				err := w.Log(context.Background(), rec)
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("Log: %v", err)
					return
				}
				mu.Lock()
				acked = append(acked, rec)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	got, _, err := replayAll(t, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, r := range got {
		have[string(r)] = true
	}
	for _, r := range acked {
		if !have[string(r)] {
			t.Fatalf("acknowledged record %q not replayed", r)
		}
	}
}

// LogAppend's records, encoded in place, replay byte for byte as AppendRecord encodes them, in
// any mix with Log's, and wait like Log's when MaxPendingBytes is reached.
func TestLogAppend(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{MaxPendingBytes: 4000})
	streams := testStreams()
	var want [][]byte
	for g := 0; g < 6; g++ {
		tenant := fmt.Sprintf("tenant-%d", g)
		want = append(want, AppendRecord(nil, tenant, streams), bytes.Repeat([]byte{byte('a' + g)}, 700))
	}
	var wg sync.WaitGroup
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				var err error
				if i%2 == 0 {
					tenant := fmt.Sprintf("tenant-%d", g)
					err = w.LogAppend(context.Background(), RecordSize(tenant, streams), func(dst []byte) []byte {
						return AppendRecord(dst, tenant, streams)
					})
				} else {
					err = w.Log(context.Background(), want[2*g+1])
				}
				if err != nil {
					t.Errorf("writer %d record %d: %v", g, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, stats, err := replayAll(t, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Corruptions != 0 || stats.TruncatedBytes != 0 {
		t.Errorf("replay stats %+v", stats)
	}
	count := map[string]int{}
	for _, r := range got {
		count[string(r)]++
	}
	for i, r := range want {
		if count[string(r)] != 10 {
			t.Errorf("record %d (writer %d, in place %v) replayed %d times, want 10", i, i/2, i%2 == 0, count[string(r)])
		}
	}
	if len(got) != 120 {
		t.Errorf("replayed %d records, want 120", len(got))
	}

	// A closed WAL refuses in-place records, and appendRec never runs.
	if err := w.LogAppend(context.Background(), 10, func(dst []byte) []byte {
		t.Error("appendRec ran on a closed WAL")
		return dst
	}); !errors.Is(err, ErrClosed) {
		t.Errorf("LogAppend after Close = %v, want ErrClosed", err)
	}
}
