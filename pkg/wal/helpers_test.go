package wal

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// testRecords returns n distinct records of varied sizes, including an empty one.
func testRecords(n int) [][]byte {
	recs := make([][]byte, n)
	for i := range recs {
		size := (i * 37) % 300
		if i == 3 {
			size = 0
		}
		rec := make([]byte, size)
		for j := range rec {
			rec[j] = byte(i + j)
		}
		if size >= 4 {
			copy(rec, fmt.Sprintf("%04d", i%10000))
		}
		recs[i] = rec
	}
	return recs
}

func mustOpen(t testing.TB, dir string, opts Options) *WAL {
	t.Helper()
	w, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return w
}

func logAll(t testing.TB, w *WAL, recs [][]byte) {
	t.Helper()
	for i, r := range recs {
		if err := w.Log(context.Background(), r); err != nil {
			t.Fatalf("Log record %d: %v", i, err)
		}
	}
}

func replayAll(t testing.TB, dir string, opts Options) ([][]byte, ReplayStats, error) {
	t.Helper()
	var got [][]byte
	stats, err := Replay(context.Background(), dir, opts, func(rec []byte) error {
		got = append(got, bytes.Clone(rec))
		return nil
	})
	return got, stats, err
}

func sameRecs(t testing.TB, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("replayed %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("record %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// frameEnds returns the offset just past each frame of a segment file written by the WAL.
func frameEnds(t testing.TB, path string) []int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	s := newScanner(f, fi.Size(), segmentMagic, nil)
	var ends []int64
	for s.next() {
		ends = append(ends, s.off)
	}
	if s.err != nil || s.bad != "" {
		t.Fatalf("scan %s: %v %s", path, s.err, s.bad)
	}
	return ends
}

func copyDir(t testing.TB, from string) string {
	t.Helper()
	to := t.TempDir()
	for _, name := range dirNames(t, from) {
		b, err := os.ReadFile(filepath.Join(from, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

func flipByte(t testing.TB, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0x40
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// counterValue reads a counter's current value.
func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic("read test counter: " + err.Error())
	}
	return m.GetCounter().GetValue()
}
