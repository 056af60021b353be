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
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sluicelog/sluice/pkg/api"
	"github.com/sluicelog/sluice/pkg/compactor/deletion"
	"github.com/sluicelog/sluice/pkg/distributor"
	"github.com/sluicelog/sluice/pkg/index"
	"github.com/sluicelog/sluice/pkg/ingester"
	"github.com/sluicelog/sluice/pkg/push/otlp"
	"github.com/sluicelog/sluice/pkg/querier"
	"github.com/sluicelog/sluice/pkg/storage"
	"github.com/sluicelog/sluice/pkg/tail"
	"github.com/sluicelog/sluice/pkg/validation"
)

// Sluice is a running server.
//
// New builds the modules the target names (see target.go) in dependency order, each in its own
// file (modules_*.go): the store (object store, index, chunk store), the ingester, the
// compactor or the delete requests' replica, the querier and engine, then the API. A module
// that needs shutting down appends to stoppers, which Run calls in reverse order.
type Sluice struct {
	cfg       *Config
	modules   moduleSet
	logger    *slog.Logger
	reg       *prometheus.Registry
	overrides *validation.Overrides

	objects storage.ObjectClient
	index   *index.Index
	store   *storage.Store
	// ingester and querier are nil when the target does not run them.
	ingester *ingester.Ingester
	querier  *querier.Querier
	// engine answers LogQL queries for the API; modules may wrap it (the query frontend).
	engine api.Engine
	api    *api.API
	// deletes are the delete requests: the compactor's own store, or in a process that runs a
	// querier but not the compactor, a replica of it read from the object store. The querier
	// hides their lines.
	deletes *deletion.Store

	server   *http.Server
	listener net.Listener
	ready    atomic.Bool
	stoppers []stopper
	// runners are modules' background loops, run from Run until shutdown.
	runners []func(ctx context.Context)
	// routes are HTTP routes of modules other than the API, registered by initAPI.
	routes []route
}

type route struct {
	pattern      string
	handler      http.Handler
	tenantScoped bool
}

// stopper is a module's shutdown step.
type stopper struct {
	name string
	stop func(ctx context.Context) error
}

func (s *Sluice) onStop(name string, stop func(ctx context.Context) error) {
	s.stoppers = append(s.stoppers, stopper{name, stop})
}

// stopAll runs the stoppers in reverse order of registration.
func (s *Sluice) stopAll(ctx context.Context) error {
	var errs []error
	for i := len(s.stoppers) - 1; i >= 0; i-- {
		st := s.stoppers[i]
		if err := st.stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", st.name, err))
		}
	}
	s.stoppers = nil
	return errors.Join(errs...)
}

// New builds the components of cfg's target, replaying the WAL, and binds the HTTP listener.
// Call Run to serve.
func New(cfg *Config, logger *slog.Logger) (*Sluice, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := cfg.validateTarget(); err != nil {
		return nil, err
	}
	mods, err := parseTarget(cfg.Target)
	if err != nil {
		return nil, err
	}
	for _, ignored := range cfg.IgnoredLokiSettings() {
		setting, reason, _ := strings.Cut(ignored, ": ")
		logger.Warn("ignoring a Loki setting", "setting", setting, "reason", reason)
	}
	warnIgnoredLimits(logger, "limits_config.", &cfg.Limits)
	// Settled here, as it depends on the target, and kept in cfg, so that /config shows it.
	cfg.Ingester.ChunkRetainPeriod = cfg.chunkRetainPeriod(mods)
	s := &Sluice{cfg: cfg, modules: mods, logger: logger, reg: prometheus.NewRegistry(), overrides: validation.NewOverrides(cfg.Limits)}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	unlock, err := lockDataDir(cfg.Common.PathPrefix)
	if err != nil {
		return nil, err
	}
	// Registered first, so released last.
	s.onStop("data directory lock", func(context.Context) error { return unlock() })
	for _, m := range []struct {
		name string
		init func() error
		run  bool
	}{
		{"runtime-config", s.initRuntimeConfig, true},
		{"store", s.initStore, true},
		{Ingester, s.initIngester, mods.Has(Ingester)},
		{Compactor, s.initCompactor, mods.Has(Compactor)},
		{"delete-requests", s.initDeleteReplica, mods.Has(Querier) && !mods.Has(Compactor)},
		{Querier, s.initQuerier, mods.Has(Querier)},
		{"api", s.initAPI, true},
	} {
		if !m.run {
			continue
		}
		if err := m.init(); err != nil {
			return nil, errors.Join(fmt.Errorf("init %s: %w", m.name, err), s.stopAll(context.Background()))
		}
	}
	// The runtime overrides loaded at start (later reloads are not logged here).
	for _, id := range s.overrides.Tenants() {
		warnIgnoredLimits(logger, "overrides."+id+".", s.overrides.For(id))
	}
	return s, nil
}

// warnIgnoredLimits logs the Loki limits of l that Sluice ignores, prefix naming where they are.
func warnIgnoredLimits(logger *slog.Logger, prefix string, l *validation.Limits) {
	for _, ignored := range l.IgnoredLokiSettings() {
		setting, reason, _ := strings.Cut(ignored, ": ")
		logger.Warn("ignoring a Loki setting", "setting", prefix+setting, "reason", reason)
	}
}

