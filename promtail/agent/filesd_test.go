package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicelog/sluice/promtail/config"
)

// gaugeValue reads a gauge without labels from reg (0 when absent).
func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) > 0 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return 0
}

// waitUntil polls cond until it holds, failing after a while with what.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// writeAtomic replaces path's content by a rename, as configuration tools do.
func writeAtomic(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestFileSDEndToEnd discovers file targets from a YAML and a JSON target file, relabels them
// with __meta_filepath, and follows the YAML file as it changes: a target added later is
// tailed, a removed one stops, and a broken file keeps the targets it had.
func TestFileSDEndToEnd(t *testing.T) {
	rcv := newReceiver(t)
	dir := t.TempDir()
	sd := filepath.Join(dir, "sd")
	logs := filepath.Join(dir, "logs")
	for _, d := range []string{sd, logs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	aLog, bLog, cLog := filepath.Join(logs, "a.log"), filepath.Join(logs, "b.log"), filepath.Join(logs, "c.log")
	yml, js := filepath.Join(sd, "targets.yaml"), filepath.Join(sd, "more.json")
	group := func(name string) string {
		return fmt.Sprintf("- targets: [localhost]\n  labels: {__path__: %q, app: %s, drop: %s}\n", filepath.Join(logs, name+"*.log"), name, name)
	}
	writeAtomic(t, yml, group("a"))
	writeAtomic(t, js, fmt.Sprintf(`[{"targets": ["localhost"], "labels": {"__path__": %q, "app": "c"}}]`, cLog))
	y := fmt.Sprintf(`
server: {disable: true}
positions: {filename: %s/pos.yaml, sync_period: 50ms}
clients: [{url: %s, batchwait: 20ms}]
global: {file_watch_config: {min_poll_frequency: 10ms}}
scrape_configs:
  - job_name: sd
    file_sd_configs:
      - files: ["%s/*.yaml", "%s/*.json"]
        refresh_interval: 1h
    relabel_configs:
      - {source_labels: [__meta_filepath], regex: '.*/([^/]*)', target_label: sd_file}
      - {source_labels: [drop], regex: b, action: drop}
      - {action: labeldrop, regex: drop}
`, dir, rcv.srv.URL, sd, sd)
	cfg, err := config.Parse([]byte(y), false)
	if err != nil {
		t.Fatal(err)
	}
	if u := cfg.Unsupported(); len(u) != 0 {
		t.Fatalf("Unsupported() = %q, want nothing", u)
	}
	reg := prometheus.NewRegistry()
	defer startAgentWith(t, cfg, Options{Registry: reg})()

	wantA := appendLines(t, aLog, "a", 0, 2)
	wantC := appendLines(t, cLog, "c", 0, 1)
	equalLines(t, "a.log", rcv.waitFor(t, aLog, 2), wantA)
	equalLines(t, "c.log", rcv.waitFor(t, cLog, 1), wantC)
	wantLabels := func(fn, want string) {
		t.Helper()
		rcv.mu.Lock()
		got := rcv.labels[fn]
		rcv.mu.Unlock()
		if got != want {
			t.Errorf("labels of %s = %s, want %s", fn, got, want)
		}
	}
	wantLabels(aLog, fmt.Sprintf(`{app="a", filename=%q, sd_file="targets.yaml"}`, aLog))
	wantLabels(cLog, fmt.Sprintf(`{app="c", filename=%q, sd_file="more.json"}`, cLog))

	// A group added to the file: its target is tailed from the file's start. A group the
	// relabelling drops (drop: b) is not, though its file exists.
	dLog := filepath.Join(logs, "d.log")
	appendLines(t, bLog, "b", 0, 3)
	wantD := appendLines(t, dLog, "d", 0, 3)
	writeAtomic(t, yml, group("a")+group("b")+group("d"))
	equalLines(t, "d.log", rcv.waitFor(t, dLog, 3), wantD)
	wantLabels(dLog, fmt.Sprintf(`{app="d", filename=%q, sd_file="targets.yaml"}`, dLog))

	// A broken file keeps the targets it had: a and d are still tailed.
	writeAtomic(t, yml, "- targets: [localhost\n")
	waitUntil(t, "the read error", func() bool { return counterSum(t, reg, "prometheus_sd_file_read_errors_total") >= 1 })
	wantA = append(wantA, appendLines(t, aLog, "a", 2, 4)...)
	wantD = append(wantD, appendLines(t, dLog, "d", 3, 5)...)
	equalLines(t, "a.log", rcv.waitFor(t, aLog, 4), wantA)
	equalLines(t, "d.log", rcv.waitFor(t, dLog, 5), wantD)

	// Removing a's group stops a.log; d and c stay. Lines written to a.log afterwards are
	// not sent.
	writeAtomic(t, yml, group("d"))
	waitUntil(t, "a.log to be let go", func() bool { return gaugeValue(t, reg, "promtail_files_active_total") == 2 })
	appendLines(t, aLog, "late", 0, 2)
	wantD = append(wantD, appendLines(t, dLog, "d", 5, 6)...)
	wantC = append(wantC, appendLines(t, cLog, "c", 1, 2)...)
	equalLines(t, "d.log", rcv.waitFor(t, dLog, 6), wantD)
	equalLines(t, "c.log", rcv.waitFor(t, cLog, 2), wantC)
	equalLines(t, "a.log after its target was removed", rcv.get(aLog), wantA)
	if got := rcv.get(bLog); len(got) != 0 {
		t.Fatalf("dropped target b.log was sent: %q", got)
	}
	// Its position is kept, as promtail keeps the positions of the targets it stops.
	pos, err := os.ReadFile(filepath.Join(dir, "pos.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(pos), aLog) {
		t.Fatalf("positions lost a.log:\n%s", pos)
	}
}
