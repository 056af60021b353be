package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/push"
	"github.com/sluicelog/sluice/promtail/ack"
	"github.com/sluicelog/sluice/promtail/config"
	"github.com/sluicelog/sluice/promtail/entry"
)

type pushServer struct {
	*httptest.Server
	mu       sync.Mutex
	reqs     []*logproto.PushRequest
	headers  []http.Header
	statuses []int // answered in turn; 204 once exhausted
	calls    atomic.Int64
}

func newPushServer(t *testing.T, statuses ...int) *pushServer {
	s := &pushServer{statuses: statuses}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(s.calls.Add(1)) - 1
		if n < len(s.statuses) {
			http.Error(w, "nope", s.statuses[n])
			return
		}
		req, err := push.DecodeRequest(r, 10<<20)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.reqs = append(s.reqs, req)
		s.headers = append(s.headers, r.Header.Clone())
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *pushServer) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.reqs {
		for _, st := range r.Streams {
			for _, e := range st.Entries {
				out = append(out, st.Labels+" "+e.Line)
			}
		}
	}
	return out
}

func cfg(url string) config.ClientConfig {
	return config.ClientConfig{URL: url + "/loki/api/v1/push", BatchWait: config.Duration(20 * time.Millisecond), BatchSize: 1 << 20,
		Timeout: config.Duration(5 * time.Second),
		Backoff: config.BackoffConfig{MinPeriod: config.Duration(5 * time.Millisecond), MaxPeriod: config.Duration(20 * time.Millisecond), MaxRetries: 5}}
}

func send(t *testing.T, c *Client, tr *ack.Tracker, lbls model.LabelSet, lines ...string) {
	t.Helper()
	var off int64
	for _, l := range lines {
		off += int64(len(l) + 1)
		c.Chan() <- entry.New(lbls, "", l, time.Now().UnixNano(), tr.Add(off))
	}
}

