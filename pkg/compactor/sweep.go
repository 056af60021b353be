package compactor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/sluicelog/sluice/pkg/index"
	"github.com/sluicelog/sluice/pkg/storage"
)

// Sweep deletes the chunk objects of every marker older than retention_delete_delay, then the
// marker. A chunk some index table still references is kept (a crash between writing a marker
// and removing its index entries leaves such keys; the next run marks them again). A marker
// whose deletes failed is kept and retried at the next sweep; deleting a missing object is fine.
func (c *Compactor) Sweep(ctx context.Context) error {
	c.sweepMu.Lock()
	defer c.sweepMu.Unlock()
	ms, err := listMarkers(c.markers)
	if err != nil {
		c.m.errors.WithLabelValues("sweep").Inc()
		return err
	}
	c.m.markerFiles.Set(float64(len(ms)))
	cutoff := c.d.Now().Add(-c.cfg.RetentionDeleteDelay.D())
	var shipped *shippedRefs
	if c.d.Shipped != nil {
		if shipped, err = c.newShippedRefs(); err != nil {
			return err
		}
		defer shipped.close()
	}
	var errs []error
	for _, mk := range ms {
		if mk.created.After(cutoff) {
			break // markers are sorted oldest first
		}
		if err := c.sweepMarker(ctx, mk, shipped); err != nil {
			c.m.errors.WithLabelValues("sweep").Inc()
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		c.m.markerFiles.Dec()
	}
	return errors.Join(errs...)
}

// sweepMarker deletes the unreferenced objects of one marker with up to
// retention_delete_worker_count workers, then removes the marker.
func (c *Compactor) sweepMarker(ctx context.Context, mk marker, shipped *shippedRefs) error {
	keys, err := readMarker(mk.path)
	if err != nil {
		return err
	}
	work := make(chan string)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for range min(c.cfg.RetentionDeleteWorkerCount, max(len(keys), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for key := range work {
				if err := c.sweepKey(ctx, key, shipped); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	for _, k := range keys {
		if ctx.Err() != nil {
			break
		}
		work <- k
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("sweep marker %s: %w", mk.path, errors.Join(errs...))
	}
	if err := os.Remove(mk.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove swept marker: %w", err)
	}
	return nil
}

// sweepKey deletes one chunk object unless the index, or with shipped a shipped table of one
// of the chunk's days, still references it.
func (c *Compactor) sweepKey(ctx context.Context, key string, shipped *shippedRefs) error {
	ref, err := index.ParseKey(key)
	if err != nil {
		// Not a chunk key: nothing we wrote; never delete what we cannot check.
		c.d.Logger.Warn("marker holds a key that is not a chunk key; skipped", "key", key, "err", err)
		return nil
	}
	referenced, err := c.d.Index.HasChunk(ctx, ref.Tenant, ref)
	if err != nil {
		return fmt.Errorf("check chunk %s: %w", key, err)
	}
	if !referenced && shipped != nil {
		if referenced, err = shipped.has(ctx, ref); err != nil {
			return fmt.Errorf("check chunk %s in shipped tables: %w", key, err)
		}
	}
	if referenced {
		c.m.skippedReferenced.Inc()
		c.d.Logger.Info("marked chunk is still referenced by the index; kept", "key", key)
		return nil
	}
	if err := c.d.Objects.Delete(ctx, key); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("delete chunk %s: %w", key, err)
	}
	c.m.swept.Inc()
	return nil
}
