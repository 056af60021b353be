package compactor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sluicelog/sluice/pkg/compactor/deletion"
	"github.com/sluicelog/sluice/pkg/index"
	"github.com/sluicelog/sluice/pkg/storage"
	"github.com/sluicelog/sluice/pkg/storage/shipper"
)

// This file is the compaction pass over the shipped tables (Deps.Shipped). Every ingester
// uploads its own table of a tenant and day to index/<day>/<tenant>/<ingester>.db; the pass
// merges all the files of one tenant and day into one, applies retention and deletes to the
// merged table, uploads it as index/<day>/<tenant>/compactor-<unix ns>.db and only then deletes
// the files it merged. Queriers read every file of a day and de-duplicate, so:
//
//   - a crash before the upload leaves the sources as they were (and perhaps a marker whose
//     chunks the sources still reference: the sweeper keeps those);
//   - a crash after the upload, before or during the deletes, leaves the merged table beside
//     some sources: the same chunks twice, which the next run merges again;
//   - a file uploaded after the listing is not among the sources, so it is never deleted.

// shippedDir is the directory, under the working directory, of the tables being merged.
func shippedDir(workDir string) string { return filepath.Join(workDir, "shipped") }

// compactShipped merges the shipped tables of every tenant and day. It records the tenants with
// a failed table in failed and returns the errors.
func (c *Compactor) compactShipped(ctx context.Context, now time.Time, requests map[string][]*deletion.Request, failed map[string]bool) []error {
	dir := shippedDir(c.cfg.WorkingDirectory)
	// Leftovers of a crashed run are of no use: every run downloads afresh.
	if err := os.RemoveAll(dir); err != nil {
		return []error{fmt.Errorf("clear shipped tables directory: %w", err)}
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return []error{fmt.Errorf("create shipped tables directory: %w", err)}
	}
	all, err := shipper.ListShipped(ctx, c.d.Shipped, "", 0)
	if err != nil {
		c.m.errors.WithLabelValues("shipped_table").Inc()
		// Without the list nothing of any tenant was handled: keep every request pending.
		for tenant := range requests {
			failed[tenant] = true
		}
		return []error{err}
	}
	type group struct {
		tenant string
		day    int64
	}
	groups := map[group][]shipper.Shipped{}
	var order []group
	for _, s := range all {
		g := group{s.Tenant, s.Day}
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], s)
	}
	var errs []error
	for _, g := range order {
		if err := ctx.Err(); err != nil {
			return append(errs, err)
		}
		if err := c.compactShippedTable(ctx, now, dir, groups[g], requests[g.tenant]); err != nil {
			c.m.errors.WithLabelValues("shipped_table").Inc()
			errs = append(errs, fmt.Errorf("shipped tables of tenant %s day %d: %w", g.tenant, g.day, err))
			failed[g.tenant] = true
		}
	}
	return errs
}

// compactShippedTable merges the shipped files of one tenant and day (all listed before the
// call), applies the plan to the merged table, uploads it and deletes the files it merged.
func (c *Compactor) compactShippedTable(ctx context.Context, now time.Time, workDir string, files []shipper.Shipped, reqs []*deletion.Request) error {
	tenant, day := files[0].Tenant, files[0].Day
	dir, err := os.MkdirTemp(workDir, "merge-*")
	if err != nil {
		return fmt.Errorf("merge shipped tables: %w", err)
	}
	defer os.RemoveAll(dir)

	batch, sources, err := c.readShipped(ctx, dir, files)
	if err != nil {
		return err
	}
	if len(sources) == 0 {
		return nil
	}
	merged, err := index.Open(filepath.Join(dir, "merged"), index.Options{NoSync: true, IdleTimeout: -1})
	if err != nil {
		return fmt.Errorf("merge shipped tables: %w", err)
	}
	defer merged.Close()
	if err := merged.AddBatch(ctx, tenant, batch); err != nil {
		return fmt.Errorf("merge shipped tables: %w", err)
	}
	series, err := merged.TableChunks(ctx, tenant, day)
	if err != nil {
		return fmt.Errorf("read merged table: %w", err)
	}
	var drop []index.SeriesRefs
	if c.cfg.RetentionEnabled {
		if drop, err = c.apply(ctx, merged, tenant, c.plan(now, tenant, series, reqs)); err != nil {
			return err
		}
	}
	if len(sources) == 1 && len(drop) == 0 {
		return nil // one file and nothing to change: merging would only rename it
	}
	left, err := merged.TableChunks(ctx, tenant, day)
	if err != nil {
		return fmt.Errorf("read merged table: %w", err)
	}
	if len(left) > 0 {
		if err := c.uploadMerged(ctx, merged, dir, tenant, day, files); err != nil {
			return err
		}
	}
	// The merged table is in the bucket (or nothing was left to keep): the sources may go.
	var errs []error
	for _, s := range sources {
		if err := c.d.Shipped.Delete(ctx, s.Key); err != nil && !errors.Is(err, storage.ErrNotFound) {
			errs = append(errs, fmt.Errorf("delete merged shipped table %s: %w", s.Key, err))
		}
	}
	return errors.Join(errs...)
}

