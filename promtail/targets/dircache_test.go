package targets

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// countingFS counts directory listings.
type countingFS struct {
	fs.FS
	reads int
}

func (c *countingFS) ReadDir(name string) ([]fs.DirEntry, error) {
	c.reads++
	return fs.ReadDir(c.FS, name)
}

func TestDirCacheRelistsOnlyChangedDirectories(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "pods"), 0o755)
	os.WriteFile(filepath.Join(dir, "pods", "a.log"), nil, 0o644)
	root := &countingFS{FS: os.DirFS(dir)}
	now := time.Now()
	c := &dirCache{root: root, base: dir, dirs: map[string]*cachedDir{}, now: func() time.Time { return now }, stat: os.Stat}
	names := func() []string {
		t.Helper()
		c.newRound()
		es, err := c.ReadDir("pods")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			out = append(out, e.Name())
		}
		return out
	}
	if got := names(); len(got) != 1 || root.reads != 1 {
		t.Fatalf("first round: %v after %d reads", got, root.reads)
	}
	// Within the settle time the directory is listed again every round.
	names()
	if root.reads != 2 {
		t.Fatalf("a just-modified directory was trusted from the cache (%d reads)", root.reads)
	}
	// Once settled, an unchanged directory is not listed again, even when asked twice a round.
	now = now.Add(time.Hour)
	names()
	reads := root.reads
	names()
	c.ReadDir("pods")
	if root.reads != reads {
		t.Fatalf("an unchanged, settled directory was listed again (%d reads, want %d)", root.reads, reads)
	}
	// A new file changes the directory's modification time: the next round sees it.
	time.Sleep(10 * time.Millisecond) // a new mtime even on coarse-grained filesystems
	os.WriteFile(filepath.Join(dir, "pods", "b.log"), nil, 0o644)
	future := time.Now().Add(2 * time.Second)
	os.Chtimes(filepath.Join(dir, "pods"), future, future)
	if got := names(); len(got) != 2 {
		t.Fatalf("new file not seen: %v", got)
	}
}
