package storage

import (
	"os"
	"path/filepath"
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
