// Package sluice assembles the server: it builds every component from a Config, wires them
// together, serves the HTTP API and shuts down in order (stop taking requests, flush, close).
package sluice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sluicelog/sluice/pkg/api"
	"github.com/sluicelog/sluice/pkg/distributor"
	"github.com/sluicelog/sluice/pkg/index"
	"github.com/sluicelog/sluice/pkg/ingester"
	"github.com/sluicelog/sluice/pkg/querier"
	"github.com/sluicelog/sluice/pkg/storage"
	"github.com/sluicelog/sluice/pkg/validation"
)

// Sluice is a running server.
type Sluice struct {
	cfg      *Config
	logger   *slog.Logger
	reg      *prometheus.Registry
	index    *index.Index
	ingester *ingester.Ingester
	server   *http.Server
	listener net.Listener
	ready    atomic.Bool
}

// New builds every component from cfg, replaying the WAL, and binds the HTTP listener.
// Call Run to serve.
func New(cfg *Config, logger *slog.Logger) (*Sluice, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Sluice{cfg: cfg, logger: logger, reg: prometheus.NewRegistry()}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	objects, err := storage.OpenFS(cfg.StorageConfig.Filesystem.Directory)
	if err != nil {
		return nil, err
	}
	s.index, err = index.Open(cfg.StorageConfig.BoltDB.ActiveIndexDirectory, index.Options{})
	if err != nil {
		return nil, fmt.Errorf("open index: %w", err)
	}
	store := storage.NewStore(objects, s.index)
	overrides := validation.NewOverrides(cfg.Limits)
	s.ingester, err = ingester.New(cfg.Ingester, overrides, store, logger.With("component", "ingester"), s.reg)
	if err != nil {
		s.index.Close()
		return nil, err
	}
	dist := distributor.New(overrides, s.ingester, s.reg)
	q := querier.New(s.ingester, store)
	a := api.New(api.Deps{
		Pusher:       dist,
		Reader:       q,
		Engine:       newEngine(q, overrides),
		Flusher:      s.ingester,
		AuthEnabled:  cfg.AuthEnabled,
		MaxPushBytes: int64(cfg.Distributor.MaxRecvMsgSize),
		ConfigYAML:   cfg.YAML,
		Ready: func() error {
			if !s.ready.Load() {
				return errors.New("starting or stopping")
			}
			return nil
		},
		Gatherer: s.reg,
		Registry: s.reg,
		Logger:   logger.With("component", "api"),
	})
	addr := net.JoinHostPort(cfg.Server.HTTPListenAddress, strconv.Itoa(cfg.Server.HTTPListenPort))
	s.listener, err = net.Listen("tcp", addr)
	if err != nil {
		s.ingester.Stop(context.Background())
		s.index.Close()
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	s.server = &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 30 * time.Second,
		ReadTimeout:       cfg.Server.HTTPServerReadTimeout.D(),
		WriteTimeout:      cfg.Server.HTTPServerWriteTimeout.D(),
		IdleTimeout:       cfg.Server.HTTPServerIdleTimeout.D(),
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// Addr is the address the server listens on.
func (s *Sluice) Addr() string { return s.listener.Addr().String() }

// Run serves until ctx is done, then shuts down: it stops taking requests, waits for those in
// flight (up to the graceful shutdown timeout), flushes the ingester and closes the stores.
func (s *Sluice) Run(ctx context.Context) error {
	s.ingester.Start()
	errc := make(chan error, 1)
	go func() { errc <- s.server.Serve(s.listener) }()
	s.ready.Store(true)
	s.logger.Info("sluice is ready", "addr", s.Addr())

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	s.ready.Store(false)
	s.logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.cfg.Server.GracefulShutdownTimeout.D())
	defer cancel()
	errs := []error{}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		errs = append(errs, serveErr)
	}
	if err := s.server.Shutdown(shutdownCtx); err != nil {
		errs = append(errs, fmt.Errorf("http shutdown: %w", err))
	}
	// The flush gets its own deadline: losing the race against the HTTP timeout must not
	// leave chunks unflushed (the WAL would still have them, but a clean stop should not).
	if err := s.ingester.Stop(context.Background()); err != nil {
		errs = append(errs, fmt.Errorf("stop ingester: %w", err))
	}
	if err := s.index.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close index: %w", err))
	}
	return errors.Join(errs...)
}

// NewLogger returns the server's logger at the configured level.
func NewLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}
