package shipper

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/index"
	"github.com/sluicelog/sluice/pkg/storage"
)

// Downloads is the querier's view of the shipped tables: it lists them, downloads those a query
// needs into a cache directory and queries them. It implements storage.IndexReader and is safe
// for concurrent use.
type Downloads struct {
	objects storage.ObjectClient
	dir     string
	resync  time.Duration
	ttl     time.Duration
	logger  *slog.Logger
	m       *metrics
	now     func() time.Time
	// skip reports shipped tables a query need not read (this node's own uploads of tables it
	// still has locally).
	skip func(s shipped) bool

	listMu sync.Mutex // held by a listing

	mu     sync.Mutex
	listed time.Time            // when the last listing succeeded; zero before the first
	remote map[string][]shipped // the last listing, by tenant, each sorted by day
	files  map[string]*cached   // by key
}

// cached is one downloaded table and who uses it.
type cached struct {
	key  string
	path string

	// mu is held while the table is downloaded, replaced or dropped.
	mu sync.Mutex
	h  *handle
	// dropped is set when c left Downloads.files; a caller holding c must look up again.
	dropped bool
}

// handle is one open version of a table; the last user of a replaced handle closes it.
type handle struct {
	t       *index.Table
	version index.Version
	refs    int
	retired bool
	used    time.Time
}

var _ storage.IndexReader = (*Downloads)(nil)

func newDownloads(objects storage.ObjectClient, dir string, resync, ttl time.Duration, skip func(shipped) bool, logger *slog.Logger, m *metrics) (*Downloads, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create index cache directory: %w", err)
	}
	if skip == nil {
		skip = func(shipped) bool { return false }
	}
	return &Downloads{
		objects: objects, dir: dir, resync: resync, ttl: ttl, skip: skip, logger: logger, m: m, now: time.Now,
		remote: map[string][]shipped{}, files: map[string]*cached{},
	}, nil
}

// List refreshes the list of shipped tables.
func (d *Downloads) List(ctx context.Context) error {
	d.listMu.Lock()
	defer d.listMu.Unlock()
	return d.list(ctx)
}

func (d *Downloads) list(ctx context.Context) error {
	start := d.now()
	keys, err := d.objects.List(ctx, keyPrefix)
	if err != nil {
		d.m.downloadFailures.Inc()
		return fmt.Errorf("list shipped index tables: %w", err)
	}
	remote := map[string][]shipped{}
	for _, k := range keys {
		if s, ok := parseKey(k); ok {
			remote[s.tenant] = append(remote[s.tenant], s)
		}
	}
	for _, ss := range remote {
		// Keys sort as strings ("index/10/…" before "index/9/…"): order by day for the search below.
		slices.SortFunc(ss, func(a, b shipped) int { return cmp.Compare(a.day, b.day) })
	}
	d.mu.Lock()
	d.remote, d.listed = remote, start
	d.mu.Unlock()
	return nil
}

