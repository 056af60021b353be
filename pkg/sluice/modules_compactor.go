package sluice

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/sluicelog/sluice/pkg/compactor"
	"github.com/sluicelog/sluice/pkg/compactor/deletion"
)

// initCompactor opens the delete requests, adds the deletion API to the routes and the
// compactor's loop to the runners: it applies retention and deletes (when retention_enabled)
// every compaction_interval. It runs before the querier module, which hides deleted lines
// through s.deletes.
func (s *Sluice) initCompactor() error {
	cfg := s.cfg.Compactor
	logger := s.logger.With("component", "compactor")
	deletes, err := deletion.Open(filepath.Join(cfg.WorkingDirectory, "deletion"), nil)
	if err != nil {
		return err
	}
	s.onStop("delete requests", func(context.Context) error { return deletes.Close() })
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