func waitCommitted(t *testing.T, tr *ack.Tracker, want int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for tr.Committed() != want {
		if time.Now().After(deadline) {
			t.Fatalf("Committed() = %d, want %d", tr.Committed(), want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestRetriesThenDelivers(t *testing.T) {
	for _, status := range []int{500, 503, 429} {
		srv := newPushServer(t, status, status)
		reg := prometheus.NewRegistry()
		c, err := New(cfg(srv.URL), NewMetrics(reg), nil)
		if err != nil {
			t.Fatal(err)
		}
		tr := ack.NewTracker(0, 1)
		send(t, c, tr, model.LabelSet{"app": "a"}, "one", "two")
		waitCommitted(t, tr, 8)
		c.Stop(context.Background())
		if got := srv.lines(); len(got) != 2 || got[0] != `{app="a"} one` {
			t.Errorf("status %d: server got %q", status, got)
		}
		if n := counterValue(c.m.Retries.WithLabelValues(c.host)); n != 2 {
			t.Errorf("status %d: retries = %v, want 2", status, n)
		}
	}
}

func TestGivesUpOn4xx(t *testing.T) {
	srv := newPushServer(t, 400)
	c, err := New(cfg(srv.URL), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := ack.NewTracker(0, 1)
	send(t, c, tr, model.LabelSet{"app": "a"}, "bad")
	waitCommitted(t, tr, 4) // given up: the position moves on
	c.Stop(context.Background())
	if n := srv.calls.Load(); n != 1 {
		t.Errorf("server called %d times, want 1 (no retry on 400)", n)
	}
	if n := counterValue(c.m.DroppedEntries.WithLabelValues(c.host, "ingester_error")); n != 1 {
		t.Errorf("dropped = %v, want 1", n)
	}
}

func TestGivesUpAfterMaxRetries(t *testing.T) {
	srv := newPushServer(t, 500, 500, 500, 500, 500, 500, 500)
	c, _ := New(cfg(srv.URL), nil, nil)
	tr := ack.NewTracker(0, 1)
	send(t, c, tr, model.LabelSet{"app": "a"}, "x")
	waitCommitted(t, tr, 2)
	c.Stop(context.Background())
	if n := srv.calls.Load(); n != 5 {
		t.Errorf("server called %d times, want max_retries=5", n)
	}
}

func TestConnectionErrorRetries(t *testing.T) {
	srv := newPushServer(t)
	url := srv.URL
	srv.Close() // nothing listens now
	cc := cfg(url)
	cc.Backoff.MaxRetries = 1000
	c, _ := New(cc, nil, nil)
	tr := ack.NewTracker(0, 1)
	send(t, c, tr, model.LabelSet{"app": "a"}, "x")
	time.Sleep(100 * time.Millisecond)
	if tr.Committed() != 0 {
		t.Fatal("position advanced without an acknowledgement")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	c.Stop(ctx) // abandons the batch: its line stays unacknowledged
	if tr.Committed() != 0 || tr.Pending() != 1 {
		t.Fatalf("after abandoned stop: committed %d pending %d", tr.Committed(), tr.Pending())
	}
}

func TestBatchingTenantsAndHeaders(t *testing.T) {
	srv := newPushServer(t)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cc := cfg(srv.URL)
	cc.TenantID = "default-tenant"
	cc.BatchSize = 100
	cc.BearerTokenFile = tokenFile
	cc.ExternalLabels = map[string]string{"cluster": "c1", "app": "overridden"}
	cc.Headers = map[string]string{"X-Extra": "1"}
	c, _ := New(cc, nil, nil)
	tr := ack.NewTracker(0, 1)
	var lines []string
	for i := 0; i < 30; i++ {
		lines = append(lines, "0123456789")
	}
	send(t, c, tr, model.LabelSet{"app": "a"}, lines...)
	send(t, c, tr, model.LabelSet{"app": "b", "__tenant_id__": "other"}, "for other")
	c.Stop(context.Background())
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.reqs) < 4 {
		t.Fatalf("%d requests, want at least 4 (100-byte batches of 300 bytes, plus another tenant)", len(srv.reqs))
	}
	tenants := map[string]int{}
	for i, h := range srv.headers {
		tenants[h.Get("X-Scope-OrgID")]++
		if h.Get("Authorization") != "Bearer s3cret" || h.Get("X-Extra") != "1" || h.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("request %d headers %v", i, h)
		}
		for _, s := range srv.reqs[i].Streams {
			if s.Labels != `{app="a", cluster="c1"}` && s.Labels != `{app="b", cluster="c1"}` {
				t.Errorf("stream labels %s", s.Labels)
			}
		}
	}
	if tenants["other"] != 1 || tenants["default-tenant"] < 3 {
		t.Errorf("tenants %v", tenants)
	}
}

func TestMultiNeedsEveryClient(t *testing.T) {
	ok := newPushServer(t)
	down := newPushServer(t, 503, 503, 503)
	m, err := NewMulti([]config.ClientConfig{cfg(ok.URL), cfg(down.URL)}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := ack.NewTracker(0, m.Len())
	if err := m.Send(context.Background(), entry.New(model.LabelSet{"a": "b"}, "", "x", 1, tr.Add(2))); err != nil {
		t.Fatal(err)
	}
	waitCommitted(t, tr, 2)
	m.Stop(context.Background())
	if len(ok.lines()) != 1 || len(down.lines()) != 1 {
		t.Fatalf("ok got %v, down got %v", ok.lines(), down.lines())
	}
	if err := m.Send(context.Background(), entry.New(model.LabelSet{"a": "b"}, "", "x", 1, ack.Ack{})); err == nil {
		t.Fatal("Send after Stop succeeded")
	}
}

func TestBadConfig(t *testing.T) {
	for _, c := range []config.ClientConfig{
		{URL: "not a url"},
		{URL: "http://x", TLSConfig: config.TLSConfig{CAFile: "/does/not/exist"}},
		{URL: "http://x", TLSConfig: config.TLSConfig{MinVersion: "TLS99"}},
	} {
		if _, err := New(c, nil, nil); err == nil {
			t.Errorf("New(%+v) succeeded", c)
		}
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}