// tables returns the shipped tables of tenant for the days [from, through] overlaps, listing
// them first if the last listing is older than the resync interval. When listing fails but an
// older listing exists, it serves the older one: the bucket being away must not fail queries
// the local index and the cache can answer.
func (d *Downloads) tables(ctx context.Context, tenant string, from, through int64) ([]shipped, error) {
	d.mu.Lock()
	fresh := !d.listed.IsZero() && d.now().Sub(d.listed) < d.resync
	d.mu.Unlock()
	if !fresh {
		d.listMu.Lock()
		d.mu.Lock()
		fresh = !d.listed.IsZero() && d.now().Sub(d.listed) < d.resync // listed while we waited?
		everListed := !d.listed.IsZero()
		d.mu.Unlock()
		var err error
		if !fresh {
			err = d.list(ctx)
		}
		d.listMu.Unlock()
		if err != nil {
			if !everListed {
				return nil, err
			}
			d.logger.Warn("listing shipped index tables failed; using the previous list", "err", err)
		}
	}
	first, last := index.DayOf(from), index.DayOf(through)
	var out []shipped
	d.mu.Lock()
	defer d.mu.Unlock()
	ss := d.remote[tenant]
	i, _ := slices.BinarySearchFunc(ss, first, func(s shipped, day int64) int { return cmp.Compare(s.day, day) })
	for _, s := range ss[i:] {
		if s.day > last {
			break
		}
		if !d.skip(s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// run calls fn on each shipped table of tenant that [from, through] needs, downloading those
// not cached yet. A table that turns out damaged is reported, dropped from the cache and
// skipped. A listed table that is gone was most likely merged away by the compactor: the
// bucket is listed again at once and the tables not seen yet (the merged one) are read too,
// so a query never misses what the listing was too old to show.
func (d *Downloads) run(ctx context.Context, tenant string, from, through int64, fn func(t *index.Table) error) error {
	if err := index.ValidateTenant(tenant); err != nil {
		return fmt.Errorf("query shipped index: %w", err)
	}
	if from > through {
		return nil
	}
	ss, err := d.tables(ctx, tenant, from, through)
	if err != nil {
		return err
	}
	seen := make(map[string]bool, len(ss))
	for attempt := 0; ; attempt++ {
		gone := false
		for _, s := range ss {
			if seen[s.key] {
				continue
			}
			seen[s.key] = true
			if err := ctx.Err(); err != nil {
				return err
			}
			h, release, err := d.acquire(ctx, s)
			if errors.Is(err, index.ErrCorrupt) {
				d.reportCorrupt(s, err)
				continue
			}
			if errors.Is(err, storage.ErrNotFound) {
				gone = true // deleted since listed (merged by a compactor, say)
				continue
			}
			if err != nil {
				return err
			}
			err = fn(h.t)
			release()
			if errors.Is(err, index.ErrCorrupt) {
				d.reportCorrupt(s, err)
				d.drop(s.key)
				continue
			}
			if err != nil {
				return err
			}
		}
		if !gone || attempt == 2 {
			return nil
		}
		if err := d.List(ctx); err != nil {
			return err
		}
		if ss, err = d.tables(ctx, tenant, from, through); err != nil {
			return err
		}
	}
}

func (d *Downloads) reportCorrupt(s shipped, err error) {
	d.m.corruptTables.Inc()
	d.logger.Error("shipped index table is corrupt; skipping it", "key", s.key, "err", err)
}

// ChunkRefs implements storage.IndexReader over the shipped tables.
func (d *Downloads) ChunkRefs(ctx context.Context, tenant string, from, through int64, ms ...*labels.Matcher) ([]index.SeriesChunks, error) {
	var all []index.SeriesChunks
	err := d.run(ctx, tenant, from, through, func(t *index.Table) error {
		got, err := t.ChunkRefs(ctx, from, through, ms...)
		all = append(all, got...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return storage.MergeSeriesChunks(all), nil
}

// Series implements storage.IndexReader over the shipped tables.
func (d *Downloads) Series(ctx context.Context, tenant string, from, through int64, ms ...*labels.Matcher) ([]index.Series, error) {
	var all []index.Series
	err := d.run(ctx, tenant, from, through, func(t *index.Table) error {
		got, err := t.Series(ctx, from, through, ms...)
		all = append(all, got...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return storage.MergeSeries(all), nil
}

// localPath is where the shipped table s is cached: <dir>/<day>/<tenant>/<name>.db.
func (d *Downloads) localPath(s shipped) string {
	return filepath.Join(d.dir, strconv.FormatInt(s.day, 10), s.tenant, s.name+".db")
}

// acquire returns the open table of s, downloading it if it is not cached, and a function to
// call when done with it.
func (d *Downloads) acquire(ctx context.Context, s shipped) (*handle, func(), error) {
	for {
		d.mu.Lock()
		c, ok := d.files[s.key]
		if !ok {
			c = &cached{key: s.key, path: d.localPath(s)}
			d.files[s.key] = c
		}
		d.mu.Unlock()
		h, release, err := d.acquireCached(ctx, c, s)
		if h != nil || err != nil {
			return h, release, err
		}
	}
}

// acquireCached is acquire on c; it returns nothing if c was dropped meanwhile.
func (d *Downloads) acquireCached(ctx context.Context, c *cached, s shipped) (*handle, func(), error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dropped {
		return nil, nil, nil
	}
	if c.h == nil {
		if err := d.load(ctx, c, s); err != nil {
			return nil, nil, err
		}
	}
	h := c.h
	d.mu.Lock()
	h.refs++
	h.used = d.now()
	d.mu.Unlock()
	return h, func() { d.release(h) }, nil
}

func (d *Downloads) release(h *handle) {
	d.mu.Lock()
	h.refs--
	closeIt := h.retired && h.refs == 0
	d.mu.Unlock()
	if closeIt {
		_ = h.t.Close() // read-only: nothing to lose
	}
}

// load opens c's table: the copy already on disk if it matches the bucket's (after a restart),
// else a fresh download. c.mu is held.
func (d *Downloads) load(ctx context.Context, c *cached, s shipped) error {
	if _, err := os.Stat(c.path); err == nil {
		remote, err := d.remoteVersion(ctx, s.key)
		if err != nil {
			return err
		}
		if t, err := openChecked(c.path, tableID{s.tenant, s.day}); err == nil {
			if v, err := fileVersion(c.path); err == nil && v == remote {
				d.install(c, t, v)
				return nil
			}
			_ = t.Close()
		}
	}
	return d.download(ctx, c, s)
}

// download fetches s into c's path and opens it, replacing c's current handle. c.mu is held.
func (d *Downloads) download(ctx context.Context, c *cached, s shipped) error {
	if err := os.MkdirAll(filepath.Dir(c.path), 0o750); err != nil {
		return fmt.Errorf("download shipped index table %s: %w", s.key, err)
	}
	tmp, err := fetchTable(ctx, d.objects, s.key, filepath.Dir(c.path))
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			d.m.downloadFailures.Inc()
		}
		return fmt.Errorf("download shipped index table: %w", err)
	}
	if fi, err := os.Stat(tmp); err == nil {
		d.m.downloadBytes.Add(float64(fi.Size()))
	}
	d.m.downloads.Inc()
	// The open handle, if any, keeps the old file's data until it is closed.
	if err := os.Rename(tmp, c.path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("download shipped index table %s: %w", s.key, err)
	}
	v, err := fileVersion(c.path)
	if err != nil {
		os.Remove(c.path)
		return fmt.Errorf("download shipped index table %s: %w", s.key, err)
	}
	t, err := openChecked(c.path, tableID{s.tenant, s.day})
	if err != nil {
		os.Remove(c.path)
		return fmt.Errorf("download shipped index table %s: %w", s.key, err)
	}
	d.install(c, t, v)
	d.logger.Debug("downloaded shipped index table", "key", s.key, "txid", v.TxID)
	return nil
}

// install makes t c's current table, retiring the previous one. c.mu is held.
func (d *Downloads) install(c *cached, t *index.Table, v index.Version) {
	d.mu.Lock()
	old := c.h
	c.h = &handle{t: t, version: v, used: d.now()}
	closeOld := false
	if old != nil {
		old.retired = true
		closeOld = old.refs == 0
	}
	d.m.cachedTables.Set(float64(d.countOpen()))
	d.mu.Unlock()
	if closeOld {
		_ = old.t.Close()
	}
}

// countOpen counts cached tables with a handle. d.mu is held.
func (d *Downloads) countOpen() int {
	n := 0
	for _, c := range d.files {
		if c.h != nil {
			n++
		}
	}
	return n
}

// drop closes and removes the cached table of key (after its users finish).
func (d *Downloads) drop(key string) {
	d.mu.Lock()
	c, ok := d.files[key]
	d.mu.Unlock()
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	d.mu.Lock()
	if d.files[key] == c {
		delete(d.files, key)
	}
	c.dropped = true
	h := c.h
	c.h = nil
	closeIt := false
	if h != nil {
		h.retired = true
		closeIt = h.refs == 0
	}
	d.m.cachedTables.Set(float64(d.countOpen()))
	d.mu.Unlock()
	if closeIt {
		_ = h.t.Close()
	}
	os.Remove(c.path)
}

// remoteVersion reads the version of the shipped table at key with a small ranged read.
func (d *Downloads) remoteVersion(ctx context.Context, key string) (index.Version, error) {
	rc, err := d.objects.GetRange(ctx, key, 0, index.VersionHeaderSize)
	if err != nil {
		return index.Version{}, fmt.Errorf("read version of shipped index table %s: %w", key, err)
	}
	defer rc.Close()
	head, err := io.ReadAll(io.LimitReader(rc, index.VersionHeaderSize))
	if err != nil {
		return index.Version{}, fmt.Errorf("read version of shipped index table %s: %w", key, err)
	}
	v, err := index.ReadVersion(head)
	if err != nil {
		return index.Version{}, fmt.Errorf("read version of shipped index table %s: %w", key, err)
	}
	return v, nil
}

// fileVersion reads the version of the table file at path.
func fileVersion(path string) (index.Version, error) {
	f, err := os.Open(path)
	if err != nil {
		return index.Version{}, err
	}
	defer f.Close()
	head := make([]byte, index.VersionHeaderSize)
	if _, err := io.ReadFull(f, head); err != nil {
		return index.Version{}, fmt.Errorf("read version of %s: %w: %w", path, index.ErrCorrupt, err)
	}
	return index.ReadVersion(head)
}

// Sync refreshes the listing, re-downloads cached tables that changed in the bucket, and drops
// those gone from the bucket or unused for the cache TTL.
func (d *Downloads) Sync(ctx context.Context) error {
	if err := d.List(ctx); err != nil {
		return err
	}
	d.mu.Lock()
	live := map[string]shipped{}
	for _, ss := range d.remote {
		for _, s := range ss {
			live[s.key] = s
		}
	}
	now := d.now()
	var refresh []shipped
	var gone []string
	for key, c := range d.files {
		s, ok := live[key]
		switch {
		case !ok:
			gone = append(gone, key)
		case c.h != nil && c.h.refs == 0 && now.Sub(c.h.used) >= d.ttl:
			gone = append(gone, key)
		case c.h != nil:
			refresh = append(refresh, s)
		}
	}
	d.mu.Unlock()
	for _, key := range gone {
		d.drop(key)
	}
	var errs []error
	for _, s := range refresh {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := d.refresh(ctx, s); err != nil {
			if errors.Is(err, index.ErrCorrupt) {
				d.reportCorrupt(s, err)
				d.drop(s.key)
				continue
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// refresh downloads s again if the bucket holds a newer version than the cache.
func (d *Downloads) refresh(ctx context.Context, s shipped) error {
	d.mu.Lock()
	c, ok := d.files[s.key]
	d.mu.Unlock()
	if !ok {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h == nil {
		return nil
	}
	v, err := d.remoteVersion(ctx, s.key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil // the next Sync drops it
	}
	if err != nil {
		return err
	}
	if v == c.h.version {
		return nil
	}
	return d.download(ctx, c, s)
}

// Close closes every cached table. Users must be done.
func (d *Downloads) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	for _, c := range d.files {
		if c.h != nil {
			errs = append(errs, c.h.t.Close())
			c.h = nil
		}
	}
	return errors.Join(errs...)
}
