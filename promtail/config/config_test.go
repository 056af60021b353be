package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const promtailDocExample = `
server:
  http_listen_port: 9080
  grpc_listen_port: 0
positions:
  filename: /tmp/positions.yaml
clients:
  - url: http://localhost:3100/loki/api/v1/push
    tenant_id: ${TENANT:-team-a}
    basic_auth:
      username: u
      password_file: /etc/pw
    external_labels:
      cluster: c1
client:
  url: http://other:3100/loki/api/v1/push
  backoff_config:
    max_period: 1m
scrape_configs:
  - job_name: system
    static_configs:
      - targets: [localhost]
        labels:
          job: varlogs
          __path__: /var/log/*log
    pipeline_stages:
      - regex:
          expression: '^(?P<x>.*)$'
  - job_name: journal
    journal:
      max_age: 12h
limits_config:
  max_line_size: 256KiB
  max_line_size_truncate: true
`

func TestParsePromtailConfig(t *testing.T) {
	c, err := Parse([]byte(promtailDocExample), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Clients) != 2 {
		t.Fatalf("clients = %d, want 2 (clients + client)", len(c.Clients))
	}
	cl := c.Clients[0]
	if cl.TenantID != "team-a" || cl.BatchWait.D() != time.Second || cl.BatchSize != 1<<20 {
		t.Errorf("client 0 = %+v", cl)
	}
	if cl.Backoff.MinPeriod.D() != 500*time.Millisecond || cl.Backoff.MaxPeriod.D() != 5*time.Minute || cl.Backoff.MaxRetries != 10 {
		t.Errorf("default backoff = %+v", cl.Backoff)
	}
	if c.Clients[1].Backoff.MaxPeriod.D() != time.Minute {
		t.Errorf("client 1 backoff = %+v", c.Clients[1].Backoff)
	}
	if c.Positions.SyncPeriod.D() != 10*time.Second {
		t.Errorf("sync_period = %v", c.Positions.SyncPeriod.D())
	}
	if c.Limits.MaxLineSize != 256<<10 || !c.Limits.MaxLineSizeTruncate {
		t.Errorf("limits = %+v", c.Limits)
	}
	if got := c.ScrapeConfigs[0].StaticConfigs[0].Labels["__path__"]; got != "/var/log/*log" {
		t.Errorf("__path__ = %q", got)
	}
	if out := c.String(); !strings.Contains(out, "job_name: system") || !strings.Contains(out, "expression:") {
		t.Errorf("String() lacks the scrape config:\n%s", out)
	}
	if u := c.Unsupported(); len(u) != 1 {
		t.Errorf("Unsupported() = %v, want the journal section", u)
	}
}

func TestExpandEnv(t *testing.T) {
	t.Setenv("A", "x")
	t.Setenv("EMPTY", "")
	check := func(in, want string) {
		t.Helper()
		if got := ExpandEnv(in); got != want {
			t.Errorf("ExpandEnv(%q) = %q, want %q", in, got, want)
		}
	}
	check("${A}", "x")
	check("$A/b", "x/b")
	check("${UNSET_VAR_X:-def}", "def")
	check("${EMPTY:-def}", "def")
	check("${A:-def}", "x")
	check("$$A", "$A")
	check("cost: 5$", "cost: 5$")
	check("${unterminated", "${unterminated")
}

func TestValidateErrors(t *testing.T) {
	for _, y := range []string{
		"clients: [{tenant_id: x}]",
		"scrape_configs: [{static_configs: []}]",
		"scrape_configs: [{job_name: a}, {job_name: a}]",
		"scrape_configs: [{job_name: a, kubernetes_sd_configs: [{role: bogus}]}]",
		"scrape_configs: [{job_name: a, relabel_configs: [{action: hashmod, source_labels: [x]}]}]",
		"clients: [{url: 'http://x', batchwait: nonsense}]",
		"clients: [{url: 'http://x', backoff_config: {min_period: 1m, max_period: 1s}}]",
		"limits_config: {max_line_size: 12parsecs}",
		"server: [",
		"scrape_configs: [{job_name: s, syslog: {listen_protocol: tcp}}]",
		"scrape_configs: [{job_name: s, syslog: {listen_address: ':1514', listen_protocol: sctp}}]",
		"scrape_configs: [{job_name: s, syslog: {listen_address: ':1514', syslog_format: rfc3339}}]",
		"scrape_configs: [{job_name: s, syslog: {listen_address: ':1514', labels: {0bad: x}}}]",
		"scrape_configs: [{job_name: s, syslog: {listen_address: ':1514', listen_protocol: udp, tls_config: {cert_file: c, key_file: k}}}]",
		"scrape_configs: [{job_name: s, syslog: {listen_address: ':1514', tls_config: {ca_file: ca}}}]",
		"scrape_configs: [{job_name: p, loki_push_api: {server: {http_listen_port: 70000}}}]",
		"scrape_configs: [{job_name: p, loki_push_api: {labels: {a-b: x}}}]",
		"scrape_configs: [{job_name: f, file_sd_configs: [{}]}]",
		"scrape_configs: [{job_name: f, file_sd_configs: [{files: [/sd/targets.txt]}]}]",
		"scrape_configs: [{job_name: f, file_sd_configs: [{files: ['/sd/*/targets.json']}]}]",
		"scrape_configs: [{job_name: f, file_sd_configs: [{files: [/sd/t.yaml], refresh_interval: -1m}]}]",
	} {
		if _, err := Parse([]byte(y), false); err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", y)
		}
	}
}

