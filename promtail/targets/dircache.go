package targets

import (
	"io/fs"
	"os"
	"path"
	"strings"
	"time"
)

// dirCache is an fs.FS over the root directory that lists each directory at most once per
// sync round, and across rounds only when the directory changed. The globs of many targets
// under /var/log/pods (one per container) share one listing per round, and an unchanged
// directory costs one stat instead of a read of its entries: re-expanding the globs every poll
// (so new files are picked up at once) then stays cheap on a node with thousands of files.
//
// Where inotify is available (dirWatch), a listed directory is also watched, and while no
// entry of it was created, removed or renamed its listing is trusted without even the stat;
// every recheckRounds rounds it is checked with a stat anyway, in case events were lost.
type dirCache struct {
	root  fs.FS
	base  string // the filesystem path root is over
	round int
	dirs  map[string]*cachedDir
	now   func() time.Time
	stat  func(string) (fs.FileInfo, error)
	watch *dirWatch // nil: no watcher, every directory is checked with a stat
	// recheck is recheckRounds, or in tests more, so that only events can show a change.
	recheck int
}

type cachedDir struct {
	entries []fs.DirEntry
	err     error
	mtime   time.Time
	round   int // the round the entry was last validated in
	checked int // the round it was last checked with a stat
}

// recheckRounds is how many rounds a watched directory without events is trusted before a
// stat checks it (10 s at the default poll frequency).
const recheckRounds = 40

// settle is how old a directory's modification time must be before its cached listing is
// trusted: a file created within the same timestamp tick as the last listing would otherwise
// be missed on filesystems with coarse timestamps.
const settle = time.Second

// evictAfter is how many rounds a directory no glob asked for stays cached.
const evictAfter = 100

func newDirCache() *dirCache {
	return &dirCache{root: os.DirFS("/"), base: "/", dirs: map[string]*cachedDir{}, now: time.Now, stat: os.Stat,
		recheck: recheckRounds}
}

// startWatch starts the cache's watcher (none where the system has none); close stops it.
func (c *dirCache) startWatch() { c.watch = newDirWatch() }

func (c *dirCache) close() {
	c.watch.close()
	c.watch = nil
}

// newRound starts a sync round: listings are validated again, once each.
func (c *dirCache) newRound() {
	c.round++
	if c.round%evictAfter == 0 {
		for name, d := range c.dirs {
			if c.round-d.round > evictAfter {
				delete(c.dirs, name)
				c.watch.forget(name)
			}
		}
	}
}

func (c *dirCache) Open(name string) (fs.File, error) { return c.root.Open(name) }

func (c *dirCache) Stat(name string) (fs.FileInfo, error) { return fs.Stat(c.root, name) }

func (c *dirCache) ReadDir(name string) ([]fs.DirEntry, error) {
	d := c.dirs[name]
	if d != nil && d.round == c.round {
		return d.entries, d.err
	}
	if d != nil && d.err == nil && c.round-d.checked < c.recheck && c.watch.unchanged(name) {
		d.round = c.round
		return d.entries, nil
	}
	// Watched before it is looked at, so that a change after the look is an event. A fresh
	// listing of a watched directory is trusted at once: a file created in the same
	// timestamp tick after it is an event too.
	p := path.Join(c.base, name)
	watched := c.watch.watch(name, p)
	st, err := c.stat(p)
	if err != nil {
		c.dirs[name] = &cachedDir{err: err, round: c.round, checked: c.round}
		return nil, err
	}
	mtime := st.ModTime()
	if d != nil && d.err == nil && mtime.Equal(d.mtime) && (watched || c.now().Sub(mtime) > settle) {
		d.round, d.checked = c.round, c.round
		return d.entries, nil
	}
	entries, err := fs.ReadDir(c.root, name)
	c.dirs[name] = &cachedDir{entries: entries, err: err, mtime: mtime, round: c.round, checked: c.round}
	return entries, err
}

// relative turns an absolute glob into one for the root FS ("/var/log/*.log" → "var/log/*.log").
func relative(pattern string) (string, bool) {
	if !strings.HasPrefix(pattern, "/") {
		return "", false
	}
	p := strings.TrimLeft(pattern, "/")
	if p == "" {
		p = "."
	}
	return p, true
}
