package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
)

// FS is an ObjectClient over a directory of the local filesystem: a key is a path below it.
// It is Sluice's embedded default backend.
type FS struct {
	root string

	mu       sync.Mutex
	unsynced []string // paths PutDeferred wrote since the last Sync
}

var _ ObjectClient = (*FS)(nil)

// OpenFS returns an FS rooted at dir, creating it if needed.
func OpenFS(dir string) (*FS, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open filesystem store: %w", err)
	}
	// Clean, so that the paths of keys, made by filepath.Join, start with it.
	return &FS{root: filepath.Clean(dir)}, nil
}

// ErrInvalidKey is returned for keys that are empty, absolute or climb out of the root.
var ErrInvalidKey = errors.New("invalid object key")

func (s *FS) path(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") || path.Clean(key) != key || strings.HasPrefix(key, "../") || key == ".." {
		return "", fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}

// Put writes the object to a temporary file in the same directory, syncs it, renames it into
// place and syncs the directory, so a reader never sees a partial object and a crash leaves
// the old one; once Put returns, the new one survives a crash of the machine.
func (s *FS) Put(ctx context.Context, key string, r io.Reader) error {
	_, err := s.put(ctx, key, r, true)
	return err
}

// PutDeferred is Put without waiting for the disk: the object is in place when it returns, and
// a reader sees all of it or none, but it survives a crash of the machine (not just of the
// process) only once Sync returns. Objects written this way and then made durable by one Sync
// cost one flush of the filesystem instead of one per object: the ingester writes the chunks
// of a flush so.
func (s *FS) PutDeferred(ctx context.Context, key string, r io.Reader) error {
	p, err := s.put(ctx, key, r, false)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.unsynced = append(s.unsynced, p)
	s.mu.Unlock()
	return nil
}

// Sync makes every object PutDeferred wrote before the call durable: its bytes and the
// directory entry its rename made. On Linux this is one syncfs(2) of the filesystem holding
// the root, whatever the number of objects.
func (s *FS) Sync(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	paths := s.unsynced
	s.unsynced = nil
	s.mu.Unlock()
	if len(paths) == 0 {
		return nil
	}
	if err := syncPaths(s.root, paths); err != nil {
		// Nothing is known to be durable: the next Sync tries them all again.
		s.mu.Lock()
		s.unsynced = append(s.unsynced, paths...)
		s.mu.Unlock()
		return fmt.Errorf("sync %s: %w", s.root, err)
	}
	return nil
}

// put writes the object as Put describes, syncing its file first when durable is set, and
// returns the object's path.
func (s *FS) put(ctx context.Context, key string, r io.Reader, durable bool) (_ string, err error) {
	p, err := s.path(key)
	if err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	// The directory usually exists (a stream's chunks share one): create it only when the
	// temporary file cannot be made for its lack.
	dir := filepath.Dir(p)
	f, err := os.CreateTemp(dir, ".tmp-*")
	made := false // dir was created here: its own entry must be made durable too
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("put %s: %w", key, err)
		}
		made = true
		f, err = os.CreateTemp(dir, ".tmp-*")
	}
	if err != nil {
		return "", fmt.Errorf("put %s: %w", key, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	// An object already in memory (a chunk) is written in one call; a stream is copied with
	// the context checked between reads, so a long copy stops when it is cancelled.
	if wt, ok := r.(io.WriterTo); ok {
		_, err = wt.WriteTo(f)
	} else {
		_, err = io.Copy(f, ctxReader{ctx, r})
	}
	if err != nil {
		return "", fmt.Errorf("put %s: %w", key, err)
	}
	if durable {
		if err = f.Sync(); err != nil {
			return "", fmt.Errorf("put %s: %w", key, err)
		}
	}
	if err = f.Close(); err != nil {
		return "", fmt.Errorf("put %s: %w", key, err)
	}
	if err = os.Rename(f.Name(), p); err != nil {
		return "", fmt.Errorf("put %s: %w", key, err)
	}
	if durable {
		// The rename is an entry of dir: without syncing dir, a crash of the machine can
		// lose the object whose bytes were synced. A directory made for it is an entry of
		// its parent, and so on up to the root (made directories are rare: one per stream).
		if err := s.syncDirs(dir, made); err != nil {
			return "", fmt.Errorf("put %s: %w", key, err)
		}
	}
	return p, nil
}

// syncDirs makes the entries of the directories dirsToSync lists durable. Windows makes a
// rename durable with the file and cannot sync a directory.
func (s *FS) syncDirs(dir string, up bool) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	for _, d := range s.dirsToSync(dir, up) {
		if err := fsyncPath(d, true); err != nil {
			return err
		}
	}
	return nil
}

// dirsToSync lists dir and, with up, every directory from dir's parent up to the root: they
// hold dir's entry and those of the directories above it.
func (s *FS) dirsToSync(dir string, up bool) []string {
	dirs := []string{dir}
	for up && dir != s.root {
		parent := filepath.Dir(dir)
		if rel, err := filepath.Rel(s.root, parent); parent == dir || err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			break
		}
		dirs = append(dirs, parent)
		dir = parent
	}
	return dirs
}

// ctxReader stops a long copy when its context is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Get opens the object for reading.
func (s *FS) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if isMissing(err) {
		return nil, fmt.Errorf("get %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	// A directory is the common prefix of other keys, not an object.
	if st, err := f.Stat(); err != nil || st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("get %s: %w", key, ErrNotFound)
	}
	return f, nil
}

// GetRange returns up to n bytes from offset off; a range past the end is cut short.
func (s *FS) GetRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if off < 0 || n < 0 {
		return nil, fmt.Errorf("get range %s: negative offset or length", key)
	}
	rc, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	f := rc.(*os.File)
	return readCloser{io.NewSectionReader(f, off, n), f}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// List returns the keys below the root that start with prefix, sorted.
func (s *FS) List(ctx context.Context, prefix string) ([]string, error) {
	// Walk only the deepest directory the prefix names.
	dir := prefix
	if !strings.HasSuffix(prefix, "/") {
		dir = path.Dir(prefix)
	}
	dir = strings.TrimSuffix(dir, "/")
	start := s.root
	if dir != "" && dir != "." {
		p, err := s.path(dir)
		if err != nil {
			return nil, err
		}
		start = p
	}
	var keys []string
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".tmp-") {
			return nil
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	sort.Strings(keys)
	return keys, nil
}

// Delete removes the object; deleting a missing key is not an error, as in S3. Directories
// left empty are removed up to the root.
func (s *FS) Delete(ctx context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if st, err := os.Stat(p); isMissing(err) || err == nil && st.IsDir() {
		return nil // no such object (a directory is only a prefix of other keys)
	}
	if err := os.Remove(p); err != nil && !isMissing(err) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	for dir := filepath.Dir(p); dir != s.root && strings.HasPrefix(dir, s.root); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil { // not empty, or gone: stop climbing
			break
		}
	}
	return nil
}

// isMissing reports whether err means there is no file at the path: it does not exist, or a
// parent of it is a file (ENOTDIR), as when key "a/b" is asked for while "a" is an object.
func isMissing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}
