// Package agent assembles promtail from its config: positions, clients, the tail manager,
// one targets.Scrape per scrape config (static, file and Kubernetes discovery), the syslog and
// loki_push_api listeners of the scrape configs that have them, and the HTTP server
// with /metrics and /ready. Run blocks until its context ends, then shuts down in the order
// that loses nothing: stop reading, flush the clients (within the graceful shutdown timeout),
// save the acknowledged positions.
package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sluicelog/sluice/promtail/client"
	"github.com/sluicelog/sluice/promtail/config"
	"github.com/sluicelog/sluice/promtail/filesd"
	"github.com/sluicelog/sluice/promtail/kubernetes"
	"github.com/sluicelog/sluice/promtail/positions"
	"github.com/sluicelog/sluice/promtail/stages"
	"github.com/sluicelog/sluice/promtail/tail"
	"github.com/sluicelog/sluice/promtail/targets"
	"github.com/sluicelog/sluice/promtail/targets/lokipush"
	"github.com/sluicelog/sluice/promtail/targets/syslog"
)

// Options are the command-line choices beside the config file.
type Options struct {
	// DryRun prints entries to Stdout instead of pushing them.
	DryRun bool
	Stdout io.Writer
	// Registry receives the metrics; nil makes a new one.
	Registry *prometheus.Registry
	// Kubernetes builds the Kubernetes discovery; nil uses kubernetes.NewFromConfig.
	Kubernetes func(cfg config.KubernetesSDConfig) (kubernetes.Discoverer, error)
}

// Agent is a running promtail.
type Agent struct {
	cfg     *config.Config
	opts    Options
	log     *slog.Logger
	reg     *prometheus.Registry
	pos     *positions.Positions
	clients *client.Multi
	sender  client.Sender
	tail    *tail.Manager
	scrapes []*targets.Scrape
	discs   []discovery
	// listeners are the syslog and loki_push_api targets, each with its receiver.
	listeners []listener
	ln        net.Listener
	srv       *http.Server
	ready     chan struct{}

	syslogMetrics *syslog.Metrics
	filesdMetrics *filesd.Metrics
}

// listener is a target that is sent entries over the network.
type listener struct {
	job string
	t   interface {
		Run(ctx context.Context)
		Addr() net.Addr
		Close() error
	}
	recv *targets.Receiver
}

// discoverer sends the target groups it finds to update until ctx ends.
type discoverer interface {
	Run(ctx context.Context, update func([]targets.Group))
}

type discovery struct {
	d      discoverer
	scrape *targets.Scrape
}

// New builds an agent; nothing runs until Run.
func New(cfg *config.Config, opts Options, log *slog.Logger) (*Agent, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	reg := opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	a := &Agent{cfg: cfg, opts: opts, log: log, reg: reg, ready: make(chan struct{})}
	for _, u := range cfg.Unsupported() {
		log.Warn("config section not supported, ignored", "what", u)
	}
	pos, err := positions.Open(positions.Config{Filename: cfg.Positions.Filename, SyncPeriod: cfg.Positions.SyncPeriod.D(),
		IgnoreInvalidYAML: cfg.Positions.IgnoreInvalidYAML, ReadOnly: opts.DryRun}, log)
	if err != nil {
		return nil, err
	}
	a.pos = pos
	nClients := 1
	if opts.DryRun {
		a.sender = &printer{w: opts.Stdout}
	} else {
		if len(cfg.Clients) == 0 {
			_ = pos.Stop()
			return nil, errors.New("no clients configured")
		}
		mc, err := client.NewMulti(cfg.Clients, client.NewMetrics(reg), log)
		if err != nil {
			_ = pos.Stop()
			return nil, err
		}
		a.clients, a.sender, nClients = mc, mc, mc.Len()
		// Persist acknowledged positions after every batch, so that a crash (SIGKILL, node
		// reboot) re-sends at most the batches that were in flight.
		mc.AfterBatch(func() {
			if err := pos.Save(); err != nil {
				log.Error("save positions", "err", err)
			}
		})
	}
	a.tail = tail.NewManager(tail.Config{PollInterval: cfg.Global.FileWatch.MinPollFrequency.D()}, pos, nClients, tail.NewMetrics(reg), log)
	limits := targets.Limits{MaxLineSize: int(cfg.Limits.MaxLineSize), MaxLineSizeTruncate: cfg.Limits.MaxLineSizeTruncate}
	if cfg.Limits.ReadlineRateEnabled {
		drop := cfg.Limits.ReadlineRateDrop == nil || *cfg.Limits.ReadlineRateDrop
		limits.Readline = targets.NewRateLimiter(cfg.Limits.ReadlineRate, cfg.Limits.ReadlineBurst, drop)
	}
	for _, sc := range cfg.ScrapeConfigs {
		tmpl, err := stages.Build(sc.PipelineStages, stages.Options{JobName: sc.JobName, Registerer: reg, Logger: log})
		if err != nil {
			a.abort()
			return nil, fmt.Errorf("scrape config %q: %w", sc.JobName, err)
		}
		s := targets.NewScrape(sc, tmpl, a.sender, a.tail, limits, log)
		a.scrapes = append(a.scrapes, s)
		if err := a.addListeners(sc, tmpl, limits); err != nil {
			a.abort()
			return nil, fmt.Errorf("scrape config %q: %w", sc.JobName, err)
		}
		for _, fc := range sc.FileSDConfigs {
			if a.filesdMetrics == nil {
				a.filesdMetrics = filesd.NewMetrics(reg)
			}
			// Files are checked for changes at the poll frequency, like the __path__ globs.
			d := filesd.New(fc, cfg.Global.FileWatch.MinPollFrequency.D(), a.filesdMetrics, log.With("job", sc.JobName))
			a.discs = append(a.discs, discovery{d: d, scrape: s})
		}
		for i, kc := range sc.KubernetesSDConfigs {
			if kc.Role != "pod" {
				continue
			}
			mk := opts.Kubernetes
			if mk == nil {
				mk = func(c config.KubernetesSDConfig) (kubernetes.Discoverer, error) {
					return kubernetes.NewFromConfig(c, log)
				}
			}
			d, err := mk(kc)
			if err != nil {
				a.abort()
				return nil, fmt.Errorf("scrape config %q: kubernetes_sd_configs[%d]: %w", sc.JobName, i, err)
			}
			a.discs = append(a.discs, discovery{d: d, scrape: s})
		}
	}
	if !cfg.Server.Disable {
		addr := net.JoinHostPort(cfg.Server.HTTPListenAddress, fmt.Sprint(cfg.Server.HTTPListenPort))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			a.abort()
			return nil, fmt.Errorf("listen %s: %w", addr, err)
		}
		a.ln = ln
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		mux.HandleFunc("/ready", a.handleReady)
		a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	}
	return a, nil
}

