// Package runtimeconfig reloads Loki's runtime configuration file — per-tenant overrides of
// the limits — while the server runs:
//
//	overrides:
//	  team-a:
//	    ingestion_rate_mb: 10
//	    max_query_series: 1000
//
// A tenant's limits are the defaults (limits_config) with the fields its entry names replaced.
// A file that fails to load leaves the previous overrides in force.
package runtimeconfig

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/sluicelog/sluice/pkg/flagext"
	"github.com/sluicelog/sluice/pkg/validation"
)

// Config names the file and how often it is read.
type Config struct {
	File   string           `yaml:"file"`
	Period flagext.Duration `yaml:"period"`
}

// RegisterFlags registers the flags with Loki's names and defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.File, "runtime-config.file", "", "File with per-tenant overrides, reloaded while running.")
	c.Period = flagext.Duration(10 * time.Second)
	fs.Var(&c.Period, "runtime-config.reload-period", "How often to reload the runtime configuration file.")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if c.File != "" && c.Period <= 0 {
		return errors.New("runtime_config.period: must be positive")
	}
	return nil
}

// Manager loads the file into validation.Overrides.
type Manager struct {
	cfg       Config
	overrides *validation.Overrides
	logger    *slog.Logger
	lastHash  [sha256.Size]byte
	current   []byte

	success prometheus.Gauge
	reloads *prometheus.CounterVec
}

// New loads the file once, so a server with a broken file refuses to start, and returns a
// Manager whose Run keeps reloading it.
func New(cfg Config, overrides *validation.Overrides, logger *slog.Logger, reg prometheus.Registerer) (*Manager, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := &Manager{
		cfg: cfg, overrides: overrides, logger: logger,
		success: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "loki_runtime_config_last_reload_successful", Help: "Whether the last reload of the runtime configuration file succeeded.",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loki_runtime_config_reloads_total", Help: "Reloads of the runtime configuration file, by result.",
		}, []string{"result"}),
	}
	if reg != nil {
		reg.MustRegister(m.success, m.reloads)
	}
	if cfg.File == "" {
		return m, nil
	}
	if err := m.Load(); err != nil {
		return nil, err
	}
	return m, nil
}

// Run reloads the file every period until ctx is done.
func (m *Manager) Run(ctx context.Context) {
	if m.cfg.File == "" {
		return
	}
	t := time.NewTicker(m.cfg.Period.D())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := m.Load(); err != nil {
				m.logger.Error("reload runtime config; keeping the previous overrides", "file", m.cfg.File, "err", err)
			}
		}
	}
}

// Load reads the file and, when it changed and parses, installs its overrides.
func (m *Manager) Load() error {
	b, err := os.ReadFile(m.cfg.File)
	if err != nil {
		m.failed()
		return fmt.Errorf("read runtime config: %w", err)
	}
	h := sha256.Sum256(b)
	if h == m.lastHash {
		m.success.Set(1)
		return nil
	}
	tenants, err := Parse(b, *m.overrides.Defaults())
	if err != nil {
		m.failed()
		return fmt.Errorf("runtime config %s: %w", m.cfg.File, err)
	}
	m.overrides.SetTenantLimits(tenants)
	m.lastHash, m.current = h, b
	m.success.Set(1)
	m.reloads.WithLabelValues("success").Inc()
	m.logger.Info("runtime config loaded", "file", m.cfg.File, "tenants", len(tenants))
	return nil
}

func (m *Manager) failed() {
	m.success.Set(0)
	m.reloads.WithLabelValues("failure").Inc()
}

// YAML returns the overrides in force, for GET /runtime_config.
func (m *Manager) YAML() ([]byte, error) {
	tenants := map[string]*validation.Limits{}
	for _, id := range m.overrides.Tenants() {
		tenants[id] = m.overrides.For(id)
	}
	return yaml.Marshal(struct {
		Overrides map[string]*validation.Limits `yaml:"overrides"`
	}{tenants})
}

// Parse reads a runtime configuration file: each tenant's limits are defaults with the fields
// its entry sets replaced. Unknown fields are errors.
func Parse(b []byte, defaults validation.Limits) (map[string]*validation.Limits, error) {
	var doc struct {
		Overrides map[string]yaml.Node `yaml:"overrides"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && err.Error() != "EOF" {
		return nil, err
	}
	ids := make([]string, 0, len(doc.Overrides))
	for id := range doc.Overrides {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make(map[string]*validation.Limits, len(ids))
	for _, id := range ids {
		node := doc.Overrides[id]
		raw, err := yaml.Marshal(&node)
		if err != nil {
			return nil, fmt.Errorf("overrides.%s: %w", id, err)
		}
		l := defaults
		d := yaml.NewDecoder(bytes.NewReader(raw))
		d.KnownFields(true)
		if err := d.Decode(&l); err != nil {
			return nil, fmt.Errorf("overrides.%s: %w", id, err)
		}
		if err := l.Validate(); err != nil {
			return nil, fmt.Errorf("overrides.%s: %w", id, err)
		}
		out[id] = &l
	}
	return out, nil
}
