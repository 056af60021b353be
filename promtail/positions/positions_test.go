package positions

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSaveAndReopen(t *testing.T) {
	name := filepath.Join(t.TempDir(), "sub", "positions.yaml")
	p, err := Open(Config{Filename: name}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.Put("/var/log/a.log", Position{Offset: 123, Identity: "1:2"})
	p.Put("/var/log/b.log", Position{Offset: 7})
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `/var/log/a.log: "123"`) {
		t.Fatalf("file is not in promtail's format:\n%s", b)
	}
	q, err := Open(Config{Filename: name}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Stop()
	if got, ok := q.Get("/var/log/a.log"); !ok || got != (Position{Offset: 123, Identity: "1:2"}) {
		t.Fatalf("Get(a) = %+v, %v", got, ok)
	}
	if got, ok := q.Get("/var/log/b.log"); !ok || got != (Position{Offset: 7}) {
		t.Fatalf("Get(b) = %+v, %v", got, ok)
	}
	q.Remove("/var/log/b.log")
	if _, ok := q.Get("/var/log/b.log"); ok {
		t.Fatal("Get after Remove found the path")
	}
	// No temporary files are left behind.
	ents, _ := os.ReadDir(filepath.Dir(name))
	if len(ents) != 1 {
		t.Fatalf("dir holds %d files, want 1", len(ents))
	}
}

func TestReadsPromtailFile(t *testing.T) {
	name := filepath.Join(t.TempDir(), "positions.yaml")
	body := "positions:\n  /var/log/pods/x/0.log: \"4096\"\n  journal-cursor: \"s=abc;i=1\"\n"
	if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Open(Config{Filename: name}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := p.Get("/var/log/pods/x/0.log"); !ok || got.Offset != 4096 || got.Identity != "" {
		t.Fatalf("Get = %+v, %v", got, ok)
	}
	if _, ok := p.Get("journal-cursor"); ok {
		t.Fatal("a cursor read as an offset")
	}
	p.Put("/new", Position{Offset: 1})
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(name)
	if !strings.Contains(string(b), "journal-cursor") {
		t.Fatalf("foreign keys were lost:\n%s", b)
	}
}

func TestInvalidFile(t *testing.T) {
	name := filepath.Join(t.TempDir(), "positions.yaml")
	if err := os.WriteFile(name, []byte("positions: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Config{Filename: name}, nil); err == nil {
		t.Fatal("Open of a corrupt file succeeded")
	}
	p, err := Open(Config{Filename: name, IgnoreInvalidYAML: true}, nil)
	if err != nil {
		t.Fatalf("Open with ignore_invalid_yaml: %v", err)
	}
	_ = p.Stop()
}

func TestPeriodicSync(t *testing.T) {
	name := filepath.Join(t.TempDir(), "positions.yaml")
	p, err := Open(Config{Filename: name, SyncPeriod: 10 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	p.Put("/a", Position{Offset: 5})
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(name); err == nil && strings.Contains(string(b), `/a: "5"`) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("positions were not saved periodically")
}
