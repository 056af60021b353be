// Package configcheck loads the Sluice configuration a manifest ships exactly as the server
// binary would, and boots a real server from it, for the tests of production/.
package configcheck

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/sluice"
)

// Load writes text to a temporary file and loads it with sluice.LoadConfig, as
// `sluice -config.file=<file> <args>` would (args are the container's other arguments).
func Load(t testing.TB, text string, args ...string) (*sluice.Config, error) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "sluice.yaml")
	if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return sluice.LoadConfig(append([]string{"-config.file=" + f}, args...))
}

// Boot runs a real server from the shipped configuration text. Absolute directories of the
// pod (dirs, e.g. /data and /etc/sluice) are moved under a temporary directory, files (path to
// content, e.g. the runtime overrides mounted from the ConfigMap) are written there, and the
// server listens on 127.0.0.1 with a free port. It waits for /ready to answer 200, then shuts
// the server down as SIGTERM would and fails the test on any error.
func Boot(t testing.TB, text string, dirs []string, files map[string]string) {
	t.Helper()
	root := t.TempDir()
	for _, d := range dirs {
		text = strings.ReplaceAll(text, d+"/", root+d+"/")
		text = strings.ReplaceAll(text, d+"\n", root+d+"\n")
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := Load(t, text, "-server.http-listen-address=127.0.0.1", "-server.http-listen-port=0")
	if err != nil {
		t.Fatalf("load config: %v", err)
	}
	if !strings.HasPrefix(cfg.Common.PathPrefix, root) {
		t.Fatalf("path_prefix %q was not moved under the test directory; pass its directory in dirs", cfg.Common.PathPrefix)
	}
	s, err := sluice.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("start server from the shipped config: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server shutdown: %v", err)
		}
	}()
	if err := waitReady("http://"+s.Addr()+"/ready", 10*time.Second); err != nil {
		t.Error(err)
	}
}

func waitReady(url string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		resp, err := http.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not 200 after %v (last error %v)", url, d, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
