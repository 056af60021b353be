package targets

import (
	"encoding/binary"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// watchedCache is a directory cache over dir with a watcher, counting its stats and listings.
// It never rechecks a watched directory by itself (unless recheck is set): changes show only
// through events.
func watchedCache(t *testing.T, dir string) (*dirCache, *countingFS, *int) {
	t.Helper()
	root := &countingFS{FS: os.DirFS(dir)}
	stats := 0
	c := &dirCache{root: root, base: dir, dirs: map[string]*cachedDir{}, now: time.Now,
		stat:  func(p string) (fs.FileInfo, error) { stats++; return os.Stat(p) },
		watch: newDirWatch(), recheck: 1 << 30}
	if c.watch == nil {
		t.Fatal("no inotify watcher")
	}
	t.Cleanup(c.close)
	return c, root, &stats
}

func names(t *testing.T, c *dirCache, dir string) []string {
	t.Helper()
	c.newRound()
	es, err := c.ReadDir(dir)
	if err != nil {
		return []string{"error: " + err.Error()}
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// eventually runs rounds until want is listed: the watcher reads its events on its own
// goroutine.
func eventually(t *testing.T, c *dirCache, dir string, want []string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := names(t, c, dir)
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("listing %v, want %v", got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A watched directory is trusted without a stat while nothing in it is created, removed or
// renamed, and listed again once something is; writes to its files change nothing.
func TestDirCacheWatchedDirectories(t *testing.T) {
	dir := t.TempDir()
	pods := filepath.Join(dir, "pods")
	os.MkdirAll(pods, 0o755)
	os.WriteFile(filepath.Join(pods, "a.log"), nil, 0o644)
	c, root, stats := watchedCache(t, dir)

	if got := names(t, c, "pods"); !slices.Equal(got, []string{"a.log"}) || *stats != 1 || root.reads != 1 {
		t.Fatalf("first round: %v, %d stats, %d listings", got, *stats, root.reads)
	}
	f, _ := os.OpenFile(filepath.Join(pods, "a.log"), os.O_WRONLY|os.O_APPEND, 0)
	for range 10 {
		f.WriteString("a line\n")
		names(t, c, "pods")
	}
	f.Close()
	time.Sleep(50 * time.Millisecond)
	names(t, c, "pods")
	if *stats != 1 || root.reads != 1 {
		t.Fatalf("an unchanged watched directory was checked again: %d stats, %d listings", *stats, root.reads)
	}

	os.WriteFile(filepath.Join(pods, "b.log"), nil, 0o644)
	eventually(t, c, "pods", []string{"a.log", "b.log"})
	os.Rename(filepath.Join(pods, "a.log"), filepath.Join(pods, "a.log.1"))
	eventually(t, c, "pods", []string{"a.log.1", "b.log"})
	os.Remove(filepath.Join(pods, "b.log"))
	eventually(t, c, "pods", []string{"a.log.1"})

	// Removed and made again: the old watch is gone, the new directory is watched afresh.
	os.RemoveAll(pods)
	eventually(t, c, "pods", []string{"error: stat " + pods + ": no such file or directory"})
	os.MkdirAll(pods, 0o755)
	os.WriteFile(filepath.Join(pods, "c.log"), nil, 0o644)
	eventually(t, c, "pods", []string{"c.log"})
	os.WriteFile(filepath.Join(pods, "d.log"), nil, 0o644)
	eventually(t, c, "pods", []string{"c.log", "d.log"})
}

// Without events a watched directory is still checked with a stat every recheckRounds rounds,
// in case events were lost.
func TestDirCacheWatchedRechecked(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "pods"), 0o755)
	c, _, stats := watchedCache(t, dir)
	c.recheck = recheckRounds
	for range 2*recheckRounds + 1 {
		names(t, c, "pods")
	}
	if *stats != 3 {
		t.Fatalf("%d stats over %d rounds, want 3", *stats, 2*recheckRounds+1)
	}
}

// A queue overflow means lost events: every watched directory counts as changed.
func TestDirWatchOverflow(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"a", "b"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	c, _, _ := watchedCache(t, dir)
	c.newRound()
	c.ReadDir("a")
	c.ReadDir("b")
	if !c.watch.unchanged("a") || !c.watch.unchanged("b") {
		t.Fatal("listed directories are not watched")
	}
	ev := make([]byte, unix.SizeofInotifyEvent)
	binary.NativeEndian.PutUint32(ev[0:], ^uint32(0)) // wd -1
	binary.NativeEndian.PutUint32(ev[4:], unix.IN_Q_OVERFLOW)
	c.watch.handle(ev)
	if c.watch.unchanged("a") || c.watch.unchanged("b") {
		t.Fatal("after an overflow a directory still counts as unchanged")
	}
}

// A directory the kernel will not watch for want of watches is not asked for again at every
// round (it is checked with a stat instead), until a watch is removed and frees one.
func TestDirWatchRefused(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"a", "b"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	c, _, stats := watchedCache(t, dir)
	adds, full := 0, true
	real := c.watch.add
	c.watch.add = func(fd int, path string, mask uint32) (int, error) {
		adds++
		if full && filepath.Base(path) == "b" {
			return -1, unix.ENOSPC
		}
		return real(fd, path, mask)
	}
	for range 5 {
		c.newRound()
		c.ReadDir("a")
		c.ReadDir("b")
	}
	if adds != 2 || *stats != 6 { // a: one add, one stat; b: one refused add, a stat every round
		t.Fatalf("%d watch calls, %d stats; want 2 and 6", adds, *stats)
	}
	full = false
	c.watch.forget("a")
	c.newRound()
	c.ReadDir("b")
	if adds != 3 || !c.watch.unchanged("b") {
		t.Fatalf("after a watch was freed: %d watch calls, b watched %v", adds, c.watch.unchanged("b"))
	}
}
