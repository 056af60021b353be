package shipper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/sluicelog/sluice/pkg/index"
	"github.com/sluicelog/sluice/pkg/storage"
)

// quiet is how long a table file must have gone unmodified before its size and modification
// time are trusted to tell that it did not change: file systems keep coarse timestamps, so a
// write just after a snapshot may leave both as they were.
const quiet = 2 * time.Second

// Uploader ships the local index tables to the object store. It is safe for concurrent use;
// uploads run one at a time.
type Uploader struct {
	name    string
	local   *index.Index
	objects storage.ObjectClient
	tmpDir  string
	logger  *slog.Logger
	m       *metrics
	now     func() time.Time

	mu sync.Mutex // held by an upload

	stateMu sync.RWMutex
	state   map[string]uploaded // by tableID.String()
}

// newUploader returns an Uploader of the tables of local, named name, using tmpDir for
// snapshots on their way up.
func newUploader(name string, local *index.Index, objects storage.ObjectClient, tmpDir string, logger *slog.Logger, m *metrics) (*Uploader, error) {
	st, err := loadState(local.Dir())
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(tmpDir, 0o750); err != nil {
		return nil, fmt.Errorf("create shipper temporary directory: %w", err)
	}
	return &Uploader{name: name, local: local, objects: objects, tmpDir: tmpDir, logger: logger, m: m, now: time.Now, state: st}, nil
}

// Upload uploads every local table that changed since its last upload. A table that fails is
// tried again at the next Upload; the others go on. It returns the failures, joined.
func (u *Uploader) Upload(ctx context.Context) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	tables, err := index.ListTables(u.local.Dir())
	if err != nil {
		return fmt.Errorf("upload index tables: %w", err)
	}
	var errs []error
	changed := false
	for _, tf := range tables {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		did, err := u.uploadTable(ctx, tf)
		changed = changed || did
		if err != nil {
			u.m.uploadFailures.Inc()
			errs = append(errs, err)
			var be *bucketError
			if errors.As(err, &be) {
				// The bucket is likely away: the other tables would fail the same way, each
				// after its retries. The next Upload tries them all again.
				break
			}
		}
	}
	if changed {
		u.stateMu.RLock()
		err := saveState(u.local.Dir(), u.state)
		u.stateMu.RUnlock()
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// uploadTable uploads one table if it changed, and reports whether the state changed.
func (u *Uploader) uploadTable(ctx context.Context, tf index.TableFile) (bool, error) {
	id := tableID{tf.Tenant, tf.Day}
	key := tableKey(tf.Day, tf.Tenant, u.name)
	u.stateMu.RLock()
	prev, seen := u.state[id.String()]
	u.stateMu.RUnlock()
	fi, err := os.Stat(tf.Path)
	if err != nil {
		return false, fmt.Errorf("upload index table %s: %w", id, err)
	}
	if seen && !prev.ModTime.IsZero() && prev.Size == fi.Size() && prev.ModTime.Equal(fi.ModTime()) {
		return false, nil
	}
	if !seen {
		// First upload from this directory: the bucket may hold what this node shipped before
		// it lost its disk. Merge that in, or the upload would overwrite it.
		if err := u.mergeRemote(ctx, id, key); err != nil {
			return false, err
		}
		if fi, err = os.Stat(tf.Path); err != nil {
			return false, fmt.Errorf("upload index table %s: %w", id, err)
		}
	}
	// The stat above comes before the snapshot: a write after it changes the file again.
	rec := uploaded{Size: fi.Size(), ModTime: fi.ModTime()}
	if u.now().Sub(fi.ModTime()) < quiet {
		rec.ModTime = time.Time{} // too fresh to trust: look at the version next time
	}

	tmp, err := os.CreateTemp(u.tmpDir, "upload-*.db")
	if err != nil {
		return false, fmt.Errorf("upload index table %s: %w", id, err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	v, err := u.local.Snapshot(tf.Tenant, tf.Day, tmp)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil // removed since listed
	}
	if err != nil {
		return false, fmt.Errorf("upload index table %s: %w", id, err)
	}
	rec.Version = v
	if !seen || v != prev.Version {
		size, err := tmp.Seek(0, io.SeekCurrent)
		if err != nil {
			return false, fmt.Errorf("upload index table %s: %w", id, err)
		}
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return false, fmt.Errorf("upload index table %s: %w", id, err)
		}
		if err := u.objects.Put(ctx, key, tmp); err != nil {
			return false, fmt.Errorf("upload index table %s: %w", id, &bucketError{err})
		}
		u.m.uploads.Inc()
		u.m.uploadBytes.Add(float64(size))
		u.logger.Debug("uploaded index table", "key", key, "bytes", size, "txid", v.TxID)
	}
	u.stateMu.Lock()
	u.state[id.String()] = rec
	u.stateMu.Unlock()
	return true, nil
}

// mergeRemote adds the chunks of the shipped table at key, if there is one, to the local table.
// A damaged shipped table is reported and left to be overwritten.
func (u *Uploader) mergeRemote(ctx context.Context, id tableID, key string) error {
	path, err := fetchTable(ctx, u.objects, key, u.tmpDir)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("merge shipped index table %s: %w", key, &bucketError{err})
	}
	defer os.Remove(path)
	t, err := openChecked(path, id)
	if err != nil {
		if errors.Is(err, index.ErrCorrupt) {
			u.m.corruptTables.Inc()
			u.logger.Error("shipped index table is corrupt; replacing it with the local table", "key", key, "err", err)
			return nil
		}
		return fmt.Errorf("merge shipped index table %s: %w", key, err)
	}
	all, err := t.All(ctx)
	if cerr := t.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("merge shipped index table %s: %w", key, err)
	}
	batch := make([]index.SeriesRefs, len(all))
	for i, s := range all {
		batch[i] = index.SeriesRefs{Labels: s.Labels, Refs: s.Chunks}
	}
	if err := u.local.AddBatch(ctx, id.tenant, batch); err != nil {
		return fmt.Errorf("merge shipped index table %s: %w", key, err)
	}
	u.logger.Info("merged previously shipped index table", "key", key, "series", len(all))
	return nil
}

