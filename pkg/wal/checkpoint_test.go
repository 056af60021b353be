package wal

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

func writeState(state [][]byte) func(write func([]byte) error) error {
	return func(write func([]byte) error) error {
		for _, r := range state {
			if err := write(r); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestCheckpointReplay(t *testing.T) {
	dir := t.TempDir()
	m := NewMetrics(nil)
	w := mustOpen(t, dir, Options{SegmentSize: 1024, Metrics: m})
	before := testRecords(30)
	logAll(t, w, before)
	segsBefore := w.Stats().Segment

	state := [][]byte{[]byte("state of stream a"), []byte("state of stream b"), {}}
	if err := w.Checkpoint(context.Background(), writeState(state)); err != nil {
		t.Fatal(err)
	}
	after := testRecords(5)
	logAll(t, w, after)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if counterValue(m.Checkpoints) != 1 {
		t.Errorf("checkpoints metric = %v, want 1", counterValue(m.Checkpoints))
	}

	// The covered segments are gone; the checkpoint and the new segment remain.
	want := []string{segmentName(segsBefore + 1), checkpointName(segsBefore)}
	if names := dirNames(t, dir); !slices.Equal(names, want) {
		t.Errorf("files after checkpoint = %v, want %v", names, want)
	}
	got, stats, err := replayAll(t, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sameRecs(t, got, append(slices.Clone(state), after...))
	if stats.Checkpoint != segsBefore || stats.Segments != 1 {
		t.Errorf("stats = %+v, want checkpoint %d and 1 segment", stats, segsBefore)
	}
}

// A second checkpoint replaces the first, and one taken with nothing logged since covers the
// same segments.
func TestCheckpointReplacesOlder(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{})
	logAll(t, w, testRecords(5))
	if err := w.Checkpoint(context.Background(), writeState([][]byte{[]byte("one")})); err != nil {
		t.Fatal(err)
	}
	if err := w.Checkpoint(context.Background(), writeState([][]byte{[]byte("two")})); err != nil {
		t.Fatal(err)
	}
	logAll(t, w, [][]byte{[]byte("x")})
	if err := w.Checkpoint(context.Background(), writeState([][]byte{[]byte("three")})); err != nil {
		t.Fatal(err)
	}
	logAll(t, w, [][]byte{[]byte("y")})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{segmentName(3), checkpointName(2)}
	if names := dirNames(t, dir); !slices.Equal(names, want) {
		t.Errorf("files = %v, want %v", names, want)
	}
	got, _, err := replayAll(t, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sameRecs(t, got, [][]byte{[]byte("three"), []byte("y")})
}

// A failed snapshot leaves no checkpoint, no temporary file, and every segment.
func TestCheckpointFailureKeepsSegments(t *testing.T) {
	dir := t.TempDir()
	m := NewMetrics(nil)
	w := mustOpen(t, dir, Options{Metrics: m})
	recs := testRecords(10)
	logAll(t, w, recs)
	boom := errors.New("snapshot broke")
	err := w.Checkpoint(context.Background(), func(write func([]byte) error) error {
		if err := write([]byte("partial")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Checkpoint = %v, want the snapshot's error", err)
	}
	if counterValue(m.CheckpointFailures) != 1 {
		t.Errorf("checkpoint failures metric = %v, want 1", counterValue(m.CheckpointFailures))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Checkpoint(ctx, writeState([][]byte{[]byte("s")})); !errors.Is(err, context.Canceled) {
		t.Fatalf("Checkpoint with canceled ctx = %v, want context.Canceled", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range dirNames(t, dir) {
		if _, ok := parseNumber(name); !ok {
			t.Errorf("unexpected file %s after failed checkpoints", name)
		}
	}
	got, _, err := replayAll(t, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sameRecs(t, got, recs)
}

// A crash while writing a checkpoint leaves a .tmp file: Replay and Open ignore and remove it.
func TestCheckpointLeftoverTmp(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{})
	recs := testRecords(10)
	logAll(t, w, recs)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, checkpointName(1)+tmpSuffix)
	if err := os.WriteFile(tmp, []byte("SLWC\x01\x00\x00\x00half a checkp"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, stats, err := replayAll(t, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sameRecs(t, got, recs)
	if stats.Checkpoint != -1 {
		t.Errorf("Replay used checkpoint %d, want none", stats.Checkpoint)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("leftover %s not removed by Replay (%v)", tmp, err)
	}

	if err := os.WriteFile(tmp, []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	w = mustOpen(t, dir, Options{})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("leftover %s not removed by Open (%v)", tmp, err)
	}
}

// A crash after the checkpoint is renamed into place but before the covered segments are
// deleted: Replay must skip those segments, and Open must finish deleting them.
func TestCheckpointCrashBeforeCleanup(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{})
	old := testRecords(10)
	logAll(t, w, old)
	seg1, err := os.ReadFile(filepath.Join(dir, segmentName(1)))
	if err != nil {
		t.Fatal(err)
	}
	state := [][]byte{[]byte("state")}
	if err := w.Checkpoint(context.Background(), writeState(state)); err != nil {
		t.Fatal(err)
	}
	logAll(t, w, [][]byte{[]byte("later")})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Put the covered segment back, as if its deletion had not happened.
	if err := os.WriteFile(filepath.Join(dir, segmentName(1)), seg1, 0o644); err != nil {
		t.Fatal(err)
	}
	got, _, err := replayAll(t, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sameRecs(t, got, [][]byte{[]byte("state"), []byte("later")})
	w = mustOpen(t, dir, Options{})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, segmentName(1))); !os.IsNotExist(err) {
		t.Errorf("covered segment not removed by Open (%v)", err)
	}
}

func TestCheckpointCorrupt(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{})
	logAll(t, w, testRecords(3))
	state := [][]byte{[]byte("aaaa"), []byte("bbbb"), []byte("cccc")}
	if err := w.Checkpoint(context.Background(), writeState(state)); err != nil {
		t.Fatal(err)
	}
	logAll(t, w, [][]byte{[]byte("later")})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Damage the second state record: the first is replayed, the rest of the checkpoint
	// skipped, the segment after it replayed, and the damage reported.
	cp := filepath.Join(dir, checkpointName(1))
	flipByte(t, cp, fileHeaderSize+2*frameHeaderSize+4+1)
	got, _, err := replayAll(t, dir, Options{})
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.File != checkpointName(1) {
		t.Fatalf("Replay = %v, want a CorruptError for the checkpoint", err)
	}
	sameRecs(t, got, [][]byte{[]byte("aaaa"), []byte("later")})
}

// Records logged while a checkpoint is written are never lost: each is either in the new
// segment or (also) in the snapshot.
func TestCheckpointConcurrentLog(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{SegmentSize: 4096})

	// The "in-memory state" is every record applied so far; records are applied before Log,
	// as Checkpoint's contract asks.
	var mu sync.Mutex
	var applied [][]byte
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				rec := []byte{byte(g), byte(i), byte(i >> 8)}
				mu.Lock()
				applied = append(applied, rec)
				mu.Unlock()
				if err := w.Log(context.Background(), rec); err != nil {
					t.Errorf("Log: %v", err)
					return
				}
			}
		}()
	}
	for i := 0; i < 5; i++ {
		err := w.Checkpoint(context.Background(), func(write func([]byte) error) error {
			mu.Lock()
			snap := slices.Clone(applied)
			mu.Unlock()
			return writeState(snap)(write)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, _, err := replayAll(t, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, r := range got {
		have[string(r)] = true
	}
	for _, r := range applied {
		if !have[string(r)] {
			t.Fatalf("record %v logged during checkpoints was lost", r)
		}
	}
	if len(have) != len(applied) {
		t.Errorf("replay has %d distinct records, want %d", len(have), len(applied))
	}
}

func TestCheckpointWriteAfterReturn(t *testing.T) {
	w := mustOpen(t, t.TempDir(), Options{})
	defer w.Close()
	var saved func([]byte) error
	if err := w.Checkpoint(context.Background(), func(write func([]byte) error) error {
		saved = write
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := saved(bytes.Repeat([]byte("x"), 3)); err == nil {
		t.Error("write after the snapshot returned succeeded, want an error")
	}
}
