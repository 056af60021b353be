package agent

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"regexp"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicelog/sluice/pkg/push"
	"github.com/sluicelog/sluice/promtail/config"
)

// receiver is a real push endpoint on 127.0.0.1 that records lines per filename label.
type receiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	lines    map[string][]string
	arrived  map[string][]time.Time // when each of lines was received
	labels   map[string]string      // the stream labels last seen per filename
	fail     atomic.Bool
	dead     bool // after crash: requests are refused and not recorded
	requests atomic.Int64
	failed   atomic.Int64
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{lines: map[string][]string{}, arrived: map[string][]time.Time{}, labels: map[string]string{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		if r.fail.Load() {
			r.failed.Add(1)
			_, _ = io.Copy(io.Discard, req.Body)
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		pr, err := push.DecodeRequest(req, 64<<20)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.dead {
			http.Error(w, "agent crashed", http.StatusServiceUnavailable)
			return
		}
		for _, s := range pr.Streams {
			m := filenameRe.FindStringSubmatch(s.Labels)
			if m == nil {
				http.Error(w, "no filename label in "+s.Labels, http.StatusBadRequest)
				return
			}
			fn, err := strconv.Unquote(m[1])
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.labels[fn] = s.Labels
			now := time.Now()
			for _, e := range s.Entries {
				r.lines[fn] = append(r.lines[fn], e.Line)
				r.arrived[fn] = append(r.arrived[fn], now)
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// crash simulates a SIGKILL of the agent at this instant: it copies the positions file as it
// is now, atomically with respect to recorded pushes, and records nothing afterwards. saved is
// when the positions file was last written.
func (r *receiver) crash(t testing.TB, posFile string) (positions []byte, received map[string]int, saved time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, err := os.ReadFile(posFile)
	if err != nil {
		t.Fatalf("read positions at crash: %v", err)
	}
	st, err := os.Stat(posFile)
	if err != nil {
		t.Fatalf("stat positions at crash: %v", err)
	}
	r.dead = true
	received = map[string]int{}
	for k, v := range r.lines {
		received[k] = len(v)
	}
	return b, received, st.ModTime()
}

func (r *receiver) revive() {
	r.mu.Lock()
	r.dead = false
	r.mu.Unlock()
}

func (r *receiver) get(fn string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines[fn]...)
}

func (r *receiver) waitFor(t testing.TB, fn string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if got := r.get(fn); len(got) >= n {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
	got := r.get(fn)
	t.Fatalf("%s: received %d lines, want %d", fn, len(got), n)
	return nil
}

var filenameRe = regexp.MustCompile(`filename=("(?:[^"\\]|\\.)*")`)

func testConfig(t testing.TB, url, dir, posFile string) *config.Config {
	t.Helper()
	y := fmt.Sprintf(`
server:
  disable: true
positions:
  filename: %s
  sync_period: 50ms
clients:
  - url: %s/loki/api/v1/push
    batchwait: 20ms
    batchsize: 4096
    backoff_config: {min_period: 10ms, max_period: 50ms, max_retries: 1000}
global:
  file_watch_config: {min_poll_frequency: 10ms, max_poll_frequency: 10ms}
scrape_configs:
  - job_name: files
    static_configs:
      - targets: [localhost]
        labels:
          job: test
          __path__: %s/*.log
`, posFile, url, dir)
	cfg, err := config.Parse([]byte(y), false)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func startAgent(t testing.TB, cfg *config.Config) (stop func()) {
	t.Helper()
	return startAgentWith(t, cfg, Options{})
}

// startAgentWith is startAgent with opts (a registry to read metrics from, say).
func startAgentWith(t testing.TB, cfg *config.Config, opts Options) (stop func()) {
	t.Helper()
	a, err := New(cfg, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent Run: %v", err)
		}
	}
}

func appendLines(t testing.TB, path, prefix string, from, to int) []string {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	var b bytes.Buffer
	for i := from; i < to; i++ {
		l := fmt.Sprintf("%s line %d", prefix, i)
		want = append(want, l)
		b.WriteString(l + "\n")
	}
	if _, err := f.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return want
}

func equalLines(t testing.TB, name string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d lines, want %d\nfirst got: %.200q", name, len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%s: line %d = %q, want %q", name, i, got[i], want[i])
		}
	}
}

// TestRotateTruncateDelete writes, rotates by rename, copy-truncates and deletes files while
// the agent tails them, and checks every line arrives once, in order.
func TestRotateTruncateDelete(t *testing.T) {
	rcv := newReceiver(t)
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	if err := os.Mkdir(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, rcv.srv.URL, logs, filepath.Join(dir, "positions.yaml"))
	stop := startAgent(t, cfg)
	defer stop()

	a, b, c := filepath.Join(logs, "a.log"), filepath.Join(logs, "b.log"), filepath.Join(logs, "c.log")
	var wantA, wantB, wantC []string
	for round := 0; round < 5; round++ {
		wantA = append(wantA, appendLines(t, a, "a", round*200, round*200+200)...)
		wantB = append(wantB, appendLines(t, b, "b", round*200, round*200+200)...)
		wantC = append(wantC, appendLines(t, c, "c", round*200, round*200+200)...)
		time.Sleep(5 * time.Millisecond)
	}
	// Rotate a.log by rename right after writing: the old inode still holds unread lines.
	wantA = append(wantA, appendLines(t, a, "a", 1000, 1100)...)
	if err := os.Rename(a, a+".1"); err != nil {
		t.Fatal(err)
	}
	wantA = append(wantA, appendLines(t, a, "a-new", 0, 300)...)

	// copytruncate b.log once everything was read (what logrotate copies is not re-read).
	rcv.waitFor(t, b, len(wantB))
	copyTruncate(t, b)
	wantB = append(wantB, appendLines(t, b, "b-after", 0, 50)...)

	// Delete c.log right after a last write: it must still be read to its end.
	wantC = append(wantC, appendLines(t, c, "c", 1000, 1050)...)
	if err := os.Remove(c); err != nil {
		t.Fatal(err)
	}

	equalLines(t, "a.log", rcv.waitFor(t, a, len(wantA)), wantA)
	equalLines(t, "b.log", rcv.waitFor(t, b, len(wantB)), wantB)
	equalLines(t, "c.log", rcv.waitFor(t, c, len(wantC)), wantC)
	time.Sleep(100 * time.Millisecond)
	equalLines(t, "a.log (settled)", rcv.get(a), wantA)
	equalLines(t, "b.log (settled)", rcv.get(b), wantB)
	equalLines(t, "c.log (settled)", rcv.get(c), wantC)
}

// TestOutage makes the server answer 503 for a while: the agent retries and delivers all.
func TestOutage(t *testing.T) {
	rcv := newReceiver(t)
	dir := t.TempDir()
	cfg := testConfig(t, rcv.srv.URL, dir, filepath.Join(dir, "pos", "positions.yaml"))
	rcv.fail.Store(true)
	stop := startAgent(t, cfg)
	defer stop()
	p := filepath.Join(dir, "app.log")
	want := appendLines(t, p, "x", 0, 3000)
	deadline := time.Now().Add(10 * time.Second)
	for rcv.failed.Load() < 5 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	want = append(want, appendLines(t, p, "x", 3000, 4000)...)
	rcv.fail.Store(false)
	equalLines(t, "app.log", rcv.waitFor(t, p, len(want)), want)
	if rcv.failed.Load() < 5 {
		t.Fatalf("server refused %d requests, want at least 5", rcv.failed.Load())
	}
}

// TestCrashRestart kills the agent mid-stream (the positions file is frozen as it was at that
// instant and nothing is received afterwards), then starts a new one on the same positions
// file: nothing is lost, and what is sent twice is at most the one batch that was in flight
// plus what the server received after the positions file was last written (every
// sync_period, 50ms here).
func TestCrashRestart(t *testing.T) {
	rcv := newReceiver(t)
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	_ = os.Mkdir(logs, 0o755)
	posFile := filepath.Join(dir, "positions.yaml")
	cfg := testConfig(t, rcv.srv.URL, logs, posFile)
	p := filepath.Join(logs, "app.log")
	cfg.Server.GracefulShutdown = config.Duration(100 * time.Millisecond)
	stop := startAgent(t, cfg)
	// Write while the agent runs and "crash" it in the middle of the stream.
	var want []string
	written := make(chan struct{})
	go func() {
		defer close(written)
		for i := 0; i < 60; i++ {
			want = append(want, appendLines(t, p, "y", i*50, i*50+50)...)
			time.Sleep(2 * time.Millisecond)
		}
	}()
	rcv.waitFor(t, p, 1000)
	snapshot, received, saved := rcv.crash(t, posFile)
	// The positions are saved every sync_period (50ms): a much older file would make the bound
	// below meaningless.
	if age := time.Since(saved); age > 500*time.Millisecond {
		t.Fatalf("positions last saved %v before the crash", age)
	}
	stop() // what it does from now on is lost with the "killed" process
	<-written
	if err := os.WriteFile(posFile, snapshot, 0o644); err != nil {
		t.Fatal(err)
	}
	before := received[p]
	rcv.mu.Lock()
	rcv.lines[p] = rcv.lines[p][:before]
	lateBytes := 0 // received after the positions were saved: the saved position cannot cover them
	for i, at := range rcv.arrived[p][:before] {
		if !at.Before(saved) {
			lateBytes += len(rcv.lines[p][i])
		}
	}
	rcv.mu.Unlock()
	rcv.revive()
	want = append(want, appendLines(t, p, "y", 3000, 3500)...)
	stop = startAgent(t, testConfig(t, rcv.srv.URL, logs, posFile))
	defer stop()
	deadline := time.Now().Add(20 * time.Second)
	var got []string
	for time.Now().Before(deadline) {
		got = rcv.get(p)
		if len(got) > 0 && got[len(got)-1] == want[len(want)-1] {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// got must be want[:before] + want[j:] with j <= before: a prefix, then a replay from the
	// saved position, which is not after what the server had.
	equalLines(t, "before the crash", got[:before], want[:before])
	rest := got[before:]
	if len(rest) == 0 {
		t.Fatal("second run sent nothing")
	}
	j := -1
	for i, l := range want {
		if l == rest[0] {
			j = i
			break
		}
	}
	if j < 0 || j > before {
		t.Fatalf("second run started at %q (index %d), after the %d lines the server had: lines lost", rest[0], j, before)
	}
	equalLines(t, "after the restart", rest, want[j:])
	var dupBytes int
	for _, l := range want[j:before] {
		dupBytes += len(l)
	}
	if dupBytes > cfg.Clients[0].BatchSize+lateBytes {
		t.Fatalf("%d lines (%d bytes) sent twice, more than one %d-byte batch and the %d bytes received after the positions were saved",
			before-j, dupBytes, cfg.Clients[0].BatchSize, lateBytes)
	}
	t.Logf("%d lines (%d bytes) sent twice after the crash (%d bytes arrived after the positions were saved)", before-j, dupBytes, lateBytes)
}

// TestServerEndpoints checks /ready and /metrics on a real listener.
func TestServerEndpoints(t *testing.T) {
	rcv := newReceiver(t)
	dir := t.TempDir()
	cfg := testConfig(t, rcv.srv.URL, dir, filepath.Join(dir, "positions.yaml"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	cfg.Server.Disable = false
	cfg.Server.HTTPListenAddress = "127.0.0.1"
	cfg.Server.HTTPListenPort = port
	p := filepath.Join(dir, "m.log")
	want := appendLines(t, p, "m", 0, 10)
	stop := startAgent(t, cfg)
	defer stop()
	rcv.waitFor(t, p, len(want))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	resp, err := http.Get(base + "/ready")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/ready = %d, want 200", resp.StatusCode)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err = http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		s := string(body)
		ok := strings.Contains(s, "promtail_sent_entries_total") && strings.Contains(s, "promtail_read_bytes_total") &&
			strings.Contains(s, "promtail_files_active_total 1")
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks promtail counters:\n%.2000s", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestGlobExcludeAndLimits tails a ** glob minus __path_exclude__, and applies max_line_size.
func TestGlobExcludeAndLimits(t *testing.T) {
	rcv := newReceiver(t)
	dir := t.TempDir()
	y := fmt.Sprintf(`
server: {disable: true}
positions: {filename: %s/pos.yaml, sync_period: 50ms}
clients: [{url: %s, batchwait: 20ms}]
global: {file_watch_config: {min_poll_frequency: 10ms}}
limits_config: {max_line_size: 10, max_line_size_truncate: true}
scrape_configs:
  - job_name: deep
    static_configs:
      - labels: {__path__: "%s/logs/**/*.log", __path_exclude__: "%s/logs/**/skip.log"}
`, dir, rcv.srv.URL, dir, dir)
	cfg, err := config.Parse([]byte(y), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"logs/a/b", "logs/c"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	x := filepath.Join(dir, "logs", "a", "b", "x.log")
	z := filepath.Join(dir, "logs", "c", "z.log")
	skip := filepath.Join(dir, "logs", "c", "skip.log")
	appendLines(t, x, "x", 0, 3)
	appendLines(t, skip, "s", 0, 3)
	stop := startAgent(t, cfg)
	defer stop()
	// A file created after the start is picked up and read from its beginning.
	appendLines(t, z, "z", 0, 2)
	equalLines(t, "x.log", rcv.waitFor(t, x, 3), []string{"x line 0", "x line 1", "x line 2"})
	equalLines(t, "z.log", rcv.waitFor(t, z, 2), []string{"z line 0", "z line 1"})
	time.Sleep(100 * time.Millisecond)
	if got := rcv.get(skip); len(got) != 0 {
		t.Fatalf("excluded file was sent: %q", got)
	}
	long := filepath.Join(dir, "logs", "long.log")
	if err := os.WriteFile(long, []byte("0123456789abcdef\nh\u00e9llo w\u00f6rld!\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	equalLines(t, "long.log", rcv.waitFor(t, long, 2), []string{"0123456789", "h\u00e9llo w\u00f6"})
}

// TestBackPressure keeps the server down: the agent must stop reading instead of buffering
// the whole file, then deliver everything once the server is back.
func TestBackPressure(t *testing.T) {
	rcv := newReceiver(t)
	rcv.fail.Store(true)
	dir := t.TempDir()
	cfg := testConfig(t, rcv.srv.URL, dir, filepath.Join(dir, "positions.yaml"))
	p := filepath.Join(dir, "big.log")
	want := appendLines(t, p, "some moderately long line to fill the file quickly", 0, 40000)
	fi, _ := os.Stat(p)
	reg := prometheus.NewRegistry()
	a, err := New(cfg, Options{Registry: reg}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	readBytes := func() float64 {
		mfs, _ := reg.Gather()
		for _, mf := range mfs {
			if mf.GetName() == "promtail_read_bytes_total" {
				return mf.GetMetric()[0].GetCounter().GetValue()
			}
		}
		return 0
	}
	time.Sleep(300 * time.Millisecond)
	if rb := readBytes(); rb == 0 || rb > float64(fi.Size())/4 {
		t.Fatalf("read %v of %d bytes while the server was down, want some but bounded", rb, fi.Size())
	}
	rcv.fail.Store(false)
	equalLines(t, "big.log", rcv.waitFor(t, p, len(want)), want)
}

// TestDryRun prints entries instead of pushing them.
func TestDryRun(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, "http://127.0.0.1:1", dir, filepath.Join(dir, "positions.yaml"))
	p := filepath.Join(dir, "d.log")
	appendLines(t, p, "dry", 0, 3)
	var out syncBuffer
	a, err := New(cfg, Options{DryRun: true, Stdout: &out}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "dry line 2") {
		if time.Now().After(deadline) {
			t.Fatalf("dry run printed %q", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `job="test"`) {
		t.Errorf("dry run output lacks labels: %q", out.String())
	}
	// A dry run must not move the positions, or a real run would skip what it printed.
	if b, err := os.ReadFile(filepath.Join(dir, "positions.yaml")); err == nil && strings.Contains(string(b), "d.log") {
		t.Errorf("dry run saved positions: %s", b)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// copyTruncate rotates path as logrotate's copytruncate does: copy it aside, then truncate it.
func copyTruncate(t *testing.T, path string) {
	t.Helper()
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".1", old, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let the tailer see the shrunken file before new writes
}
