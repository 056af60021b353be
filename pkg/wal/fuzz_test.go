package wal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// segmentBytes builds a segment file holding recs.
func segmentBytes(recs ...[]byte) []byte {
	h := fileHeader(segmentMagic)
	b := h[:]
	for _, r := range recs {
		b = appendFrame(b, r)
	}
	return b
}

func addSegmentSeeds(f *testing.F) {
	good := segmentBytes([]byte("one"), []byte{}, bytes.Repeat([]byte("x"), 300))
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(good[:fileHeaderSize+3])
	f.Add(good[:5])
	f.Add([]byte{})
	f.Add(segmentBytes())
	f.Add(append(segmentBytes([]byte("a")), 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0))
}

// scanAll runs the scanner over data in memory and returns the records it accepts.
func scanAll(t *testing.T, data []byte) ([][]byte, *scanner) {
	s := newScanner(bytes.NewReader(data), int64(len(data)), segmentMagic, nil)
	var recs [][]byte
	for s.next() {
		recs = append(recs, bytes.Clone(s.rec))
	}
	if s.err != nil {
		t.Fatalf("scanner I/O error on an in-memory reader: %v", s.err)
	}
	if s.off > int64(len(data)) || s.badOff > int64(len(data)) || (s.bad != "" && s.badOff != s.off && s.off != 0) {
		t.Fatalf("scanner offsets wrong: off %d bad %d size %d", s.off, s.badOff, len(data))
	}
	return recs, s
}

// FuzzScanSegment checks the frame scanner alone, in memory: it never panics, never reads past
// the end, and re-framing what it accepts gives back the bytes it consumed.
func FuzzScanSegment(f *testing.F) {
	addSegmentSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, s := scanAll(t, data)
		if s.off >= fileHeaderSize {
			if again := segmentBytes(recs...); !bytes.Equal(again, data[:s.off]) {
				t.Fatalf("re-framed records differ from the %d bytes scanned", s.off)
			}
		}
	})
}

// FuzzReplaySegment feeds arbitrary bytes to Replay as the newest segment and as an older one.
// Replay must never panic; as the newest segment any damage is a torn tail (no error, repaired
// so that a second replay finds nothing to repair); as an older segment damage is reported as
// ErrCorrupt and the segment after it is still replayed. It touches the disk, so it runs slower
// than FuzzScanSegment.
func FuzzReplaySegment(f *testing.F) {
	addSegmentSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, s := scanAll(t, data)

		// On disk, as the newest segment.
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, segmentName(1)), data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, _, err := replayAll(t, dir, Options{})
		if err != nil {
			t.Fatalf("Replay of newest segment: %v", err)
		}
		sameRecs(t, got, recs)
		got, stats, err := replayAll(t, dir, Options{})
		if err != nil || stats.TruncatedBytes != 0 {
			t.Fatalf("second Replay = %+v, %v; want nothing left to repair", stats, err)
		}
		sameRecs(t, got, recs)

		// As an older segment, followed by a good one.
		dir = t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, segmentName(1)), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, segmentName(2)), segmentBytes([]byte("tail")), 0o644); err != nil {
			t.Fatal(err)
		}
		got, _, err = replayAll(t, dir, Options{})
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Replay of older segment: %v, want nil or ErrCorrupt", err)
		}
		if (err == nil) != (s.bad == "") {
			t.Fatalf("Replay error %v, but the scanner said %q", err, s.bad)
		}
		sameRecs(t, got, append(recs, []byte("tail")))
	})
}

// The WAL must read back what it wrote through the real file path, whatever the bytes: the
// fuzzer picks the records.
func FuzzLogReplay(f *testing.F) {
	f.Add([]byte("hello"), []byte{}, uint16(64))
	f.Add(bytes.Repeat([]byte{0}, 100), []byte("x"), uint16(9))
	f.Fuzz(func(t *testing.T, a, b []byte, segSize uint16) {
		dir := t.TempDir()
		w, err := Open(dir, Options{SegmentSize: int64(segSize)})
		if err != nil {
			t.Fatal(err)
		}
		logAll(t, w, [][]byte{a, b, a})
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		got, _, err := replayAll(t, dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		sameRecs(t, got, [][]byte{a, b, a})
	})
}
