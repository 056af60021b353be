package agent

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/push"
	"github.com/sluicelog/sluice/pkg/sluice"
	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
	"github.com/sluicelog/sluice/promtail/config"
)

// TestReceiversEndToEnd runs the agent with a syslog job (TCP) and a loki_push_api job
// against a real Sluice: messages sent to the listeners go through relabelling, a pipeline
// stage and promtail's client, and are read back with query_range. Stopping the agent
// closes the listeners.
func TestReceiversEndToEnd(t *testing.T) {
	port := freePort(t)
	srv := sluicetest.Start(t, sluicetest.WithConfig(func(c *sluice.Config) { c.Server.HTTPListenPort = port }))
	dir := t.TempDir()
	y := fmt.Sprintf(`
server: {disable: true}
positions: {filename: %s}
clients:
  - url: http://127.0.0.1:%d/loki/api/v1/push
    batchwait: 20ms
scrape_configs:
  - job_name: syslog
    syslog:
      listen_address: 127.0.0.1:0
      label_structured_data: true
      labels: {job: syslog}
    relabel_configs:
      - {source_labels: [__syslog_message_app_name], target_label: app}
      - {source_labels: [__syslog_message_sd_origin_ip], target_label: origin}
  - job_name: relay
    loki_push_api:
      server: {http_listen_address: 127.0.0.1, http_listen_port: 0}
      labels: {via: relay}
    relabel_configs:
      - {source_labels: [source], target_label: job}
      - {action: labeldrop, regex: source}
    pipeline_stages:
      - regex: {expression: 'status=(?P<status>\d+)'}
      - labels: {status: }
`, filepath.Join(dir, "positions.yaml"), port)
	cfg, err := config.Parse([]byte(y), false)
	if err != nil {
		t.Fatal(err)
	}
	if u := cfg.Unsupported(); len(u) != 0 {
		t.Errorf("Unsupported() = %v, want nothing", u)
	}
	ag, err := New(cfg, Options{Registry: prometheus.NewRegistry()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent Run: %v", err)
		}
	}
	defer stop()

	syslogAddr, relayAddr := ag.ListenerAddrs("syslog")[0], ag.ListenerAddrs("relay")[0]
	c, err := net.Dial("tcp", syslogAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var want []string
	var frames strings.Builder
	for i := range 20 {
		line := fmt.Sprintf("syslog line %d", i)
		want = append(want, line)
		msg := fmt.Sprintf(`<14>1 - host1 billing - - [origin ip="10.0.0.9"] %s`, line)
		fmt.Fprintf(&frames, "%d %s", len(msg), msg)
	}
	if _, err := io.WriteString(c, frames.String()); err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	body := push.Encode(&logproto.PushRequest{Streams: []logproto.Stream{{
		Labels: `{source="nginx", host="web1"}`,
		Entries: []logproto.Entry{
			{Timestamp: now.UnixNano(), Line: "GET / status=200"},
			{Timestamp: now.UnixNano() + 1, Line: "GET /x status=404"},
		},
	}}})
	resp, err := http.Post("http://"+relayAddr.String()+"/loki/api/v1/push", push.ContentTypeProto, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("push to the relay: status %d, want 204", resp.StatusCode)
	}

	checkSluice(t, srv.URL, []wantStream{
		{`{job="syslog", app="billing", origin="10.0.0.9"}`, want},
		{`{job="nginx", host="web1", via="relay", status="200"}`, []string{"GET / status=200"}},
		{`{job="nginx", host="web1", via="relay", status="404"}`, []string{"GET /x status=404"}},
	})

	stop()
	if _, err := net.DialTimeout("tcp", syslogAddr.String(), time.Second); err == nil {
		t.Error("syslog listener still accepts after the agent stopped")
	}
	if _, err := net.DialTimeout("tcp", relayAddr.String(), time.Second); err == nil {
		t.Error("push listener still accepts after the agent stopped")
	}
}