func TestLoad(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml"), false); err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
	name := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(name, []byte(""), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(name, false)
	if err != nil {
		t.Fatalf("Load of an empty file: %v", err)
	}
	if c.Server.HTTPListenPort != DefaultHTTPPort || c.Positions.Filename == "" {
		t.Errorf("defaults not applied: %+v", c.Server)
	}
}

func TestByteSize(t *testing.T) {
	for in, want := range map[string]int64{"1048576": 1 << 20, "1MiB": 1 << 20, "1MB": 1 << 20, "512kb": 512 << 10, "2g": 2 << 30, "": 0} {
		got, err := ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v, want %d", in, got, err, want)
		}
	}
	if _, err := ParseByteSize("-1"); err == nil {
		t.Error("negative size accepted")
	}
}

func TestReceiverConfigs(t *testing.T) {
	c, err := Parse([]byte(`
scrape_configs:
  - job_name: syslog
    syslog:
      listen_address: 0.0.0.0:1514
      labels: {job: syslog}
  - job_name: push
    loki_push_api:
      server:
        http_listen_port: 3500
        grpc_listen_port: 3600
        http_server_read_timeout: 5s
        log_level: debug
      labels: {pushserver: a}
      use_incoming_timestamp: true
`), false)
	if err != nil {
		t.Fatal(err)
	}
	sl := c.ScrapeConfigs[0].Syslog
	if sl == nil || sl.ListenProtocol != "tcp" || sl.IdleTimeout.D() != 120*time.Second ||
		sl.MaxMessageLength != 8192 || sl.SyslogFormat != "rfc5424" || sl.Labels["job"] != "syslog" {
		t.Errorf("syslog defaults: %+v", sl)
	}
	pc := c.ScrapeConfigs[1].PushAPI
	if pc == nil || *pc.Server.HTTPListenPort != 3500 || pc.Server.HTTPServerReadTimeout.D() != 5*time.Second ||
		!pc.UseIncomingTimestamp || pc.Labels["pushserver"] != "a" {
		t.Errorf("loki_push_api: %+v", pc)
	}
	u := c.Unsupported()
	want := []string{
		`scrape_configs "push": loki_push_api server grpc_listen_address/grpc_listen_port (only HTTP pushes are served)`,
		`scrape_configs "push": loki_push_api server log_level`,
	}
	if fmt.Sprint(u) != fmt.Sprint(want) {
		t.Errorf("Unsupported() = %q, want %q", u, want)
	}
	c, err = Parse([]byte("scrape_configs: [{job_name: p, loki_push_api: {}}]"), false)
	if err != nil {
		t.Fatal(err)
	}
	if p := c.ScrapeConfigs[0].PushAPI.Server.HTTPListenPort; p == nil || *p != 80 {
		t.Errorf("default http_listen_port %v, want 80 as in promtail", p)
	}
}

func TestFileSDConfig(t *testing.T) {
	c, err := Parse([]byte(`
scrape_configs:
  - job_name: f
    file_sd_configs:
      - files: ['/etc/promtail/sd/*.json', /etc/promtail/sd/logs-*.yml, sd.YAML]
      - files: [/x/t.json]
        refresh_interval: 30s
`), false)
	if err != nil {
		t.Fatal(err)
	}
	fcs := c.ScrapeConfigs[0].FileSDConfigs
	if len(fcs) != 2 || len(fcs[0].Files) != 3 || fcs[0].Files[1] != "/etc/promtail/sd/logs-*.yml" {
		t.Fatalf("file_sd_configs = %+v", fcs)
	}
	if fcs[0].RefreshInterval.D() != 5*time.Minute || fcs[1].RefreshInterval.D() != 30*time.Second {
		t.Errorf("refresh_interval = %v, %v, want 5m (default), 30s", fcs[0].RefreshInterval.D(), fcs[1].RefreshInterval.D())
	}
	if u := c.Unsupported(); len(u) != 0 {
		t.Errorf("Unsupported() = %q, want nothing", u)
	}
}
