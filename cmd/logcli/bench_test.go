package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/logcli/logclitest"
)

// TestMain lets the benchmark run this test binary as logcli in a child process, so that the
// child's peak memory is logcli's alone and not the test server's.
func TestMain(m *testing.M) {
	if os.Getenv("SLUICE_LOGCLI_MAIN") == "1" {
		code := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		if f := os.Getenv("SLUICE_LOGCLI_HWM"); f != "" {
			// The peak RSS of this process alone: rusage's maxrss would also count the parent's
			// memory, which the child shares until it execs.
			status, _ := os.ReadFile("/proc/self/status")
			for _, l := range strings.Split(string(status), "\n") {
				if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
					os.WriteFile(f, []byte(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))), 0o644)
				}
			}
		}
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// millionLines fills srv with n lines over 10 streams, about 100 bytes each, with runs of
// equal timestamps so that page boundaries fall inside runs.
func millionLines(srv *logclitest.Server, n int) {
	streams := make([]map[string]string, 10)
	for i := range streams {
		streams[i] = map[string]string{"app": "bench", "pod": fmt.Sprintf("pod-%d", i)}
	}
	entries := make([]logclitest.Entry, n)
	for i := range entries {
		entries[i] = logclitest.Entry{
			Labels:    streams[i%len(streams)],
			Timestamp: base.UnixNano() + int64(i/3)*1000,
			Line:      fmt.Sprintf("ts=%d level=info caller=bench.go:42 msg=\"request served\" path=/api/v1/items/%07d status=200", i, i),
		}
	}
	srv.Add(entries...)
}

// BenchmarkQueryMillionLines downloads one million lines with --limit=0 in --batch pages from the
// fake server, with logcli running as a separate process, and reports its wall time and peak RSS.
//
//	go test ./cmd/logcli -run '^$' -bench 'MillionLines$' -benchtime 1x
func BenchmarkQueryMillionLines(b *testing.B) {
	const n = 1_000_000
	srv := logclitest.Start(b)
	millionLines(srv, n)
	for _, batch := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			benchDownload(b, srv.URL, n, batch, base, base.Add(time.Hour), `{app="bench"}`)
		})
	}
}

// benchDownload runs logcli query --limit=0 --batch=batch as a child process b.N times, checks
// it printed want lines, and reports logcli's peak RSS, CPU time and lines per second.
func benchDownload(b *testing.B, addr string, want, batch int, from, to time.Time, query string) {
	var peakKB int64
	var cpu time.Duration
	for b.Loop() {
		cmd := exec.Command(os.Args[0], "query", "-q", "-o", "raw", "--addr="+addr,
			"--limit=0", fmt.Sprintf("--batch=%d", batch),
			"--from="+from.Format(time.RFC3339Nano), "--to="+to.Format(time.RFC3339Nano), query)
		hwm := filepath.Join(b.TempDir(), "hwm")
		cmd.Env = append(os.Environ(), "SLUICE_LOGCLI_MAIN=1", "SLUICE_LOGCLI_HWM="+hwm)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		nbytes, nlines, err := countLines(out)
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			b.Fatalf("logcli: %v: %s", err, stderr.String())
		}
		if nlines != want {
			b.Fatalf("logcli printed %d lines, want %d", nlines, want)
		}
		b.SetBytes(nbytes)
		cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		kb, err := os.ReadFile(hwm)
		if err != nil {
			b.Fatalf("read peak memory of logcli: %v", err)
		}
		n, err := strconv.ParseInt(string(kb), 10, 64)
		if err != nil {
			b.Fatalf("parse peak memory %q: %v", kb, err)
		}
		peakKB = max(peakKB, n)
	}
	b.ReportMetric(float64(peakKB)/1024, "peak-RSS-MB")
	// CPU time says more than wall time on a shared machine.
	b.ReportMetric(cpu.Seconds()/float64(b.N), "logcli-cpu-s/op")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "wall-s/op")
	b.ReportMetric(float64(want)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// countLines reads r to its end and counts its bytes and lines.
func countLines(r io.Reader) (int64, int, error) {
	buf := make([]byte, 256<<10)
	var nbytes int64
	var nlines int
	for {
		n, err := r.Read(buf)
		nbytes += int64(n)
		nlines += bytes.Count(buf[:n], []byte{'\n'})
		if err == io.EOF {
			return nbytes, nlines, nil
		}
		if err != nil {
			return nbytes, nlines, err
		}
	}
}
