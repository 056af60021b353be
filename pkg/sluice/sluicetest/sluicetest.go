// Package sluicetest starts a real Sluice server for tests: every component, a temporary data
// directory, HTTP on 127.0.0.1 with a free port, stopped when the test ends.
package sluicetest

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/sluice"
)

// Server is a running test server.
type Server struct {
	// URL is the server's base address, e.g. http://127.0.0.1:41234.
	URL string
	// Dir is its data directory.
	Dir    string
	Config *sluice.Config

	stop func() error
}

// Option adjusts the configuration before the server starts.
type Option func(*sluice.Config)

// WithDir makes the server use dir as its data directory (to restart on the same data).
func WithDir(dir string) Option {
	return func(c *sluice.Config) { c.Common.PathPrefix = dir }
}

// WithConfig lets a test change any setting.
func WithConfig(f func(*sluice.Config)) Option { return Option(f) }

// WithAuth turns multi-tenancy on.
func WithAuth() Option {
	return func(c *sluice.Config) { c.AuthEnabled = true }
}

// Start starts a server and registers its shutdown with t.Cleanup.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	dir := t.TempDir()
	args := []string{"-server.http-listen-address=127.0.0.1", "-server.http-listen-port=0", "-common.path-prefix=" + dir}
	cfg, err := sluice.LoadConfig(args)
	if err != nil {
		t.Fatalf("sluicetest: config: %v", err)
	}
	for _, o := range opts {
		o(cfg)
	}
	if cfg.Common.PathPrefix != dir {
		// The directories derived from the temporary prefix follow the option's prefix.
		for _, p := range []*string{
			&cfg.StorageConfig.Filesystem.Directory, &cfg.Common.Storage.Filesystem.ChunksDirectory,
			&cfg.StorageConfig.BoltDB.ActiveIndexDirectory, &cfg.StorageConfig.BoltDB.CacheLocation,
			&cfg.Ingester.WAL.Dir, &cfg.Compactor.WorkingDirectory,
		} {
			if strings.HasPrefix(*p, dir) {
				*p = ""
			}
		}
		cfg.ApplyDefaults()
	}
	s, err := sluice.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("sluicetest: start: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	srv := &Server{URL: "http://" + s.Addr(), Dir: cfg.Common.PathPrefix, Config: cfg}
	var stopped bool
	var stopErr error
	srv.stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			stopErr = <-done
		}
		return stopErr
	}
	t.Cleanup(func() {
		if err := srv.stop(); err != nil {
			t.Errorf("sluicetest: shutdown: %v", err)
		}
	})
	// Wait until /ready answers 200.
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(srv.URL + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("sluicetest: server at %s not ready after 10s", srv.URL)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return srv
}

// Stop shuts the server down as SIGTERM would (flushing everything) and returns the error
// of the shutdown. Calling it more than once is fine.
func (s *Server) Stop() error { return s.stop() }
