package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicelog/sluice/pkg/sluice"
	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
	"github.com/sluicelog/sluice/promtail/config"
)

// This file runs the agent against a real Sluice server: lines go through promtail's
// pipeline, the push API, the ingester (and, after a restart, the chunk store), and are
// checked with query_range as Grafana would read them.

// sluiceStream is one stream of a query_range answer.
type sluiceStream struct {
	Labels map[string]string
	Lines  []string
	TS     []int64
}

// sluiceQuery runs a forward log query over the last hour (and the next minute) and decodes
// Loki's JSON answer.
func sluiceQuery(base, query string) ([]sluiceStream, error) {
	now := time.Now()
	v := url.Values{
		"query":     {query},
		"start":     {strconv.FormatInt(now.Add(-time.Hour).UnixNano(), 10)},
		"end":       {strconv.FormatInt(now.Add(time.Minute).UnixNano(), 10)},
		"limit":     {"5000"},
		"direction": {"forward"},
	}
	resp, err := http.Get(base + "/loki/api/v1/query_range?" + v.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Stream map[string]string `json:"stream"`
				Values [][2]string       `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if resp.StatusCode != http.StatusOK {
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return nil, fmt.Errorf("query_range %s: status %d: %s", query, resp.StatusCode, b.String())
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("decode query_range answer: %w", err)
	}
	if body.Status != "success" || body.Data.ResultType != "streams" {
		return nil, fmt.Errorf("query_range %s: status %q, resultType %q", query, body.Status, body.Data.ResultType)
	}
	out := make([]sluiceStream, 0, len(body.Data.Result))
	for _, r := range body.Data.Result {
		s := sluiceStream{Labels: r.Stream}
		for _, v := range r.Values {
			ts, err := strconv.ParseInt(v[0], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("query_range %s: timestamp %q: %w", query, v[0], err)
			}
			s.TS = append(s.TS, ts)
			s.Lines = append(s.Lines, v[1])
		}
		out = append(out, s)
	}
	return out, nil
}

// wantStream is what one selector must return: a single stream holding exactly these lines,
// in this order.
type wantStream struct {
	selector string
	lines    []string
}

// checkSluice waits until every selector returns at least its number of lines, then checks
// each is exactly one stream with exactly the wanted lines in order (nothing lost, nothing
// twice) and non-decreasing timestamps.
func checkSluice(t *testing.T, base string, wants []wantStream) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, w := range wants {
		var got []sluiceStream
		for {
			var err error
			got, err = sluiceQuery(base, w.selector)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, s := range got {
				n += len(s.Lines)
			}
			if n >= len(w.lines) || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if len(got) != 1 {
			var sets []map[string]string
			for _, s := range got {
				sets = append(sets, s.Labels)
			}
			t.Fatalf("%s: %d streams %v, want 1 holding %d lines", w.selector, len(got), sets, len(w.lines))
		}
		equalLines(t, w.selector, got[0].Lines, w.lines)
		for i := 1; i < len(got[0].TS); i++ {
			if got[0].TS[i] < got[0].TS[i-1] {
				t.Fatalf("%s: timestamps go back at line %d: %d after %d", w.selector, i, got[0].TS[i], got[0].TS[i-1])
			}
		}
	}
}

// freePort returns a port that was free on 127.0.0.1 a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// criClock hands out strictly increasing CRI timestamps, so each stream of a file is in order.
type criClock struct{ ns atomic.Int64 }

func (c *criClock) next() string {
	return time.Unix(0, c.ns.Add(int64(time.Millisecond))).UTC().Format(time.RFC3339Nano)
}

// appendCRI appends container-runtime lines to path, alternating stdout and stderr (every
// third line goes to stderr) and splitting every fifth line into a partial (P) part and its
// final (F) part, as the runtime does for long lines. It returns the lines the cri stage
// must produce, per stream.
func appendCRI(t *testing.T, clock *criClock, path, prefix string, from, to int) (stdout, stderr []string) {
	t.Helper()
	var b bytes.Buffer
	for i := from; i < to; i++ {
		stream := "stdout"
		if i%3 == 2 {
			stream = "stderr"
		}
		line := fmt.Sprintf("%s %s line %d", prefix, stream, i)
		if i%5 == 0 {
			half := len(line) / 2
			fmt.Fprintf(&b, "%s %s P %s\n", clock.next(), stream, line[:half])
			fmt.Fprintf(&b, "%s %s F %s\n", clock.next(), stream, line[half:])
		} else {
			fmt.Fprintf(&b, "%s %s F %s\n", clock.next(), stream, line)
		}
		if stream == "stdout" {
			stdout = append(stdout, line)
		} else {
			stderr = append(stderr, line)
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return stdout, stderr
}

// e2eConfig scrapes plain files (job plain) and CRI files through a cri stage (job cri),
// pushing to Sluice on 127.0.0.1:port with fast retries that outlast a restart.
func e2eConfig(t *testing.T, port int, plainDir, criDir, posFile string) *config.Config {
	t.Helper()
	y := fmt.Sprintf(`
server: {disable: true}
positions: {filename: %s, sync_period: 50ms}
clients:
  - url: http://127.0.0.1:%d/loki/api/v1/push
    batchwait: 20ms
    batchsize: 8192
    backoff_config: {min_period: 10ms, max_period: 100ms, max_retries: 100000}
global:
  file_watch_config: {min_poll_frequency: 10ms, max_poll_frequency: 10ms}
scrape_configs:
  - job_name: plain
    static_configs:
      - targets: [localhost]
        labels: {job: plain, __path__: "%s/*.log"}
  - job_name: cri
    pipeline_stages:
      - cri: {}
    static_configs:
      - targets: [localhost]
        labels: {job: cri, __path__: "%s/*.log"}
`, posFile, port, plainDir, criDir)
	cfg, err := config.Parse([]byte(y), false)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestSluiceEndToEnd tails plain and CRI files into a real Sluice while they are written,
// rotated by rename, copy-truncated and removed; then stops Sluice, keeps writing, starts
// it again on the same data directory and port, and checks with query_range that every line
// arrived exactly once, in order, in its own stream.
func TestSluiceEndToEnd(t *testing.T) {
	port := freePort(t)
	onPort := sluicetest.WithConfig(func(c *sluice.Config) { c.Server.HTTPListenPort = port })
	srv := sluicetest.Start(t, onPort)

	dir := t.TempDir()
	plain, cri := filepath.Join(dir, "plain"), filepath.Join(dir, "cri")
	for _, d := range []string{plain, cri} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	ag, err := New(e2eConfig(t, port, plain, cri, filepath.Join(dir, "positions.yaml")), Options{Registry: reg}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent Run: %v", err)
		}
	}()

	a, b, c, d := filepath.Join(plain, "a.log"), filepath.Join(plain, "b.log"), filepath.Join(plain, "c.log"), filepath.Join(plain, "d.log")
	app, rot := filepath.Join(cri, "app.log"), filepath.Join(cri, "rot.log")
	var clock criClock
	clock.ns.Store(time.Now().Add(-10 * time.Minute).UnixNano())
	var wantA, wantB, wantC, wantD, appOut, appErr, rotOut, rotErr []string
	addCRI := func(path, prefix string, from, to int, out, errs *[]string) {
		o, e := appendCRI(t, &clock, path, prefix, from, to)
		*out, *errs = append(*out, o...), append(*errs, e...)
	}

	for round := 0; round < 4; round++ {
		wantA = append(wantA, appendLines(t, a, "a", round*100, round*100+100)...)
		wantB = append(wantB, appendLines(t, b, "b", round*100, round*100+100)...)
		wantC = append(wantC, appendLines(t, c, "c", round*100, round*100+100)...)
		addCRI(app, "app", round*100, round*100+100, &appOut, &appErr)
		addCRI(rot, "rot", round*50, round*50+50, &rotOut, &rotErr)
		time.Sleep(10 * time.Millisecond)
	}
	// Rotate a.log by rename right after a write: the old inode still holds unread lines.
	wantA = append(wantA, appendLines(t, a, "a", 400, 500)...)
	if err := os.Rename(a, a+".1"); err != nil {
		t.Fatal(err)
	}
	wantA = append(wantA, appendLines(t, a, "a-new", 0, 300)...)
	// The kubelet's rotation of a CRI log: rename to a dated name, start a new file.
	addCRI(rot, "rot", 200, 250, &rotOut, &rotErr)
	if err := os.Rename(rot, rot+".20261122-000000"); err != nil {
		t.Fatal(err)
	}
	addCRI(rot, "rot-new", 0, 100, &rotOut, &rotErr)

	// copytruncate b.log once Sluice has all of it (what logrotate copies is not re-read).
	checkSluice(t, srv.URL, []wantStream{{fmt.Sprintf(`{filename=%q}`, b), wantB}})
	copyTruncate(t, b)
	wantB = append(wantB, appendLines(t, b, "b-after", 0, 100)...)

	// Remove c.log right after a last write: it must still be read to its end.
	wantC = append(wantC, appendLines(t, c, "c", 400, 450)...)
	if err := os.Remove(c); err != nil {
		t.Fatal(err)
	}

	wants := func() []wantStream {
		return []wantStream{
			{fmt.Sprintf(`{job="plain", filename=%q}`, a), wantA},
			{fmt.Sprintf(`{job="plain", filename=%q}`, b), wantB},
			{fmt.Sprintf(`{job="plain", filename=%q}`, c), wantC},
			{fmt.Sprintf(`{job="cri", filename=%q, stream="stdout"}`, app), appOut},
			{fmt.Sprintf(`{job="cri", filename=%q, stream="stderr"}`, app), appErr},
			{fmt.Sprintf(`{job="cri", filename=%q, stream="stdout"}`, rot), rotOut},
			{fmt.Sprintf(`{job="cri", filename=%q, stream="stderr"}`, rot), rotErr},
		}
	}
	checkSluice(t, srv.URL, wants())
	// Settled: nothing arrives twice later.
	time.Sleep(200 * time.Millisecond)
	checkSluice(t, srv.URL, wants())

	// Outage: Sluice stops (flushing its chunks as on SIGTERM) while the files keep growing
	// and a new one appears; the agent retries until a new server on the same data and port
	// answers.
	if err := srv.Stop(); err != nil {
		t.Fatalf("stop sluice: %v", err)
	}
	wantA = append(wantA, appendLines(t, a, "a-outage", 0, 200)...)
	wantB = append(wantB, appendLines(t, b, "b-outage", 0, 200)...)
	wantD = append(wantD, appendLines(t, d, "d-outage", 0, 200)...)
	addCRI(app, "app-outage", 0, 150, &appOut, &appErr)
	// Stay down a while, and until several pushes have failed.
	time.Sleep(300 * time.Millisecond)
	for deadline := time.Now().Add(10 * time.Second); counterSum(t, reg, "promtail_batch_retries_total") < 3; {
		if time.Now().After(deadline) {
			t.Fatal("no batch was retried within 10s of stopping sluice")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if resp, err := http.Get(srv.URL + "/ready"); err == nil {
		resp.Body.Close()
		t.Fatalf("sluice still answers on %s after Stop", srv.URL)
	}
	wantA = append(wantA, appendLines(t, a, "a-outage", 200, 300)...)
	retries := counterSum(t, reg, "promtail_batch_retries_total")

	srv2 := sluicetest.Start(t, sluicetest.WithDir(srv.Dir), onPort)
	if srv2.URL != srv.URL {
		t.Fatalf("restarted server at %s, want %s", srv2.URL, srv.URL)
	}
	wantD = append(wantD, appendLines(t, d, "d-after", 0, 100)...)
	addCRI(app, "app-after", 0, 60, &appOut, &appErr)

	all := append(wants(), wantStream{fmt.Sprintf(`{job="plain", filename=%q}`, d), wantD})
	checkSluice(t, srv2.URL, all)
	time.Sleep(200 * time.Millisecond)
	checkSluice(t, srv2.URL, all)
	if dropped := counterSum(t, reg, "promtail_dropped_entries_total"); dropped != 0 {
		t.Errorf("promtail dropped %v entries", dropped)
	}
	t.Logf("%v batch retries during the outage", retries)
}

// counterSum adds up every series of a counter in reg (0 when it has none yet).
func counterSum(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
