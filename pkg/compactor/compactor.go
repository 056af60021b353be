package compactor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/compactor/deletion"
	"github.com/sluicelog/sluice/pkg/index"
	"github.com/sluicelog/sluice/pkg/storage"
	"github.com/sluicelog/sluice/pkg/validation"
)

// Objects is what the compactor asks of the object store: read a chunk to rewrite it, delete
// one that is no longer referenced.
type Objects interface {
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	Delete(ctx context.Context, key string) error
}

// ChunkWriter stores a rewritten chunk: its object, then its index entries (storage.Store).
type ChunkWriter interface {
	PutChunk(ctx context.Context, c *storage.Chunk) error
}

// Limits gives the retention limits of a tenant (validation.Overrides).
type Limits interface {
	For(tenant string) *validation.Limits
	Defaults() *validation.Limits
}

// Deps are what a Compactor works on.
type Deps struct {
	Index   *index.Index
	Objects Objects
	Chunks  ChunkWriter
	Limits  Limits
	// Deletes holds the delete requests; nil means no deletion.
	Deletes *deletion.Store
	// Shipped is the object store the index shipper uploads tables to, when it is active (S3).
	// With it, each run also merges the shipped tables of every tenant and day into one and
	// applies retention and deletes to it, and the sweeper keeps chunks a shipped table still
	// references. Nil means the tables are local only.
	Shipped storage.ObjectClient
	Logger  *slog.Logger
	// Registerer gets the loki_compactor_* metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Now is the clock; nil means time.Now. Tests pass a manual clock.
	Now func() time.Time
}

// Compactor applies retention and delete requests; see the package documentation.
type Compactor struct {
	cfg     Config
	d       Deps
	markers string
	m       *metrics

	// mu keeps a compaction run and a sweep from running at the same time as another of the
	// same kind (the loop and a test calling RunOnce, say).
	runMu   sync.Mutex
	sweepMu sync.Mutex
}

// New returns a compactor; it creates the working directory. Call Run to start its loop, or
// RunOnce and Sweep to drive it by hand.
func New(cfg Config, d Deps) (*Compactor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Index == nil || d.Objects == nil || d.Chunks == nil || d.Limits == nil {
		return nil, errors.New("new compactor: index, objects, chunk writer and limits are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Deletes != nil {
		// The deletion API over the same requests refuses tenants whose deletion_mode is
		// disabled.
		d.Deletes.SetLimits(d.Limits)
	}
	c := &Compactor{cfg: cfg, d: d, markers: markerDir(cfg.WorkingDirectory), m: newMetrics(d.Registerer)}
	if err := os.MkdirAll(c.markers, 0o750); err != nil {
		return nil, fmt.Errorf("new compactor: %w", err)
	}
	return c, nil
}

// Run applies retention and deletes every compaction interval, starting at once, and sweeps
// marked chunks every minute (or every interval, if shorter), until ctx is done.
func (c *Compactor) Run(ctx context.Context) {
	c.m.running.Set(1)
	defer c.m.running.Set(0)
	interval := c.cfg.CompactionInterval.D()
	compact := time.NewTicker(interval)
	defer compact.Stop()
	sweep := time.NewTicker(min(interval, time.Minute))
	defer sweep.Stop()
	c.runLogged(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-compact.C:
			c.runLogged(ctx)
		case <-sweep.C:
			if err := c.Sweep(ctx); err != nil && ctx.Err() == nil {
				c.d.Logger.Error("sweep marked chunks", "err", err)
			}
		}
	}
}

func (c *Compactor) runLogged(ctx context.Context) {
	if err := c.RunOnce(ctx); err != nil && ctx.Err() == nil {
		c.d.Logger.Error("compaction run", "err", err)
	}
	if err := c.Sweep(ctx); err != nil && ctx.Err() == nil {
		c.d.Logger.Error("sweep marked chunks", "err", err)
	}
}

// RunOnce makes one pass over every index table, dropping expired chunks and applying the
// delete requests whose cancel period is over, then marks those requests processed. With
// Deps.Shipped it also merges the shipped tables of each tenant and day into one (see
// shipped.go). Without retention_enabled it only merges shipped tables, dropping nothing, and
// without Deps.Shipped either it does nothing. An error on one table does not stop the others;
// the requests of a tenant with a failed table stay pending for the next run.
func (c *Compactor) RunOnce(ctx context.Context) error {
	if !c.cfg.RetentionEnabled && c.d.Shipped == nil {
		return nil
	}
	c.runMu.Lock()
	defer c.runMu.Unlock()
	err := c.runOnce(ctx)
	status := "success"
	if err != nil {
		status = "failure"
	} else {
		c.m.lastSuccess.Set(float64(c.d.Now().UnixNano()) / 1e9)
	}
	c.m.runs.WithLabelValues(status).Inc()
	return err
}

