package targets

import (
	"io/fs"
	"os"
	"strings"
)

// dirCache is an fs.FS over the root directory that lists each directory at most once. One is
// made per sync, so the globs of many targets under /var/log/pods (one per container) read
// each directory once per round instead of once per target.
type dirCache struct {
	root fs.FS
	dirs map[string][]fs.DirEntry
	errs map[string]error
}

func newDirCache() *dirCache {
	return &dirCache{root: os.DirFS("/"), dirs: map[string][]fs.DirEntry{}, errs: map[string]error{}}
}

func (c *dirCache) Open(name string) (fs.File, error) { return c.root.Open(name) }

func (c *dirCache) Stat(name string) (fs.FileInfo, error) { return fs.Stat(c.root, name) }

func (c *dirCache) ReadDir(name string) ([]fs.DirEntry, error) {
	if d, ok := c.dirs[name]; ok {
		return d, nil
	}
	if err, ok := c.errs[name]; ok {
		return nil, err
	}
	d, err := fs.ReadDir(c.root, name)
	if err != nil {
		c.errs[name] = err
		return nil, err
	}
	c.dirs[name] = d
	return d, nil
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
