package compactor

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestMarkerRoundTrip(t *testing.T) {
	dir := t.TempDir()
	keys := []string{"chunks/fake/0000000000000001/0000000000000001-0000000000000002-00000003", "chunks/t2/00000000000000ff/0000000000000001-0000000000000002-00000003"}
	at := time.Unix(1710072000, 5)
	m1, err := writeMarker(dir, at, keys)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := writeMarker(dir, at.Add(-time.Second), keys[:1])
	if err != nil {
		t.Fatal(err)
	}
	got, err := listMarkers(dir)
	if err != nil || len(got) != 2 || got[0].path != m2.path || got[1].path != m1.path || !got[1].created.Equal(at) {
		t.Fatalf("listMarkers = %+v, %v; want the older first with its time", got, err)
	}
	read, err := readMarker(m1.path)
	if err != nil || !slices.Equal(read, keys) {
		t.Fatalf("readMarker = %v, %v; want %v", read, err, keys)
	}
	if _, err := writeMarker(dir, at, []string{"a\nb"}); err == nil {
		t.Fatal("writeMarker with a newline in a key = nil, want an error")
	}
	// Files that are not markers are ignored.
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	if got, _ := listMarkers(dir); len(got) != 2 {
		t.Fatalf("listMarkers with a stray file = %d markers, want 2", len(got))
	}
}

func FuzzReadMarker(f *testing.F) {
	f.Add([]byte(markerHeader + "\nchunks/fake/0000000000000001/0000000000000001-0000000000000002-00000003\n"))
	f.Add([]byte(markerHeader + "\n"))
	f.Add([]byte("garbage"))
	f.Add([]byte(markerHeader + "\nchunks/x"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "m"+markerSuffix)
		if err := os.WriteFile(path, b, 0o640); err != nil {
			t.Fatal(err)
		}
		keys, err := readMarker(path)
		if err != nil {
			return
		}
		// A marker that reads back is written back to the same keys.
		m, err := writeMarker(t.TempDir(), time.Unix(0, 1), keys)
		if err != nil {
			return // keys with a carriage return are refused by the writer
		}
		again, err := readMarker(m.path)
		if err != nil || !slices.Equal(again, keys) {
			t.Fatalf("round trip of %q = %q, %v", keys, again, err)
		}
	})
}
