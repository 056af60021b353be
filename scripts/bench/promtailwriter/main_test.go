package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/promtail/stages"
)

// readAll returns every line of every 0.log under dir.
func readAll(t *testing.T, dir string) (files int, lines []string) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*", "*", "0.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return len(paths), lines
}

func TestRun(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		files     int
		lines     int
		wantError string
	}{
		{name: "create", args: []string{"-mode", "create", "-files", "7"}, files: 7},
		{name: "fill", args: []string{"-mode", "fill", "-files", "10", "-lines", "5000"}, files: 10, lines: 5000},
		{name: "append", args: []string{"-mode", "append", "-files", "20", "-rate", "2000", "-duration", "300ms", "-tick", "50ms"}, files: 20, lines: 600},
		{name: "bad mode", args: []string{"-mode", "nope"}, wantError: `unknown -mode "nope"`},
		{name: "no files", args: []string{"-files", "0"}, wantError: "-files must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var out, errOut bytes.Buffer
			err := run(append([]string{"-dir", dir}, tt.args...), &out, &errOut)
			if tt.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantError) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var s summary
			if err := json.Unmarshal(out.Bytes(), &s); err != nil {
				t.Fatalf("summary %q: %v", out.String(), err)
			}
			files, lines := readAll(t, dir)
			if files != tt.files || len(lines) != tt.lines || s.Lines != int64(tt.lines) {
				t.Fatalf("%d files, %d lines (summary %d), want %d files, %d lines", files, len(lines), s.Lines, tt.files, tt.lines)
			}
			var raw, fileBytes int64
			for _, l := range lines {
				c, err := stages.ParseCRI(l)
				if err != nil {
					t.Fatalf("line %q: %v", l, err)
				}
				if c.Partial || c.Content == "" || time.Since(c.Time) > 2*time.Hour || time.Until(c.Time) > time.Second {
					t.Fatalf("line %q: partial %v, time %v", l, c.Partial, c.Time)
				}
				raw += int64(len(c.Content))
				fileBytes += int64(len(l)) + 1
			}
			if raw != s.RawBytes || fileBytes != s.FileBytes {
				t.Fatalf("raw %d, file %d bytes; summary says %d, %d", raw, fileBytes, s.RawBytes, s.FileBytes)
			}
			if tt.lines >= 5000 {
				if avg := float64(raw) / float64(len(lines)); avg < 200 || avg > 270 {
					t.Fatalf("average content %.0f bytes a line, want about 236", avg)
				}
			}
		})
	}
}

func BenchmarkAppendCRI(b *testing.B) {
	g := newGenerator(1)
	ts := time.Now()
	var buf []byte
	b.ReportAllocs()
	var n int
	for b.Loop() {
		buf, n = g.appendCRI(buf[:0], ts)
	}
	b.SetBytes(int64(n))
}
