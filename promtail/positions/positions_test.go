package positions

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
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

// BenchmarkSave writes the positions of 1,000 pod log files, as promtail does after every batch
// it sends while tailing them: paths of about 110 bytes, and of about 150 (longer pod and
// container names), which YAML writes in its long-key form (over 128 bytes).
func BenchmarkSave(b *testing.B) {
	for _, names := range [][2]string{{"checkout-api-7d9f8c6b5", "server"}, {"payments-reconciliation-worker-5f6d7c8b9a", "reconciliation-sidecar"}} {
		pod, container := names[0], names[1]
		b.Run(fmt.Sprint(len(pod)+len(container)), func(b *testing.B) {
			p, err := Open(Config{Filename: filepath.Join(b.TempDir(), "positions.yaml"), SyncPeriod: time.Hour}, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Stop()
			paths := make([]string, 1000)
			for i := range paths {
				paths[i] = fmt.Sprintf("/var/log/pods/team-%d_%s-%05d_1b4e28ba-2fa1-11d2-883f-0016d3cca427/%s/0.log", i%10, pod, i, container)
				p.Put(paths[i], Position{Offset: int64(i) * 1000, Identity: fmt.Sprintf("%d:%d", 2049, 1_000_000+i)})
			}
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n++
				p.Put(paths[n%len(paths)], Position{Offset: int64(n) * 4096, Identity: fmt.Sprintf("%d:%d", 2049, 1_000_000+n%len(paths))})
				if err := p.Save(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestEncodeReadsBack writes keys YAML would misread unquoted and checks that the file reads
// back the same, in promtail's layout.
func TestEncodeReadsBack(t *testing.T) {
	f := fileFormat{
		Positions: map[string]string{
			"/var/log/pods/ns_pod_uid/c/0.log": "4096", "/with: colon": "1", "#hash": "2", "- dash": "3",
			`quote"d` + "\n\ttab": "4", "ünïcödé/日本": "5", "true": "6", "journal-cursor": "s=abc;i=1", "  spaces  ": "7",
		},
		Files: map[string]string{"/var/log/pods/ns_pod_uid/c/0.log": "2049:1000001", "null": "1:2"},
	}
	b, err := encode(f)
	if err != nil {
		t.Fatal(err)
	}
	var back fileFormat
	if err := yaml.Unmarshal(b, &back); err != nil {
		t.Fatalf("read back: %v\n%s", err, b)
	}
	if !maps.Equal(back.Positions, f.Positions) || !maps.Equal(back.Files, f.Files) {
		t.Fatalf("read back %+v, wrote %+v:\n%s", back, f, b)
	}
	if !strings.HasPrefix(string(b), "positions:\n") || !strings.Contains(string(b), "\n    /var/log/pods/ns_pod_uid/c/0.log: \"4096\"\n") {
		t.Errorf("not promtail's layout:\n%s", b)
	}
}

// TestEncodeMatchesYAML checks that encode writes byte for byte what yaml.v3 writes for the
// whole table, for random tables of paths as promtail sees them and of keys and values that
// need quoting, folding or the long-key form.
func TestEncodeMatchesYAML(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	odd := []string{"/with: colon", "/with #hash", "- dash", "#top", "true", "123", "~", "", " lead", "trail ",
		"tab\there", "new\nline", `q"uote`, `back\slash`, "ünïcödé/日本", "journal-cursor", "/a,b", "/a[1]", "/x@y", "/é",
		"/" + strings.Repeat("long-segment/", 12) + "0.log", strings.Repeat("w ", 60)}
	oddValues := []string{"s=abc;i=1;b=2", "", "x y", `"`, "12 34", strings.Repeat("v ", 50), "1:2:3", "-5"}
	for round := range 300 {
		f := fileFormat{Positions: map[string]string{}}
		if round%3 != 0 {
			f.Files = map[string]string{}
		}
		for range 1 + r.IntN(20) {
			// Pod log paths, some around the longest key written before its colon (128).
			k := fmt.Sprintf("/var/log/pods/ns-%d_pod-%d_%08x/c%s/%d.log", r.IntN(5), r.IntN(100), r.Uint32(), strings.Repeat("x", r.IntN(120)), r.IntN(3))
			if r.IntN(4) == 0 {
				k = odd[r.IntN(len(odd))]
			}
			v := fmt.Sprint(r.Int64N(1 << 40))
			if r.IntN(6) == 0 {
				v = oddValues[r.IntN(len(oddValues))]
			}
			f.Positions[k] = v
			if f.Files != nil && r.IntN(2) == 0 {
				f.Files[k] = fmt.Sprintf("%d:%d", r.IntN(1<<16), r.IntN(1<<30))
			}
		}
		got, err := encode(f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := encodeYAML(f)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("round %d: encode wrote\n%s\nyaml.v3 writes\n%s", round, got, want)
		}
	}
}
