package index

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// Options configure an Index.
type Options struct {
	// ReadOnly opens existing tables read-only (for example ones downloaded from the object store);
	// Add then fails with ErrReadOnly.
	ReadOnly bool
	// IdleTimeout is how long an unused table stays open; 0 means DefaultIdleTimeout and a
	// negative value keeps tables open until Close.
	IdleTimeout time.Duration
	// NoSync skips the fsync at each commit: faster, but a crash may lose or corrupt the last
	// writes. For tests and for tables that can be rebuilt.
	NoSync bool
	// LockTimeout is how long opening a table waits for another process that holds it; 0 means
	// 10 seconds.
	LockTimeout time.Duration

	// hash computes fingerprints; nil means labels.Labels.Hash. Tests set it to force collisions.
	hash func(labels.Labels) uint64
	// smallSelection overrides defaultSmallSelection when not 0; tests set it to -1 to always read
	// postings.
	smallSelection int
}

// DefaultIdleTimeout is how long an unused table stays open by default.
const DefaultIdleTimeout = 5 * time.Minute

// ErrReadOnly is returned by Add on an Index opened with Options.ReadOnly.
var ErrReadOnly = errors.New("index is read-only")

// ErrClosed is returned by calls on a closed Index.
var ErrClosed = errors.New("index is closed")

// Index is the set of index tables under one directory. Its methods are safe for concurrent use.
type Index struct {
	dir  string
	opts Options

	mu     sync.Mutex
	tables map[tableID]*cachedTable
	closed bool

	stop chan struct{}
	done chan struct{}
}

type tableID struct {
	tenant string
	day    int64
}

// cachedTable is a cached table and who uses it.
type cachedTable struct {
	t        *Table
	refs     int
	lastUsed time.Time
}

// Open opens the index under dir, creating dir unless opts.ReadOnly. Tables are opened when first
// used. The caller must Close the index.
func Open(dir string, opts Options) (*Index, error) {
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = defaultLockTimeout
	}
	if opts.smallSelection == 0 {
		opts.smallSelection = defaultSmallSelection
	}
	if opts.hash == nil {
		opts.hash = labels.Labels.Hash
	}
	if opts.ReadOnly {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("open index %s: %w", dir, err)
		}
	} else if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("open index %s: %w", dir, err)
	}
	ix := &Index{dir: dir, opts: opts, tables: map[tableID]*cachedTable{}}
	if opts.IdleTimeout > 0 {
		ix.stop, ix.done = make(chan struct{}), make(chan struct{})
		go ix.closeIdle()
	}
	return ix, nil
}

// Close closes every table, waiting for running queries and writes, and stops the index.
func (ix *Index) Close() error {
	ix.mu.Lock()
	if ix.closed {
		ix.mu.Unlock()
		return nil
	}
	ix.closed = true
	tables := ix.tables
	ix.tables = nil
	ix.mu.Unlock()
	if ix.stop != nil {
		close(ix.stop)
		<-ix.done
	}
	var errs []error
	for _, ot := range tables {
		errs = append(errs, ot.t.Close())
	}
	return errors.Join(errs...)
}

// closeIdle closes tables unused for IdleTimeout until the index is closed.
func (ix *Index) closeIdle() {
	defer close(ix.done)
	tick := time.NewTicker(max(ix.opts.IdleTimeout/2, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ix.stop:
			return
		case now := <-tick.C:
			ix.closeIdleAt(now)
		}
	}
}

func (ix *Index) closeIdleAt(now time.Time) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for id, ot := range ix.tables {
		if ot.refs == 0 && now.Sub(ot.lastUsed) >= ix.opts.IdleTimeout {
			// Close under the lock, so that a caller reopening the table does not wait for this
			// handle's file lock. Closing a table nobody uses is quick. The error has no caller to
			// go to, and every write was committed, so it is dropped.
			_ = ot.t.Close()
			delete(ix.tables, id)
		}
	}
}

// acquire returns the table of tenant and day, opening it if needed, and a function to call when
// done with it. With create it makes a missing table; without, a missing table gives (nil, nil).
func (ix *Index) acquire(tenant string, day int64, create bool) (*Table, func(), error) {
	id := tableID{tenant, day}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.closed {
		return nil, nil, ErrClosed
	}
	ot, ok := ix.tables[id]
	if !ok {
		path := TablePath(ix.dir, tenant, day)
		if !create {
			if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
				return nil, nil, nil
			}
		} else if err := os.MkdirAll(filepath.Join(ix.dir, tenant), 0o750); err != nil {
			return nil, nil, fmt.Errorf("create index directory of tenant %s: %w", tenant, err)
		}
		// Opening under the lock keeps two callers from opening one file twice (bbolt's file lock
		// would make the second wait for the first). Opening is quick: a lock and an mmap.
		t, err := openTable(path, tenant, day, tableOpts{
			readOnly:       ix.opts.ReadOnly,
			create:         create && !ix.opts.ReadOnly,
			noSync:         ix.opts.NoSync,
			lockTimeout:    ix.opts.LockTimeout,
			smallSelection: ix.opts.smallSelection,
		})
		if err != nil {
			return nil, nil, err
		}
		ot = &cachedTable{t: t}
		ix.tables[id] = ot
	}
	ot.refs++
	released := false
	return ot.t, func() {
		ix.mu.Lock()
		defer ix.mu.Unlock()
		if !released {
			released = true
			ot.refs--
			ot.lastUsed = time.Now()
		}
	}, nil
}

// Dir returns the directory the index keeps its tables in.
func (ix *Index) Dir() string { return ix.dir }
