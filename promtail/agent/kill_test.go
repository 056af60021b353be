package agent

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestSIGKILLBinary builds the promtail binary, SIGKILLs it while it ships a growing file,
// then starts it again on the same positions file: nothing is lost, and what arrives twice
// fits in the one batch that was in flight. A SIGTERM at the end must exit cleanly.
func TestSIGKILLBinary(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "promtail")
	build := exec.Command("go", "build", "-o", bin, "github.com/sluicelog/sluice/promtail/cmd/promtail")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	rcv := newReceiver(t)
	logs := filepath.Join(dir, "logs")
	_ = os.Mkdir(logs, 0o755)
	posFile := filepath.Join(dir, "positions.yaml")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	cfgFile := filepath.Join(dir, "promtail.yaml")
	const batchSize = 4096
	cfg := fmt.Sprintf(`
server: {http_listen_address: 127.0.0.1, http_listen_port: %d, graceful_shutdown_timeout: 2s}
positions: {filename: ${POS_FILE}, sync_period: 10s}
clients:
  - url: %s/loki/api/v1/push
    batchwait: 20ms
    batchsize: %d
    backoff_config: {min_period: 10ms, max_period: 50ms}
global: {file_watch_config: {min_poll_frequency: 10ms}}
scrape_configs:
  - job_name: files
    static_configs:
      - labels: {job: test, __path__: "%s/*.log"}
`, port, rcv.srv.URL, batchSize, logs)
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "-config.file="+cfgFile, "-config.expand-env")
		cmd.Env = append(os.Environ(), "POS_FILE="+posFile)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	p := filepath.Join(logs, "app.log")
	cmd := start()
	var want []string
	written := make(chan struct{})
	go func() {
		defer close(written)
		for i := 0; i < 100; i++ {
			want = append(want, appendLines(t, p, "k", i*50, i*50+50)...)
			time.Sleep(2 * time.Millisecond)
		}
	}()
	rcv.waitFor(t, p, 1500)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	<-written
	before := len(rcv.get(p))
	cmd = start()
	got := rcv.waitFor(t, p, before+1)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		got = rcv.get(p)
		if got[len(got)-1] == want[len(want)-1] {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
	equalLines(t, "before the kill", got[:before], want[:before])
	rest := got[before:]
	j := -1
	for i, l := range want {
		if l == rest[0] {
			j = i
			break
		}
	}
	if j < 0 || j > before {
		t.Fatalf("restart began at %q (index %d) after %d delivered lines: lines lost", rest[0], j, before)
	}
	equalLines(t, "after the restart", rest, want[j:])
	var dup int
	for _, l := range want[j:before] {
		dup += len(l)
	}
	if dup > batchSize {
		t.Fatalf("%d lines (%d bytes) sent twice, more than one batch", before-j, dup)
	}
	t.Logf("SIGKILL: %d lines (%d bytes) sent twice", before-j, dup)
}
