package tail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/promtail/ack"
	"github.com/sluicelog/sluice/promtail/entry"
	"github.com/sluicelog/sluice/promtail/positions"
	"github.com/sluicelog/sluice/promtail/stages"
)

// collect is a Sink that records lines and acknowledges them at once.
type collect struct {
	mu     *sync.Mutex
	lines  map[string][]string
	path   string
	closed bool
}

func (c *collect) Line(_ context.Context, line string, _ time.Time, a ack.Ack) error {
	c.mu.Lock()
	c.lines[c.path] = append(c.lines[c.path], line)
	c.mu.Unlock()
	a.Done()
	return nil
}
func (c *collect) Flush(context.Context, time.Time) error { return nil }
func (c *collect) Close()                                 { c.closed = true }

type harness struct {
	m      *Manager
	pos    *positions.Positions
	mu     sync.Mutex
	lines  map[string][]string
	cancel context.CancelFunc
	done   chan struct{}
}

func newHarness(t *testing.T, posFile string) *harness {
	t.Helper()
	pos, err := positions.Open(positions.Config{Filename: posFile}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{pos: pos, lines: map[string][]string{}, done: make(chan struct{})}
	h.m = NewManager(Config{PollInterval: 5 * time.Millisecond, Workers: 2}, pos, 1, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { defer close(h.done); h.m.Run(ctx) }()
	return h
}

func (h *harness) add(path string) {
	h.m.Add(path, func() Sink { return &collect{mu: &h.mu, lines: h.lines, path: path} })
}

func (h *harness) stop(t *testing.T) {
	h.cancel()
	<-h.done
	h.m.Close()
	if err := h.pos.Stop(); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) wait(t *testing.T, path string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.mu.Lock()
		got := append([]string(nil), h.lines[path]...)
		h.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) != n {
				t.Fatalf("%s: %d lines, want %d", path, len(got), n)
			}
			return got
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func write(t testing.TB, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestPartialLineWaitsForNewline(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, filepath.Join(dir, "pos.yaml"))
	p := filepath.Join(dir, "a.log")
	write(t, p, "one\r\ntw")
	h.add(p)
	h.wait(t, p, 1)
	time.Sleep(30 * time.Millisecond)
	write(t, p, "o\nthree\n")
	got := h.wait(t, p, 3)
	if strings.Join(got, "|") != "one|two|three" {
		t.Fatalf("lines = %q", got)
	}
	h.stop(t)
	pos, _ := positions.Open(positions.Config{Filename: filepath.Join(dir, "pos.yaml")}, nil)
	if got, ok := pos.Get(p); !ok || got.Offset != int64(len("one\r\ntwo\nthree\n")) || got.Identity == "" {
		t.Fatalf("saved position = %+v, %v", got, ok)
	}
}

func TestResumesFromPosition(t *testing.T) {
	dir := t.TempDir()
	posFile := filepath.Join(dir, "pos.yaml")
	p := filepath.Join(dir, "a.log")
	write(t, p, "a\nb\n")
	h := newHarness(t, posFile)
	h.add(p)
	h.wait(t, p, 2)
	h.stop(t)
	write(t, p, "c\n")
	h = newHarness(t, posFile)
	h.add(p)
	if got := h.wait(t, p, 1); got[0] != "c" {
		t.Fatalf("after restart read %q, want only the new line", got)
	}
	h.stop(t)
}

func TestRotatedWhileDown(t *testing.T) {
	dir := t.TempDir()
	posFile := filepath.Join(dir, "pos.yaml")
	p := filepath.Join(dir, "a.log")
	write(t, p, "1\n2\n")
	h := newHarness(t, posFile)
	h.add(p)
	h.wait(t, p, 2)
	h.stop(t)
	// While the agent is down: more lines, then rotation by rename, then a new file.
	write(t, p, "3\n")
	if err := os.Rename(p, p+".1"); err != nil {
		t.Fatal(err)
	}
	write(t, p, "new1\n")
	h = newHarness(t, posFile)
	h.add(p)
	if got := strings.Join(h.wait(t, p, 2), "|"); got != "3|new1" {
		t.Fatalf("after restart read %q, want the rest of the old file, then the new one", got)
	}
	h.stop(t)
}

func TestManyFilesNoLeaks(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, filepath.Join(dir, "pos.yaml"))
	before := runtime.NumGoroutine()
	const n = 1000
	var paths []string
	for i := 0; i < n; i++ {
		p := filepath.Join(dir, fmt.Sprintf("f%04d.log", i))
		write(t, p, fmt.Sprintf("hello %d\n", i))
		paths = append(paths, p)
		h.add(p)
	}
	for _, p := range paths {
		h.wait(t, p, 1)
	}
	if g := runtime.NumGoroutine(); g > before+20 {
		t.Errorf("%d goroutines for %d files (was %d)", g, n, before)
	}
	fds := openFDs(t)
	for _, p := range paths {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	// A deleted file's descriptor is closed, then its position dropped: wait for both.
	kept := func() string {
		for _, p := range paths {
			if _, ok := h.pos.Get(p); ok {
				return p
			}
		}
		return ""
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		after := openFDs(t)
		p := kept()
		if after <= fds-n+20 && p == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("open descriptors: %d with files, %d after deleting them all; position of deleted %q kept", fds, after, p)
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.stop(t)
	if p := kept(); p != "" {
		t.Fatalf("position of deleted %s back after stop", p)
	}
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("count descriptors: %v", err)
	}
	return len(ents)
}

// BenchmarkTailCRIBatch measures the read path: tail a file of CRI lines, decode them with
// the cri stage, and append them to a push batch.
func BenchmarkTailCRIBatch(b *testing.B) {
	dir := b.TempDir()
	p := filepath.Join(dir, "0.log")
	var sb strings.Builder
	line := "2024-05-01T10:00:00.123456789Z stdout F level=info msg=\"request served\" path=/api/v1/items status=200 duration=12.5ms user=alice\n"
	const lines = 100000
	for i := 0; i < lines; i++ {
		sb.WriteString(line)
	}
	write(b, p, sb.String())
	var nodes []yaml.Node
	if err := yaml.Unmarshal([]byte(`[{cri: {}}]`), &nodes); err != nil {
		b.Fatal(err)
	}
	tmpl, err := stages.Build(nodes, stages.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(sb.Len()))
	for b.Loop() {
		pos, _ := positions.Open(positions.Config{Filename: filepath.Join(dir, "pos.yaml")}, nil)
		pos.Remove(p)
		s := &batchSink{p: tmpl.New(), labels: model.LabelSet{"job": "x", "filename": model.LabelValue(p)}, want: lines, done: make(chan struct{})}
		m := NewManager(Config{PollInterval: time.Millisecond, Workers: 1}, pos, 1, nil, nil)
		ctx, cancel := context.WithCancel(context.Background())
		m.Add(p, func() Sink { return s })
		fin := make(chan struct{})
		go func() { m.Run(ctx); close(fin) }()
		<-s.done
		cancel()
		<-fin
		m.Close()
	}
	b.ReportMetric(float64(lines*b.N)/b.Elapsed().Seconds(), "lines/s")
}

type batchSink struct {
	p      *stages.Pipeline
	labels model.LabelSet
	stream logproto.Stream
	n      int
	want   int
	done   chan struct{}
}

func (s *batchSink) Line(ctx context.Context, line string, ts time.Time, a ack.Ack) error {
	return s.p.Process(ctx, entry.New(s.labels, `{job="x"}`, line, ts.UnixNano(), a), func(_ context.Context, it stages.Item) error {
		s.stream.Entries = append(s.stream.Entries, it.Entry.Entry)
		if len(s.stream.Entries) >= 4096 {
			s.stream.Entries = s.stream.Entries[:0]
		}
		it.Ack.Done()
		s.n++
		if s.n == s.want {
			close(s.done)
		}
		return nil
	})
}
func (s *batchSink) Flush(context.Context, time.Time) error { return nil }
func (s *batchSink) Close()                                 {}
