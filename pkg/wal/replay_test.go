package wal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestReplayMissingDir(t *testing.T) {
	got, stats, err := replayAll(t, filepath.Join(t.TempDir(), "nope"), Options{})
	if err != nil || len(got) != 0 || stats.Checkpoint != -1 {
		t.Errorf("Replay of a missing dir = %d records, %+v, %v; want nothing", len(got), stats, err)
	}
}

// Chopping the newest segment anywhere loses only the record cut in half and what follows it.
func TestReplayTornTail(t *testing.T) {
	src := t.TempDir()
	w := mustOpen(t, src, Options{SegmentSize: 2048})
	recs := testRecords(40)
	logAll(t, w, recs)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	names := dirNames(t, src)
	last := names[len(names)-1]
	ends := frameEnds(t, filepath.Join(src, last))
	lastSize := ends[len(ends)-1]
	before := len(recs) - len(ends) // records in older segments

	lastBytes, err := os.ReadFile(filepath.Join(src, last))
	if err != nil {
		t.Fatal(err)
	}
	// Every offset near a frame boundary or in the header, and a spread of the others: trying
	// every byte costs a few seconds of fsyncs without finding anything more.
	var cuts []int64
	for cut := int64(0); cut < lastSize; cut++ {
		near := cut <= fileHeaderSize+frameHeaderSize+1 || cut%11 == 0
		for _, e := range ends {
			if d := cut - e; d >= -1 && d <= frameHeaderSize+1 {
				near = true
			}
		}
		if near {
			cuts = append(cuts, cut)
		}
	}
	dir := copyDir(t, src)
	path := filepath.Join(dir, last)
	for i, cut := range cuts {
		if err := os.WriteFile(path, lastBytes[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		m := NewMetrics(nil)
		got, stats, err := replayAll(t, dir, Options{Metrics: m})
		if err != nil {
			t.Fatalf("cut at %d: Replay error %v", cut, err)
		}
		complete := 0
		for _, e := range ends {
			if e <= cut {
				complete++
			}
		}
		sameRecs(t, got, recs[:before+complete])
		keep := int64(fileHeaderSize) // where the repaired segment ends
		if complete > 0 {
			keep = ends[complete-1]
		}
		if cut < fileHeaderSize {
			keep = 0 // not even a header: the file is removed
		}
		torn := cut != keep || cut < fileHeaderSize
		if stats.TruncatedBytes != cut-keep {
			t.Fatalf("cut at %d: truncated %d bytes, want %d", cut, stats.TruncatedBytes, cut-keep)
		}
		wantTorn := 0.0
		if torn {
			wantTorn = 1
		}
		if got := counterValue(m.TornTails); got != wantTorn {
			t.Fatalf("cut at %d: torn tails metric %v, want %v", cut, got, wantTorn)
		}
		fi, err := os.Stat(path)
		switch {
		case cut < fileHeaderSize:
			if !os.IsNotExist(err) {
				t.Fatalf("cut at %d: segment without a header still exists (%v)", cut, err)
			}
		case err != nil:
			t.Fatal(err)
		case fi.Size() != keep:
			t.Fatalf("cut at %d: segment is %d bytes after repair, want %d", cut, fi.Size(), keep)
		}
		// A second replay finds nothing to repair, and writing on goes after the good records.
		if _, stats, err := replayAll(t, dir, Options{}); err != nil || stats.TruncatedBytes != 0 {
			t.Fatalf("cut at %d: second Replay = %+v, %v", cut, stats, err)
		}
		if i%10 == 0 {
			dir := copyDir(t, dir)
			w := mustOpen(t, dir, Options{})
			logAll(t, w, [][]byte{[]byte("after")})
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got, _, err := replayAll(t, dir, Options{})
			if err != nil {
				t.Fatalf("cut at %d: replay after reopen: %v", cut, err)
			}
			sameRecs(t, got, append(slices.Clone(recs[:before+complete]), []byte("after")))
		}
	}
}

// Open repairs a torn tail itself, so that writing on without a Replay first does not leave
// the torn frame in the middle of the log.
func TestOpenRepairsTornTail(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{})
	recs := testRecords(10)
	logAll(t, w, recs)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, segmentName(1))
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()-3); err != nil {
		t.Fatal(err)
	}
	w = mustOpen(t, dir, Options{})
	logAll(t, w, [][]byte{[]byte("new")})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, stats, err := replayAll(t, dir, Options{})
	if err != nil {
		t.Fatalf("Replay: %v (stats %+v)", err, stats)
	}
	sameRecs(t, got, append(slices.Clone(recs[:9]), []byte("new")))
}

