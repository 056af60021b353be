package sluice

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/sluicelog/sluice/pkg/compactor"
	"github.com/sluicelog/sluice/pkg/compactor/deletion"
)

// deleteSyncTimeout bounds the load of the delete requests from the object store at start; if
// the store is away longer, the module starts anyway and its runner keeps trying.
const deleteSyncTimeout = 10 * time.Second

// initCompactor opens the delete requests, adds the deletion API to the routes and the
// compactor's loop to the runners: it applies retention and deletes (when retention_enabled)
// every compaction_interval. It runs before the querier module, which hides deleted lines
// through s.deletes.
//
// The compactor owns the delete requests: they live in the object store, under
// delete_request_store_key_prefix, where each change is uploaded before the API accepts it;
// the bbolt file in the working directory is its working copy. At start the object store's
// copy wins over the local one (a new disk, or a stale one, finds every request again).
func (s *Sluice) initCompactor() error {
	cfg := s.cfg.Compactor
	logger := s.logger.With("component", "compactor")
	deletes, err := deletion.OpenOwner(filepath.Join(cfg.WorkingDirectory, "deletion"), deletion.Shared{
		Bucket:     s.objects,
		Key:        deletion.ObjectKey(cfg.DeleteRequestStoreKeyPrefix),
		Logger:     logger,
		Registerer: s.reg,
	})
	if err != nil {
		return err
	}
	s.onStop("delete requests", func(context.Context) error { return deletes.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), deleteSyncTimeout)
	if err := deletes.Sync(ctx); err != nil {
		logger.Error("load delete requests from the object store; new requests and cancellations are refused, and none is applied, until it succeeds", "err", err)
	}
	cancel()
	s.runners = append(s.runners, func(ctx context.Context) { deletes.Run(ctx, deletion.SyncRetry) })
	s.deletes = deletes
	h := deletion.NewHandler(deletes, cfg.DeleteRequestCancelPeriod.D(), nil, logger, s.reg)
	for _, r := range h.Routes() {
		s.routes = append(s.routes, route{pattern: r.Pattern, handler: r.Handler, tenantScoped: true})
	}
	deps := compactor.Deps{
		Index: s.index, Objects: s.objects, Chunks: s.store, Limits: s.overrides,
		Deletes: deletes, Logger: logger, Registerer: s.reg,
	}
	if _, useS3 := s.cfg.objectStore(); useS3 {
		// The shipper is active (see initStore): merge the shipped tables too, and keep chunks
		// other nodes' shipped tables reference.
		deps.Shipped = s.objects
	}
	c, err := compactor.New(cfg, deps)
	if err != nil {
		return fmt.Errorf("new compactor: %w", err)
	}
	s.runners = append(s.runners, c.Run)
	return nil
}

// initDeleteReplica, in a process that runs a querier but not the compactor, loads the
// compactor's delete requests from the object store and reloads them every
// delete_request_store_refresh_interval, so that queries hide deleted lines. Until the first
// load succeeds, log queries fail (503) rather than show deleted lines.
func (s *Sluice) initDeleteReplica() error {
	cfg := s.cfg.Compactor
	logger := s.logger.With("component", "delete-requests")
	deletes := deletion.NewReplica(deletion.Shared{
		Bucket:     s.objects,
		Key:        deletion.ObjectKey(cfg.DeleteRequestStoreKeyPrefix),
		Logger:     logger,
		Registerer: s.reg,
	})
	ctx, cancel := context.WithTimeout(context.Background(), deleteSyncTimeout)
	if err := deletes.Sync(ctx); err != nil {
		logger.Error("load delete requests from the object store; log queries fail until it succeeds", "err", err)
	}
	cancel()
	interval := cfg.DeleteRequestStoreRefreshInterval.D()
	s.runners = append(s.runners, func(ctx context.Context) { deletes.Run(ctx, interval) })
	s.deletes = deletes
	return nil
}
