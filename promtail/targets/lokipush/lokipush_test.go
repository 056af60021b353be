package lokipush

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
	"github.com/sluicelog/sluice/pkg/push"
	"github.com/sluicelog/sluice/promtail/client"
	"github.com/sluicelog/sluice/promtail/config"
	"github.com/sluicelog/sluice/promtail/stages"
	"github.com/sluicelog/sluice/promtail/targets"
)

// receiver is a Loki push endpoint on 127.0.0.1 that records what promtail's client sends.
type receiver struct {
	mu      sync.Mutex
	entries map[string][]logproto.Entry // by canonical label set
	srv     *http.Server
	url     string
}

func startReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{entries: map[string][]logproto.Entry{}}
	ln := listen(t)
	r.url = "http://" + ln.Addr().String() + "/loki/api/v1/push"
	r.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		pr, err := push.DecodeRequest(req, 10<<20)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, s := range pr.Streams {
			ls, err := syntax.ParseLabels(s.Labels)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.entries[ls.String()] = append(r.entries[ls.String()], s.Entries...)
		}
		w.WriteHeader(http.StatusNoContent)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	t.Cleanup(func() { _ = r.srv.Close() })
	return r
}

// wait returns the entries of stream once it has n, failing after 10s.
func (r *receiver) wait(t *testing.T, stream string, n int) []logproto.Entry {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		got := append([]logproto.Entry(nil), r.entries[stream]...)
		var all []string
		for k := range r.entries {
			all = append(all, k)
		}
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s: %d entries within 10s, want %d (streams: %v)", stream, len(got), n, all)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startTarget runs the loki_push_api scrape config of job (YAML of a scrape_configs item)
// into a real promtail client pushing to r.
func startTarget(t *testing.T, r *receiver, job string) *Target {
	t.Helper()
	y := fmt.Sprintf("clients: [{url: %q, batchwait: 10ms}]\nscrape_configs:\n  - %s", r.url,
		strings.ReplaceAll(strings.Trim(job, "\n"), "\n", "\n    "))
	cfg, err := config.Parse([]byte(y), false)
	if err != nil {
		t.Fatal(err)
	}
	mc, err := client.NewMulti(cfg.Clients, client.NewMetrics(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	sc := cfg.ScrapeConfigs[0]
	tmpl, err := stages.Build(sc.PipelineStages, stages.Options{JobName: sc.JobName})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := New(sc.JobName, *sc.PushAPI, targets.NewReceiver(sc.RelabelConfigs, tmpl, mc, targets.Limits{}, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tg.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("push target did not stop within 10s")
		}
		mc.Stop(context.Background())
	})
	return tg
}

const relayJob = `
job_name: relay
loki_push_api:
  server: {http_listen_address: 127.0.0.1, http_listen_port: 0, grpc_listen_port: 0}
  labels: {pushserver: relay1}
  use_incoming_timestamp: true
relabel_configs:
  - {source_labels: [app], target_label: service}
  - {action: labeldrop, regex: app|secret}
pipeline_stages:
  - regex: {expression: 'level=(?P<level>\w+)'}
  - labels: {level: }
`

func post(t *testing.T, url, contentType, encoding string, body []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

func TestPushProtobufThroughClient(t *testing.T) {
	r := startReceiver(t)
	tg := startTarget(t, r, relayJob)
	base := "http://" + tg.Addr().String()
	ts := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC).UnixNano()
	body := push.Encode(&logproto.PushRequest{Streams: []logproto.Stream{{
		Labels: `{app="api", secret="x", env="prod"}`,
		Entries: []logproto.Entry{
			{Timestamp: ts, Line: "level=info started", StructuredMetadata: labels.FromStrings("trace_id", "abc")},
			{Timestamp: ts + 1, Line: "level=error failed"},
		},
	}}})
	if resp := post(t, base+"/loki/api/v1/push", push.ContentTypeProto, "", body); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("push: status %d, want 204", resp.StatusCode)
	}
	info := r.wait(t, `{env="prod", level="info", pushserver="relay1", service="api"}`, 1)
	if info[0].Line != "level=info started" || info[0].Timestamp != ts {
		t.Errorf("entry %q at %d, want the pushed line at %d", info[0].Line, info[0].Timestamp, ts)
	}
	if got := info[0].StructuredMetadata.String(); got != `{trace_id="abc"}` {
		t.Errorf("structured metadata %s, want {trace_id=\"abc\"}", got)
	}
	errs := r.wait(t, `{env="prod", level="error", pushserver="relay1", service="api"}`, 1)
	if errs[0].Timestamp != ts+1 {
		t.Errorf("timestamp %d, want %d", errs[0].Timestamp, ts+1)
	}

	resp, err := http.Get(base + "/ready")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/ready: status %d", resp.StatusCode)
	}
}

func TestPushJSONGzipWithoutIncomingTimestamp(t *testing.T) {
	r := startReceiver(t)
	tg := startTarget(t, r, strings.Replace(relayJob, "use_incoming_timestamp: true", "use_incoming_timestamp: false", 1))
	base := "http://" + tg.Addr().String()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = io.WriteString(zw, `{"streams":[{"stream":{"app":"web"},"values":[["1000","level=warn slow",{"user":"ann"}]]}]}`)
	_ = zw.Close()
	before := time.Now().UnixNano()
	if resp := post(t, base+"/loki/api/v1/push", push.ContentTypeJSON, "gzip", gz.Bytes()); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("push: status %d, want 204", resp.StatusCode)
	}
	got := r.wait(t, `{level="warn", pushserver="relay1", service="web"}`, 1)
	if got[0].Line != "level=warn slow" || got[0].Timestamp < before {
		t.Errorf("entry %q at %d, want it stamped on arrival (after %d)", got[0].Line, got[0].Timestamp, before)
	}
	if sm := got[0].StructuredMetadata.String(); sm != `{user="ann"}` {
		t.Errorf("structured metadata %s", sm)
	}
}

func TestPushBadRequests(t *testing.T) {
	r := startReceiver(t)
	tg := startTarget(t, r, relayJob)
	base := "http://" + tg.Addr().String()
	if resp := post(t, base+"/loki/api/v1/push", push.ContentTypeJSON, "", []byte(`{"streams":[`)); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("broken JSON: status %d, want 400", resp.StatusCode)
	}
	if resp := post(t, base+"/loki/api/v1/push", push.ContentTypeProto, "", []byte("not snappy")); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("broken protobuf: status %d, want 400", resp.StatusCode)
	}
	// A stream with bad labels is refused; the good one beside it still goes through.
	body := []byte(`{"streams":[{"stream":{"app":"ok"},"values":[["1","level=info fine"]]},` +
		`{"stream":{"0bad":"x"},"values":[["1","lost"]]}]}`)
	if resp := post(t, base+"/loki/api/v1/push", push.ContentTypeJSON, "", body); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad label name: status %d, want 400", resp.StatusCode)
	}
	r.wait(t, `{level="info", pushserver="relay1", service="ok"}`, 1)
}

func TestRawEndpoint(t *testing.T) {
	r := startReceiver(t)
	tg := startTarget(t, r, relayJob)
	resp := post(t, "http://"+tg.Addr().String()+"/promtail/api/v1/raw", "text/plain", "", []byte("level=debug one\r\n\nlevel=debug two"))
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("raw: status %d, want 204", resp.StatusCode)
	}
	got := r.wait(t, `{level="debug", pushserver="relay1"}`, 2)
	if got[0].Line != "level=debug one" || got[1].Line != "level=debug two" {
		t.Errorf("lines %q %q", got[0].Line, got[1].Line)
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
