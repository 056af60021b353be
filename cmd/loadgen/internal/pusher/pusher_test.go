package pusher

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/push"
)

// lines is a Source of n lines over the given number of streams, round robin.
type lines struct {
	n, streams, next int
	done             atomic.Bool // the source has been read to its end
	// When gate is set, the last line waits until gate is closed or for at most hold.
	gate chan struct{}
	hold time.Duration
}

func (l *lines) Next() (int, int64, string, bool) {
	if l.next >= l.n {
		l.done.Store(true)
		return 0, 0, "", false
	}
	if l.gate != nil && l.next == l.n-1 {
		select {
		case <-l.gate:
		case <-time.After(l.hold):
		}
	}
	i := l.next
	l.next++
	return i % l.streams, int64(1_000_000 + i), fmt.Sprintf("line %06d of stream %d", i, i%l.streams), true
}

func testLabels(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(`{app="a%d"}`, i)
	}
	return out
}

// receiver is a push endpoint that records what it accepted and answers the first failures
// requests with failStatus.
type receiver struct {
	mu         sync.Mutex
	streams    map[string][]logproto.Entry
	bodies     []int // raw line bytes per accepted request
	failStatus int
	failures   atomic.Int64
	calls      atomic.Int64
	tenant     string
	// When src is set, early counts the requests that came before src was read to its end,
	// and the first request closes src.gate.
	src   *lines
	early atomic.Int64
	first sync.Once
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.calls.Add(1)
	if r.src != nil && !r.src.done.Load() {
		r.early.Add(1)
	}
	if r.src != nil && r.src.gate != nil {
		r.first.Do(func() { close(r.src.gate) })
	}
	if r.failures.Add(-1) >= 0 {
		http.Error(w, "try later", r.failStatus)
		return
	}
	pr, err := push.DecodeRequest(req, 100<<20)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tenant = req.Header.Get("X-Scope-OrgID")
	if r.streams == nil {
		r.streams = map[string][]logproto.Entry{}
	}
	raw := 0
	for _, s := range pr.Streams {
		r.streams[s.Labels] = append(r.streams[s.Labels], s.Entries...)
		for _, e := range s.Entries {
			raw += len(e.Line)
		}
	}
	r.bodies = append(r.bodies, raw)
	w.WriteHeader(http.StatusNoContent)
}

func testConfig(url string) Config {
	return Config{URL: url, BatchBytes: 4096, Workers: 3, MaxRetries: 5, MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond}
}