// addListeners starts listening for sc's syslog and loki_push_api targets.
func (a *Agent) addListeners(sc config.ScrapeConfig, tmpl *stages.Template, limits targets.Limits) error {
	log := a.log.With("job", sc.JobName)
	if sc.Syslog != nil {
		if a.syslogMetrics == nil {
			a.syslogMetrics = syslog.NewMetrics(a.reg)
		}
		recv := targets.NewReceiver(sc.RelabelConfigs, tmpl, a.sender, limits, log)
		t, err := syslog.New(*sc.Syslog, recv, a.syslogMetrics, log)
		if err != nil {
			return err
		}
		a.listeners = append(a.listeners, listener{job: sc.JobName, t: t, recv: recv})
	}
	if sc.PushAPI != nil {
		recv := targets.NewReceiver(sc.RelabelConfigs, tmpl, a.sender, limits, log)
		t, err := lokipush.New(sc.JobName, *sc.PushAPI, recv, log)
		if err != nil {
			return err
		}
		a.listeners = append(a.listeners, listener{job: sc.JobName, t: t, recv: recv})
	}
	return nil
}

// ListenerAddrs returns the addresses of job's syslog and loki_push_api listeners, in that
// order.
func (a *Agent) ListenerAddrs(job string) []net.Addr {
	var out []net.Addr
	for _, l := range a.listeners {
		if l.job == job {
			out = append(out, l.t.Addr())
		}
	}
	return out
}

func (a *Agent) abort() {
	for _, l := range a.listeners {
		_ = l.t.Close()
	}
	if a.clients != nil {
		a.clients.Stop(context.Background())
	}
	_ = a.pos.Stop()
}

// Addr is the HTTP server's address (nil when disabled).
func (a *Agent) Addr() net.Addr {
	if a.ln == nil {
		return nil
	}
	return a.ln.Addr()
}

func (a *Agent) handleReady(w http.ResponseWriter, _ *http.Request) {
	select {
	case <-a.ready:
		_, _ = io.WriteString(w, "Ready\n")
	default:
		http.Error(w, "Not ready: starting", http.StatusServiceUnavailable)
	}
}

// Run runs until ctx ends, then shuts down gracefully.
func (a *Agent) Run(ctx context.Context) error {
	if a.srv != nil {
		go func() {
			if err := a.srv.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.Error("http server", "err", err)
			}
		}()
	}
	readCtx, stopRead := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.tail.Run(readCtx)
	}()
	// Globs are re-expanded at the poll frequency rather than target_config.sync_period
	// (promtail's 10s), so a new file is read within one poll.
	interval := a.cfg.Global.FileWatch.MinPollFrequency.D()
	if interval <= 0 {
		interval = 250 * time.Millisecond
	}
	for _, s := range a.scrapes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Run(readCtx, interval)
		}()
	}
	for _, l := range a.listeners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Flush held-back entries at the poll frequency, as the file sinks are, and a last
			// time once the listener has stopped (before the clients stop).
			flushCtx, stopFlush := context.WithCancel(context.Background())
			var flusher sync.WaitGroup
			flusher.Go(func() { l.recv.Run(flushCtx, interval, a.cfg.Server.GracefulShutdown.D()) })
			l.t.Run(readCtx)
			stopFlush()
			flusher.Wait()
		}()
	}
	for _, d := range a.discs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.d.Run(readCtx, func(groups []targets.Group) { d.scrape.Update(groups) })
		}()
	}
	close(a.ready)
	a.log.Info("promtail started", "scrape_configs", len(a.scrapes), "clients", len(a.cfg.Clients))
	<-ctx.Done()

	a.log.Info("shutting down: stop reading, flush clients, save positions")
	stopRead()
	wg.Wait()
	deadline, cancel := context.WithTimeout(context.Background(), a.cfg.Server.GracefulShutdown.D())
	defer cancel()
	if a.clients != nil {
		a.clients.Stop(deadline)
	}
	a.tail.Close()
	err := a.pos.Stop()
	if a.srv != nil {
		_ = a.srv.Shutdown(deadline)
	}
	if err != nil {
		return fmt.Errorf("save positions: %w", err)
	}
	return nil
}