// readShipped downloads files into dir and returns their series as one batch, and the files
// read. A file deleted since it was listed is skipped; so is a damaged one, which is reported
// and left in place (it is not deleted, since its content was not merged).
func (c *Compactor) readShipped(ctx context.Context, dir string, files []shipper.Shipped) ([]index.SeriesRefs, []shipper.Shipped, error) {
	var (
		batch   []index.SeriesRefs
		sources []shipper.Shipped
	)
	for _, s := range files {
		all, err := c.readShippedFile(ctx, dir, s)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if errors.Is(err, index.ErrCorrupt) {
			c.m.errors.WithLabelValues("corrupt_table").Inc()
			c.d.Logger.Error("shipped index table is corrupt; not merged", "key", s.Key, "err", err)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		for _, sc := range all {
			batch = append(batch, index.SeriesRefs{Labels: sc.Labels, Refs: sc.Chunks})
		}
		sources = append(sources, s)
	}
	return batch, sources, nil
}

// readShippedFile downloads one shipped table and returns all its series.
func (c *Compactor) readShippedFile(ctx context.Context, dir string, s shipper.Shipped) ([]index.SeriesChunks, error) {
	t, err := shipper.FetchShipped(ctx, c.d.Shipped, s, dir)
	if err != nil {
		return nil, err
	}
	all, err := t.All(ctx)
	err = errors.Join(err, t.Close(), os.Remove(t.Path()))
	if err != nil {
		return nil, fmt.Errorf("read shipped index table %s: %w", s.Key, err)
	}
	return all, nil
}

// uploadMerged uploads the merged table of tenant and day under a compacted name no listed file
// has.
func (c *Compactor) uploadMerged(ctx context.Context, merged *index.Index, dir, tenant string, day int64, listed []shipper.Shipped) error {
	f, err := os.CreateTemp(dir, "upload-*.db")
	if err != nil {
		return fmt.Errorf("upload merged table: %w", err)
	}
	defer f.Close()
	if _, err := merged.Snapshot(tenant, day, f); err != nil {
		return fmt.Errorf("upload merged table: %w", err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		return fmt.Errorf("upload merged table: %w", err)
	}
	key := compactedKey(day, tenant, c.d.Now(), listed)
	if err := c.d.Shipped.Put(ctx, key, f); err != nil {
		return fmt.Errorf("upload merged table %s: %w", key, err)
	}
	c.m.shippedMerged.Inc()
	c.d.Logger.Info("uploaded merged index table", "key", key)
	return nil
}

// compactedKey returns the key of a table merged at now, moved on by a nanosecond while a listed
// file has it (a clock that did not move since the last run), so that the upload never
// replaces a file about to be deleted.
func compactedKey(day int64, tenant string, now time.Time, listed []shipper.Shipped) string {
	for {
		key := shipper.CompactedKey(day, tenant, now)
		taken := false
		for _, s := range listed {
			taken = taken || s.Key == key
		}
		if !taken {
			return key
		}
		now = now.Add(time.Nanosecond)
	}
}