func (s *Sluice) initIngester() error {
	ing, err := ingester.New(s.cfg.Ingester, s.overrides, s.store, s.logger.With("component", "ingester"), s.reg)
	if err != nil {
		return err
	}
	s.ingester = ing
	if delay := s.cfg.indexShippingDelay(); !s.modules.Has(Querier) && s.cfg.Ingester.ChunkRetainPeriod.D() < delay {
		s.logger.Warn("ingester.chunk_retain_period is shorter than boltdb_shipper.upload_interval plus resync_interval: read processes may miss lines for a while after their chunk is flushed",
			"chunk_retain_period", s.cfg.Ingester.ChunkRetainPeriod, "upload_plus_resync", delay)
	}
	// The ingester's Stop flushes; it is started in Run.
	s.onStop("ingester", ing.Stop)
	return nil
}

// initQuerier builds the querier (over the ingester of this process if it runs one, else the
// remote ingesters configured, and the store) and the engine, with the query frontend in front
// when the target runs it.
func (s *Sluice) initQuerier() error {
	var ings querier.Ingesters
	switch {
	case s.ingester != nil:
		ings = querier.Local{Ingester: s.ingester}
	case len(s.cfg.Querier.IngesterAddresses) > 0:
		remote, err := querier.NewRemote(s.cfg.Querier.IngesterAddresses, s.cfg.Querier.QueryIngestersWithin.D())
		if err != nil {
			return fmt.Errorf("querier.ingester_addresses: %w", err)
		}
		ings = remote
	default:
		s.logger.Warn("querier.ingester_addresses is empty: queries see only lines the ingesters have flushed to the store, up to ingester.max_chunk_age late")
	}
	s.querier = querier.New(ings, s.store)
	s.querier.SetLimits(s.overrides)
	s.engine = newEngine(querier.WithDeletes(s.querier, s.deletes), s.overrides)
	if s.modules.Has(QueryFrontend) {
		s.engine = s.newFrontend(s.engine)
	}
	return nil
}

// otlpConfig is how the OTLP endpoint maps tenant's pushes: its limits (reloadable) and the
// distributor's default index labels.
func (s *Sluice) otlpConfig(tenant string) otlp.Config {
	l := s.overrides.For(tenant)
	return otlp.Config{
		OTLP:                &l.OTLPConfig,
		DefaultIndexLabels:  s.cfg.Distributor.OTLPConfig.DefaultResourceAttributesAsIndexLabels,
		DiscoverServiceName: l.DiscoverServiceName,
	}
}

// initAPI serves the routes of the modules this process runs, and the operational ones.
func (s *Sluice) initAPI() error {
	deps := api.Deps{
		AuthEnabled:  s.cfg.AuthEnabled,
		MaxPushBytes: int64(s.cfg.Distributor.MaxRecvMsgSize),
		ConfigYAML:   s.cfg.YAML,
		Ready: func() error {
			if !s.ready.Load() {
				return errors.New("starting or stopping")
			}
			return nil
		},
		Gatherer: s.reg,
		Registry: s.reg,
		Limits:   s.overrides,
		Logger:   s.logger.With("component", "api"),
		Services: s.services(),
	}
	// The target's validation keeps a distributor and an ingester together.
	if s.ingester != nil {
		deps.Pusher = distributor.New(s.overrides, s.ingester, s.reg)
		deps.OTLP = s.otlpConfig
		deps.Flusher = s.ingester
		deps.Ingester = s.ingester
	}
	var tails *tail.Registry
	if s.querier != nil {
		deps.Reader = s.querier
		deps.Engine = s.engine
		// Live tails see the pushes of this process's ingester; a querier without one has
		// nothing to tail.
		if s.ingester != nil {
			tcfg := s.cfg.Querier.Config
			tcfg.TenantLimit = func(tenant string) int { return s.overrides.For(tenant).MaxConcurrentTailRequests }
			tails = tail.New(tcfg, s.reg)
			s.ingester.SetTailer(tails)
			deps.Tailer = tails
		}
	}
	s.api = api.New(deps)
	for _, r := range s.routes {
		s.api.Handle(r.pattern, r.handler, r.tenantScoped)
	}
	addr := net.JoinHostPort(s.cfg.Server.HTTPListenAddress, strconv.Itoa(s.cfg.Server.HTTPListenPort))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	s.listener = l
	s.server = &http.Server{
		Handler:           s.api.Handler(),
		ReadHeaderTimeout: 30 * time.Second,
		ReadTimeout:       s.cfg.Server.HTTPServerReadTimeout.D(),
		WriteTimeout:      s.cfg.Server.HTTPServerWriteTimeout.D(),
		IdleTimeout:       s.cfg.Server.HTTPServerIdleTimeout.D(),
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	if tails != nil {
		s.server.RegisterOnShutdown(tails.Close) // hijacked tail connections are not tracked by Shutdown
	}
	return nil
}

// services are the names /services lists: the target's modules and those every process runs.
func (s *Sluice) services() []string {
	names := append(s.modules.Names(), "runtime-config", "server", "store")
	slices.Sort(names)
	return names
}

// Addr is the address the server listens on.
func (s *Sluice) Addr() string { return s.listener.Addr().String() }

// Run serves until ctx is done, then shuts down: it stops taking requests, waits for those in
// flight (up to the graceful shutdown timeout), flushes the ingester and closes the stores.
func (s *Sluice) Run(ctx context.Context) error {
	if s.ingester != nil {
		s.ingester.Start()
	}
	runCtx, stopRunners := context.WithCancel(context.Background())
	var runners sync.WaitGroup
	for _, run := range s.runners {
		runners.Add(1)
		go func() {
			defer runners.Done()
			run(runCtx)
		}()
	}
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
	stopRunners()
	runners.Wait()
	// The stoppers (the ingester's flush first of all) get their own deadline: losing the race
	// against the HTTP timeout must not leave chunks unflushed (the WAL would still have
	// them, but a clean stop should not need it).
	if err := s.stopAll(context.Background()); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// NewLogger returns the server's logger at the configured level.
func NewLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}
