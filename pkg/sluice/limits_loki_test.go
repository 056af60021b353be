package sluice_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/sluice"
	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
	"github.com/sluicelog/sluice/pkg/validation"
)

// lokiLimits returns Loki 3's every limits_config key with a value (the validation package's
// testdata), indented by indent.
func lokiLimits(t *testing.T, indent string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "validation", "testdata", "loki3_limits.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if !strings.HasPrefix(line, "#") {
			sb.WriteString(indent + line + "\n")
		}
	}
	return sb.String()
}

// lockedBuffer collects the server's log, written from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// getBody GETs url and returns the status and body.
func getBody(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestEveryLokiLimitLoads starts a server from a Loki configuration whose limits_config sets
// every key of Loki 3, and whose runtime overrides file (named by Loki's deprecated
// per_tenant_override_config) sets them all for one tenant. It checks that the server starts,
// that each ignored key is named once in the start-up warning for each place it is set (and
// the keys whose value asks for nothing are not), that the overrides file is read and
// reloaded with those keys, and that a reload with a refused value fails and keeps the
// previous overrides.
func TestEveryLokiLimitLoads(t *testing.T) {
	dir := t.TempDir()
	overrides := filepath.Join(dir, "overrides.yaml")
	// writeOverrides writes the file with every key, replacing old values by new ones.
	writeOverrides := func(oldNew ...string) {
		t.Helper()
		body := strings.NewReplacer(oldNew...).Replace("overrides:\n  team-a:\n" + lokiLimits(t, "    "))
		if err := os.WriteFile(overrides, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeOverrides()
	t.Setenv("OVERRIDES_FILE", overrides)
	config := filepath.Join(dir, "loki.yaml")
	err := os.WriteFile(config, []byte(`auth_enabled: true
server:
  http_listen_address: 127.0.0.1
  http_listen_port: 0
common:
  path_prefix: `+filepath.Join(dir, "data")+`
limits_config:
`+lokiLimits(t, "  ")), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := sluice.LoadConfig([]string{"-config.file=" + config, "-config.expand-env"})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if cfg.RuntimeConfig.File != overrides || cfg.RuntimeConfig.Period.D() != time.Second {
		t.Fatalf("runtime_config = %+v, want per_tenant_override_config's file and period", cfg.RuntimeConfig)
	}

	var log lockedBuffer
	s, err := sluice.New(cfg, slog.New(slog.NewTextHandler(&log, nil)))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	base := "http://" + s.Addr()
	waitFor(t, 10*time.Second, "ready", func() bool { status, _ := getBody(t, base+"/ready"); return status == http.StatusOK })

	// The warning names each ignored key once per place, with a reason.
	quiet := []string{"ingestion_rate_strategy", "block_ingestion_until", "block_ingestion_policy_until",
		"enforced_labels", "policy_enforced_labels", "s3_sse_type"}
	logged := log.String()
	for _, key := range validation.LokiOnlyKeys() {
		for _, prefix := range []string{"limits_config.", "overrides.team-a."} {
			n := strings.Count(logged, `msg="ignoring a Loki setting" setting=`+prefix+key+` reason=`)
			want := 1
			if slices.Contains(quiet, key) {
				want = 0
			}
			if n != want {
				t.Errorf("warning for %s%s logged %d times, want %d", prefix, key, n, want)
			}
		}
	}

	// The overrides are in force, and reload with every key.
	runtimeConfig := func() string { _, body := getBody(t, base+"/runtime_config"); return body }
	if body := runtimeConfig(); !strings.Contains(body, "team-a:") || !strings.Contains(body, "volume_max_series: 500") {
		t.Fatalf("/runtime_config = %s, want team-a's overrides", body)
	}
	writeOverrides("volume_max_series: 500", "volume_max_series: 400")
	waitFor(t, 10*time.Second, "the reload", func() bool { return strings.Contains(runtimeConfig(), "volume_max_series: 400") })

	// A refused value fails the reload and keeps what was in force.
	writeOverrides("volume_max_series: 500", "volume_max_series: 300", "enforced_labels: []", "enforced_labels: [team]")
	waitFor(t, 10*time.Second, "the failed reload", func() bool {
		_, metrics := getBody(t, base+"/metrics")
		return strings.Contains(metrics, "loki_runtime_config_reloads_total{result=\"failure\"} 1")
	})
	if body := runtimeConfig(); !strings.Contains(body, "volume_max_series: 400") {
		t.Errorf("after a failed reload /runtime_config = %s, want the previous overrides", body)
	}
}

// TestLokiLimitErrors: in limits_config, a value of the wrong type is an error naming its key,
// as is a key Loki does not have; in a runtime overrides file, the same fail the load naming
// the tenant and the key.
func TestLokiLimitErrors(t *testing.T) {
	for _, c := range []struct {
		limits, want string
	}{
		{"  split_metadata_queries_by_interval: daily\n", `limits_config.split_metadata_queries_by_interval: invalid duration "daily"`},
		{"  max_cache_freshness_per_query: soon\n", `limits_config.max_cache_freshness_per_query: invalid duration "soon"`},
		{"  volume_enabled: sometimes\n", "limits_config.volume_enabled: cannot unmarshal !!str `sometimes` into bool"},
		{"  max_querry_series: 5\n", "limits_config.max_querry_series: unknown setting"},
	} {
		dir := t.TempDir()
		file := filepath.Join(dir, "loki.yaml")
		if err := os.WriteFile(file, []byte("limits_config:\n"+c.limits), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := sluice.LoadConfig([]string{"-config.file=" + file, "-common.path-prefix=" + dir})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("limits_config %q: err = %v, want %q", c.limits, err, c.want)
		}

		overrides := filepath.Join(dir, "overrides.yaml")
		if err := os.WriteFile(overrides, []byte("overrides:\n  team-a:\n  "+c.limits), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := sluice.LoadConfig([]string{"-common.path-prefix=" + dir, "-runtime-config.file=" + overrides,
			"-server.http-listen-address=127.0.0.1", "-server.http-listen-port=0"})
		if err != nil {
			t.Fatal(err)
		}
		s, err := sluice.New(cfg, nil)
		if err == nil {
			// It started: stop it (Run returns at once with a done context).
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_ = s.Run(ctx)
		}
		if err == nil || !strings.Contains(err.Error(), "overrides.team-a: "+c.want) {
			t.Errorf("overrides %q: err = %v, want %q", c.limits, err, "overrides.team-a: "+c.want)
		}
	}
}

// TestDeletionModeOverHTTP: the server's deletion API follows each tenant's deletion_mode (a
// runtime override here): 403 for a tenant whose mode is disabled, 204 for the others.
func TestDeletionModeOverHTTP(t *testing.T) {
	overrides := filepath.Join(t.TempDir(), "overrides.yaml")
	if err := os.WriteFile(overrides, []byte("overrides:\n  off:\n    deletion_mode: disabled\n  keep:\n    deletion_mode: filter-only\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := sluicetest.Start(t, sluicetest.WithAuth(), func(c *sluice.Config) { c.RuntimeConfig.File = overrides })
	end := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	start := strconv.FormatInt(time.Now().Add(-2*time.Hour).Unix(), 10)
	for tenant, want := range map[string]int{"off": http.StatusForbidden, "keep": http.StatusNoContent, "team": http.StatusNoContent} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/loki/api/v1/delete?query=%7Bapp%3D%22a%22%7D&start="+start+"&end="+end, nil)
		req.Header.Set("X-Scope-OrgID", tenant)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("delete request of %s: %d %s, want %d", tenant, resp.StatusCode, body, want)
		}
	}
}