func TestRunDeliversEverythingInOrder(t *testing.T) {
	cases := []struct {
		name       string
		failStatus int
		failures   int64
		prepare    bool
	}{
		{"no failures", 0, 0, false},
		{"429 then success", http.StatusTooManyRequests, 3, false},
		{"503 then success", http.StatusServiceUnavailable, 2, false},
		{"prepared", 0, 0, true},
		{"prepared, 503 then success", http.StatusServiceUnavailable, 2, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			const n, streams = 3000, 7
			// The last line is held back until the first request comes: unprepared, that is
			// soon (the workers push as they go); prepared, none comes before the source
			// ends, and the hold runs out.
			hold := 10 * time.Second
			if c.prepare {
				hold = 300 * time.Millisecond
			}
			src := &lines{n: n, streams: streams, gate: make(chan struct{}), hold: hold}
			rcv := &receiver{failStatus: c.failStatus, src: src}
			rcv.failures.Store(c.failures)
			srv := httptest.NewServer(rcv)
			defer srv.Close()
			cfg := testConfig(srv.URL)
			cfg.Tenant = "bench"
			cfg.Prepare = c.prepare
			var ctr Counters
			res, err := Run(context.Background(), cfg, testLabels(streams), src, &ctr)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if early := rcv.early.Load(); c.prepare != (early == 0) {
				t.Errorf("prepare=%v: %d of %d requests were sent before the source ended", c.prepare, early, rcv.calls.Load())
			}
			if res.Lines != n || ctr.Lines.Load() != n {
				t.Errorf("Run reported %d lines (counters %d), want %d", res.Lines, ctr.Lines.Load(), n)
			}
			if res.Retries != c.failures {
				t.Errorf("Run reported %d retries, want %d", res.Retries, c.failures)
			}
			if res.Requests != rcv.calls.Load() {
				t.Errorf("Run reported %d requests, server saw %d", res.Requests, rcv.calls.Load())
			}
			if rcv.tenant != "bench" {
				t.Errorf("X-Scope-OrgID = %q, want bench", rcv.tenant)
			}
			var raw int64
			for _, b := range rcv.bodies {
				raw += int64(b)
				// A batch is sent once it reaches BatchBytes: at most one line over.
				if b >= cfg.BatchBytes+64 {
					t.Errorf("a batch held %d line bytes, want under %d", b, cfg.BatchBytes+64)
				}
			}
			if raw != res.RawBytes {
				t.Errorf("Run reported %d raw bytes, server got %d", res.RawBytes, raw)
			}
			total := 0
			for s := 0; s < streams; s++ {
				got := rcv.streams[testLabels(streams)[s]]
				total += len(got)
				for i := 1; i < len(got); i++ {
					if got[i].Timestamp <= got[i-1].Timestamp {
						t.Fatalf("stream %d: entry %d at %d arrived after one at %d", s, i, got[i].Timestamp, got[i-1].Timestamp)
					}
				}
				if len(got) > 0 && !strings.HasSuffix(got[0].Line, fmt.Sprintf("of stream %d", s)) {
					t.Errorf("stream %d got line %q", s, got[0].Line)
				}
			}
			if total != n {
				t.Errorf("server got %d entries, want %d", total, n)
			}
		})
	}
}

func TestRunFails(t *testing.T) {
	cases := []struct {
		name       string
		failStatus int
		failures   int64
		want       string
		wantCalls  int64
	}{
		{"bad request is not retried", http.StatusBadRequest, 1, "400 Bad Request: try later", 1},
		{"retries run out", http.StatusInternalServerError, 1000, "push failed 6 times", 6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rcv := &receiver{failStatus: c.failStatus}
			rcv.failures.Store(c.failures)
			srv := httptest.NewServer(rcv)
			defer srv.Close()
			cfg := testConfig(srv.URL)
			cfg.Workers = 1
			_, err := Run(context.Background(), cfg, testLabels(2), &lines{n: 10000, streams: 2}, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Run = %v, want an error containing %q", err, c.want)
			}
			if got := rcv.calls.Load(); got != c.wantCalls {
				t.Errorf("server saw %d requests, want %d", got, c.wantCalls)
			}
		})
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "overloaded", http.StatusTooManyRequests)
	}))
	defer srv.Close()
	cfg := testConfig(srv.URL)
	cfg.MaxRetries = 1 << 30
	cfg.MinBackoff, cfg.MaxBackoff = 10*time.Millisecond, 10*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Run(ctx, cfg, testLabels(3), &lines{n: 1 << 20, streams: 3}, nil)
	if err == nil {
		t.Fatal("Run returned nil after its context was canceled")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run took %s to stop after cancel", d)
	}
}

func TestBadInput(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		src  Source
		want string
	}{
		{"bad url", Config{URL: "localhost:3100", BatchBytes: 1, Workers: 1, MinBackoff: 1, MaxBackoff: 1}, &lines{}, "not an http(s) URL"},
		{"no workers", Config{URL: "http://x", BatchBytes: 1, MinBackoff: 1, MaxBackoff: 1}, &lines{}, "workers: must be positive"},
		{"bad backoff", Config{URL: "http://x", BatchBytes: 1, Workers: 1, MinBackoff: 2, MaxBackoff: 1}, &lines{}, "backoff"},
		{"stream without labels", Config{URL: "http://127.0.0.1:1", BatchBytes: 1 << 20, Workers: 1, MinBackoff: 1, MaxBackoff: 1}, &lines{n: 10, streams: 5}, "only 2 streams have labels"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Run(context.Background(), c.cfg, testLabels(2), c.src, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Run = %v, want an error containing %q", err, c.want)
			}
		})
	}
}
