package sluice_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sluicelog/sluice/pkg/sluice"
)

// lokiLocalConfig is Loki's own single-binary example configuration (its shape and keys; the
// paths are the test's), without its ruler section.
const lokiLocalConfig = `auth_enabled: false

server:
  http_listen_port: 3100
  grpc_listen_port: 9096
  log_level: debug
  grpc_server_max_concurrent_streams: 1000

common:
  instance_addr: 127.0.0.1
  path_prefix: PATH
  storage:
    filesystem:
      chunks_directory: PATH/chunks
      rules_directory: PATH/rules
  replication_factor: 1
  ring:
    kvstore:
      store: inmemory

query_range:
  results_cache:
    cache:
      embedded_cache:
        enabled: true
        max_size_mb: 100

limits_config:
  metric_aggregation_enabled: true

schema_config:
  configs:
    - from: 2020-10-24
      store: tsdb
      object_store: filesystem
      schema: v13
      index:
        prefix: index_
        period: 24h

pattern_ingester:
  enabled: true
  metric_aggregation:
    loki_address: localhost:3100

frontend:
  encoding: protobuf
`

// TestLokiConfigLoads: Loki's example configuration loads unchanged but for its ruler, and
// every setting Sluice does not act on is listed for the start-up warning with its reason.
func TestLokiConfigLoads(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/loki.yaml"
	if err := os.WriteFile(file, []byte(strings.ReplaceAll(lokiLocalConfig, "PATH", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := sluice.LoadConfig([]string{"-config.file=" + file})
	if err != nil {
		t.Fatalf("Loki's example configuration: %v", err)
	}
	if cfg.Server.HTTPListenPort != 3100 || cfg.Common.PathPrefix != dir || cfg.StorageConfig.Filesystem.Directory != dir+"/chunks" {
		t.Fatalf("the settings Sluice reads were not read: %+v", cfg.Server)
	}
	var got []string
	for _, s := range cfg.IgnoredLokiSettings() {
		setting, reason, ok := strings.Cut(s, ": ")
		if !ok || reason == "" {
			t.Errorf("%q has no reason", s)
		}
		got = append(got, setting)
	}
	want := []string{"schema_config", "frontend", "pattern_ingester", "server.grpc_listen_port",
		"server.grpc_server_max_concurrent_streams", "common.instance_addr", "common.ring",
		"common.replication_factor", "limits_config.metric_aggregation_enabled"}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("ignored settings = %q, want %q", got, want)
	}
}

// TestLokiConfigRefusals: what Sluice cannot honour is still an error naming the setting.
func TestLokiConfigRefusals(t *testing.T) {
	for _, tt := range []struct{ yaml, want string }{
		{"ruler:\n  alertmanager_url: http://localhost:9093\n", "ruler: Sluice has no ruler"},
		{"common:\n  replication_factor: 3\n", "common.replication_factor: 3"},
		{"server:\n  http_path_prefix: /loki\n", "server.http_path_prefix: unknown setting"},
		{"table_manager:\n  retention_deletes_enabled: true\n", "field table_manager not found"},
	} {
		file := t.TempDir() + "/loki.yaml"
		if err := os.WriteFile(file, []byte(tt.yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := sluice.LoadConfig([]string{"-config.file=" + file, "-common.path-prefix=" + t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want %q", tt.yaml, err, tt.want)
		}
	}
}