// Covers reports whether the local table of tenant and day holds everything this node shipped
// for it, so a querier need not download this node's copy.
func (u *Uploader) Covers(tenant string, day int64) bool {
	u.stateMu.RLock()
	_, ok := u.state[tableID{tenant, day}.String()]
	u.stateMu.RUnlock()
	if !ok {
		return false
	}
	_, err := os.Stat(index.TablePath(u.local.Dir(), tenant, day))
	return err == nil
}

// fetchTable downloads the object at key into a new file in dir and returns its path.
func fetchTable(ctx context.Context, objects storage.ObjectClient, key, dir string) (string, error) {
	rc, err := objects.Get(ctx, key)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	f, err := os.CreateTemp(dir, "download-*.db")
	if err != nil {
		return "", err
	}
	_, err = io.Copy(f, rc)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("download %s: %w", key, err)
	}
	return f.Name(), nil
}

// openChecked opens the downloaded table at path, checks every page, and checks that it is the
// table of id: a misplaced table would show one tenant's series to another. Failed checks give
// errors wrapping index.ErrCorrupt.
func openChecked(path string, id tableID) (*index.Table, error) {
	t, err := index.OpenTable(path)
	if err != nil {
		return nil, err
	}
	if err := t.Check(); err != nil {
		return nil, errors.Join(err, t.Close())
	}
	if t.Tenant() != id.tenant || t.Day() != id.day {
		err := fmt.Errorf("open shipped table %s: %w: holds tenant %q day %d, its key says %s", path, index.ErrCorrupt, t.Tenant(), t.Day(), id)
		return nil, errors.Join(err, t.Close())
	}
	return t, nil
}

// bucketError marks a failure to talk to the object store, as opposed to a local one.
type bucketError struct{ err error }

func (e *bucketError) Error() string { return e.err.Error() }
func (e *bucketError) Unwrap() error { return e.err }
