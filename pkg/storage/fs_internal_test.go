package storage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fsyncEach, the sync of systems without syncfs, syncs files and their directories and passes
// over a file removed since it was written; a path it cannot open is an error.
func TestFsyncEach(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for _, name := range []string{"a", "b", "sub/c"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	if err := os.Remove(paths[1]); err != nil {
		t.Fatal(err)
	}
	if err := fsyncEach(paths, true); err != nil {
		t.Fatalf("fsyncEach = %v", err)
	}
	if err := fsyncEach([]string{filepath.Join(paths[0], "not-a-dir")}, true); err == nil {
		t.Fatal("fsyncEach of a path below a file succeeded")
	}
}

// A durable Put syncs the directory its rename wrote to and, when it made that directory,
// every directory up to the root; never one above the root.
func TestDirsToSync(t *testing.T) {
	for _, c := range []struct {
		root, dir string
		up        bool
		want      []string
	}{
		{"/data/chunks", "/data/chunks/fake/abc", false, []string{"/data/chunks/fake/abc"}},
		{"/data/chunks", "/data/chunks/fake/abc", true, []string{"/data/chunks/fake/abc", "/data/chunks/fake", "/data/chunks"}},
		{"/data/chunks", "/data/chunks", true, []string{"/data/chunks"}},
		{"data", "data/fake/abc", true, []string{"data/fake/abc", "data/fake", "data"}},
		{".", "fake/abc", true, []string{"fake/abc", "fake", "."}},
		{"/", "/fake", true, []string{"/fake", "/"}},
	} {
		root := &FS{root: filepath.Clean(filepath.FromSlash(c.root))} // as OpenFS, without making it
		got := root.dirsToSync(filepath.FromSlash(c.dir), c.up)
		want := make([]string, len(c.want))
		for i, w := range c.want {
			want[i] = filepath.FromSlash(w)
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("root %s, dir %s, up %v: %q, want %q", c.root, c.dir, c.up, got, want)
		}
	}
}

// A durable Put under a relative root, into directories it must make, succeeds and leaves the
// object readable.
func TestPutMakesDirsRelativeRoot(t *testing.T) {
	t.Chdir(t.TempDir())
	s, err := OpenFS("./data/")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(t.Context(), "fake/abc/1-2-3", strings.NewReader("chunk")); err != nil {
		t.Fatalf("Put = %v", err)
	}
	b, err := os.ReadFile(filepath.Join("data", "fake", "abc", "1-2-3"))
	if err != nil || string(b) != "chunk" {
		t.Fatalf("object = %q, %v", b, err)
	}
}