func TestReplayCorruptCRC(t *testing.T) {
	src := t.TempDir()
	w := mustOpen(t, src, Options{SegmentSize: 2048})
	recs := testRecords(40)
	logAll(t, w, recs)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	names := dirNames(t, src)
	if len(names) < 3 {
		t.Fatalf("want at least 3 segments, got %v", names)
	}

	t.Run("last record of newest segment", func(t *testing.T) {
		dir := copyDir(t, src)
		last := filepath.Join(dir, names[len(names)-1])
		ends := frameEnds(t, last)
		flipByte(t, last, ends[len(ends)-1]-1)
		got, stats, err := replayAll(t, dir, Options{})
		if err != nil {
			t.Fatalf("Replay: %v", err)
		}
		sameRecs(t, got, recs[:len(recs)-1])
		if stats.TruncatedBytes == 0 {
			t.Error("bad last frame was not truncated")
		}
	})

	t.Run("middle of an older segment", func(t *testing.T) {
		dir := copyDir(t, src)
		seg := filepath.Join(dir, names[1])
		ends := frameEnds(t, seg)
		orig, err := os.ReadFile(seg)
		if err != nil {
			t.Fatal(err)
		}
		// Damage the payload of the segment's second record.
		flipByte(t, seg, ends[0]+frameHeaderSize+2)
		m := NewMetrics(nil)
		got, stats, err := replayAll(t, dir, Options{Metrics: m})
		var ce *CorruptError
		if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Replay error = %v, want a *CorruptError", err)
		}
		if ce.File != names[1] || ce.Offset != ends[0] || ce.Skipped != int64(len(orig))-ends[0] {
			t.Errorf("CorruptError = %+v, want file %s offset %d", ce, names[1], ends[0])
		}
		first := len(frameEnds(t, filepath.Join(src, names[0])))
		skipped := len(ends) - 1
		want := append(slices.Clone(recs[:first+1]), recs[first+1+skipped:]...)
		sameRecs(t, got, want)
		if stats.Corruptions != 1 || counterValue(m.Corruptions) != 1 {
			t.Errorf("corruptions: stats %d, metric %v; want 1", stats.Corruptions, counterValue(m.Corruptions))
		}
		// The damaged segment is left as it was for inspection.
		after, err := os.ReadFile(seg)
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != len(orig) {
			t.Errorf("damaged segment changed size: %d, was %d", len(after), len(orig))
		}
	})

	t.Run("missing segment", func(t *testing.T) {
		dir := copyDir(t, src)
		if err := os.Remove(filepath.Join(dir, names[1])); err != nil {
			t.Fatal(err)
		}
		got, _, err := replayAll(t, dir, Options{})
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Replay error = %v, want ErrCorrupt for the gap", err)
		}
		n1 := len(frameEnds(t, filepath.Join(src, names[1])))
		n0 := len(frameEnds(t, filepath.Join(src, names[0])))
		sameRecs(t, got, append(slices.Clone(recs[:n0]), recs[n0+n1:]...))
	})

	t.Run("bad header", func(t *testing.T) {
		dir := copyDir(t, src)
		flipByte(t, filepath.Join(dir, names[0]), 1)
		_, stats, err := replayAll(t, dir, Options{})
		if !errors.Is(err, ErrCorrupt) || stats.Corruptions != 1 {
			t.Fatalf("Replay = %+v, %v; want one corruption", stats, err)
		}
	})
}

func TestReplayCallbackError(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{})
	logAll(t, w, testRecords(10))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop here")
	n := 0
	_, err := Replay(context.Background(), dir, Options{}, func([]byte) error {
		n++
		if n == 4 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 4 {
		t.Errorf("Replay = %v after %d records, want the callback's error after 4", err, n)
	}
}

// A crash right after a segment was created leaves it without a whole header. Open removes it
// and reuses its number, so the sequence has no gap for Replay to report.
func TestOpenHeaderlessSegment(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{})
	recs := testRecords(5)
	logAll(t, w, recs)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, segmentName(2)), []byte("SLW"), 0o644); err != nil {
		t.Fatal(err)
	}
	w = mustOpen(t, dir, Options{})
	if s := w.Stats(); s.Segment != 2 {
		t.Errorf("Open writes segment %d, want 2 (the removed one's number)", s.Segment)
	}
	logAll(t, w, [][]byte{[]byte("new")})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, _, err := replayAll(t, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sameRecs(t, got, append(slices.Clone(recs), []byte("new")))
}