func (c *Compactor) runOnce(ctx context.Context) error {
	now := c.d.Now()
	var requests map[string][]*deletion.Request
	if c.cfg.RetentionEnabled && c.d.Deletes != nil {
		requests = c.d.Deletes.Ready(now.Add(-c.cfg.DeleteRequestCancelPeriod.D()))
		for tenant := range requests {
			// With deletion_mode filter-only (or disabled) a request only hides its lines
			// from queries: it is never applied, and stays received, as in Loki.
			if !c.d.Limits.For(tenant).DeletesFromStorage() {
				delete(requests, tenant)
			}
		}
		pending := 0
		for _, rs := range requests {
			pending += len(rs)
		}
		c.m.pendingRequests.Set(float64(pending))
	}
	var tables []index.TableFile
	if c.cfg.RetentionEnabled {
		var err error
		if tables, err = index.ListTables(c.d.Index.Dir()); err != nil {
			return err
		}
	}
	var errs []error
	failed := map[string]bool{}
	for _, tf := range tables {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := c.compactTable(ctx, now, tf.Tenant, tf.Day, requests[tf.Tenant]); err != nil {
			c.m.errors.WithLabelValues("table").Inc()
			errs = append(errs, fmt.Errorf("tenant %s day %d: %w", tf.Tenant, tf.Day, err))
			failed[tf.Tenant] = true
		}
	}
	if c.d.Shipped != nil {
		if err := ctx.Err(); err != nil {
			return err
		}
		errs = append(errs, c.compactShipped(ctx, now, requests, failed)...)
	}
	for tenant, rs := range requests {
		if failed[tenant] {
			continue
		}
		for _, r := range rs {
			if err := c.d.Deletes.MarkProcessed(ctx, tenant, r.RequestID); err != nil {
				errs = append(errs, err)
				continue
			}
			c.m.requestsProcessed.WithLabelValues(tenant).Inc()
			c.d.Logger.Info("delete request processed", "delete_request_id", r.RequestID, "user", tenant)
		}
	}
	return errors.Join(errs...)
}

// compactTable applies retention and the delete requests reqs to one table.
func (c *Compactor) compactTable(ctx context.Context, now time.Time, tenant string, day int64, reqs []*deletion.Request) error {
	series, err := c.d.Index.TableChunks(ctx, tenant, day)
	if err != nil {
		return err
	}
	_, err = c.apply(ctx, c.d.Index, tenant, c.plan(now, tenant, series, reqs))
	return err
}

// apply carries out the plan p of one table of ix: it rewrites the partly deleted chunks, then
// marks and removes from ix the chunks to drop. It returns the dropped chunks.
func (c *Compactor) apply(ctx context.Context, ix *index.Index, tenant string, p tablePlan) ([]index.SeriesRefs, error) {
	drop := p.drop
	for _, rw := range p.rewrite {
		gone, err := c.rewrite(ctx, tenant, rw)
		if err != nil {
			return nil, err
		}
		if gone {
			drop = appendRef(drop, rw.lbls, rw.ref)
			p.covered++
		}
	}
	if err := c.markAndRemove(ctx, ix, tenant, drop); err != nil {
		return nil, err
	}
	c.m.deletedChunks.WithLabelValues("retention").Add(float64(p.expired))
	c.m.deletedChunks.WithLabelValues("delete_request").Add(float64(p.covered))
	return drop, nil
}

// markAndRemove writes a marker for the chunks of drop, then removes their entries from ix.
func (c *Compactor) markAndRemove(ctx context.Context, ix *index.Index, tenant string, drop []index.SeriesRefs) error {
	var keys []string
	for _, s := range drop {
		for _, r := range s.Refs {
			r.Tenant = tenant
			keys = append(keys, r.Key())
		}
	}
	if len(keys) == 0 {
		return nil
	}
	if _, err := writeMarker(c.markers, c.d.Now(), keys); err != nil {
		return err
	}
	c.m.marked.Add(float64(len(keys)))
	if _, err := ix.RemoveChunks(ctx, tenant, drop); err != nil {
		return err
	}
	return nil
}

// appendRef adds ref of the series lbls to drop, grouping refs by series.
func appendRef(drop []index.SeriesRefs, lbls labels.Labels, ref index.ChunkRef) []index.SeriesRefs {
	if n := len(drop); n > 0 && labels.Equal(drop[n-1].Labels, lbls) {
		drop[n-1].Refs = append(drop[n-1].Refs, ref)
		return drop
	}
	return append(drop, index.SeriesRefs{Labels: lbls, Refs: []index.ChunkRef{ref}})
}
