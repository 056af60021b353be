package shipper

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicelog/sluice/pkg/index"
	"github.com/sluicelog/sluice/pkg/storage"
)

// Shipper uploads the local index tables and downloads the shipped ones; its Index answers
// queries over both.
type Shipper struct {
	cfg    Config
	local  *index.Index
	up     *Uploader
	down   *Downloads
	logger *slog.Logger

	stop chan struct{}
	wg   sync.WaitGroup
}

// New returns a Shipper of the tables of local through objects. Call Start to run its loops and
// Stop to end them (with a last upload).
func New(cfg Config, local *index.Index, objects storage.ObjectClient, logger *slog.Logger, reg prometheus.Registerer) (*Shipper, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := newMetrics(reg)
	up, err := newUploader(cfg.IngesterName, local, objects, filepath.Join(cfg.CacheLocation, "tmp"), logger, m)
	if err != nil {
		return nil, err
	}
	name := cfg.IngesterName
	skip := func(s shipped) bool { return s.name == name && up.Covers(s.tenant, s.day) }
	down, err := newDownloads(objects, cfg.CacheLocation, cfg.ResyncInterval.D(), cfg.CacheTTL.D(), skip, logger, m)
	if err != nil {
		return nil, err
	}
	return &Shipper{cfg: cfg, local: local, up: up, down: down, logger: logger, stop: make(chan struct{})}, nil
}

// Index returns the index the chunk store should read: the local tables and the shipped ones.
func (s *Shipper) Index() storage.IndexReader { return storage.Union(s.local, s.down) }

// Uploader returns the write side.
func (s *Shipper) Uploader() *Uploader { return s.up }

// Downloads returns the read side.
func (s *Shipper) Downloads() *Downloads { return s.down }

// Start runs the upload loop (every UploadInterval) and the sync loop (at once, then every
// ResyncInterval) until Stop.
func (s *Shipper) Start() {
	s.loop(s.cfg.UploadInterval.D(), false, func(ctx context.Context) {
		if err := s.up.Upload(ctx); err != nil {
			s.logger.Warn("upload index tables; will retry", "err", err)
		}
	})
	s.loop(s.cfg.ResyncInterval.D(), true, func(ctx context.Context) {
		if err := s.down.Sync(ctx); err != nil {
			s.logger.Warn("sync shipped index tables; will retry", "err", err)
		}
	})
}

// loop calls fn every period (and at once when now) until Stop; Stop cancels a running call.
func (s *Shipper) loop(period time.Duration, now bool, fn func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		<-s.stop
		cancel()
	}()
	go func() {
		defer s.wg.Done()
		if now {
			fn(ctx)
		}
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				fn(ctx)
			}
		}
	}()
}

// Stop ends the loops, uploads what changed one last time and closes the downloaded tables.
// Call it after the last write to the local index and before closing it.
func (s *Shipper) Stop(ctx context.Context) error {
	close(s.stop)
	s.wg.Wait()
	err := s.up.Upload(ctx)
	return errors.Join(err, s.down.Close())
}
