package filesd

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"

	"github.com/sluicelog/sluice/promtail/config"
	"github.com/sluicelog/sluice/promtail/targets"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// bySource indexes groups by source, failing on duplicates.
func bySource(t *testing.T, gs []targets.Group) map[string]targets.Group {
	t.Helper()
	out := map[string]targets.Group{}
	for _, g := range gs {
		if _, dup := out[g.Source]; dup {
			t.Fatalf("source %s sent twice in %+v", g.Source, gs)
		}
		out[g.Source] = g
	}
	return out
}

func TestReadJSONAndYAML(t *testing.T) {
	dir := t.TempDir()
	js := filepath.Join(dir, "a.json")
	ym := filepath.Join(dir, "b.yml")
	write(t, js, `[{"targets": ["localhost"], "labels": {"__path__": "/var/log/a.log", "app": "a"}},
	               {"targets": ["h1", "h2"], "labels": {"__meta_filepath": "forged"}}]`)
	write(t, ym, "- targets: [localhost]\n  labels:\n    __path__: /var/log/b.log\n    app: b\n")
	write(t, filepath.Join(dir, "ignored.txt"), "not a target file")
	d := New(config.FileSDConfig{Files: []string{filepath.Join(dir, "*.json"), filepath.Join(dir, "*.yml")}}, time.Second, nil, nil)
	got := bySource(t, d.poll(time.Now()))
	if len(got) != 3 {
		t.Fatalf("poll() = %+v, want 3 groups", got)
	}
	a := got[js+":0"]
	if a.Labels["app"] != "a" || a.Labels["__path__"] != "/var/log/a.log" || a.Labels[FilepathLabel] != model.LabelValue(js) {
		t.Errorf("json group 0 labels = %v", a.Labels)
	}
	if len(a.Targets) != 1 || a.Targets[0][model.AddressLabel] != "localhost" {
		t.Errorf("json group 0 targets = %v", a.Targets)
	}
	if g := got[js+":1"]; len(g.Targets) != 2 || g.Labels[FilepathLabel] != model.LabelValue(js) {
		t.Errorf("json group 1 = %+v (__meta_filepath must name the file)", g)
	}
	if b := got[ym+":0"]; b.Labels["app"] != "b" || b.Labels[FilepathLabel] != model.LabelValue(ym) {
		t.Errorf("yaml group labels = %v", b.Labels)
	}
}

func TestChangesAndErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "t.yaml")
	write(t, p, "- targets: [localhost]\n  labels: {app: one}\n- targets: [localhost]\n  labels: {app: two}\n")
	m := NewMetrics(nil)
	d := New(config.FileSDConfig{Files: []string{filepath.Join(dir, "*.yaml")}, RefreshInterval: config.Duration(time.Hour)}, time.Second, m, nil)
	now := time.Now().Add(2 * settle) // past the settling time of the files written here
	if n := len(d.poll(now)); n != 2 {
		t.Fatalf("first poll: %d groups, want 2", n)
	}
	if gs := d.poll(now.Add(time.Second)); gs != nil {
		t.Fatalf("unchanged file sent again: %+v", gs)
	}

	// A broken file keeps its groups: nothing is sent, the error is counted.
	write(t, p, "- targets: [localhost\n")
	if gs := d.poll(now.Add(2 * time.Second)); len(gs) != 0 {
		t.Fatalf("broken file sent %+v, want nothing", gs)
	}
	var mv dto.Metric
	if err := m.ReadErrors.Write(&mv); err != nil {
		t.Fatal(err)
	}
	if v := mv.GetCounter().GetValue(); v != 1 {
		t.Fatalf("read errors = %v, want 1", v)
	}
	write(t, p, "- targets: [localhost]\n  unknown_key: 1\n")
	if gs := d.poll(now.Add(3 * time.Second)); len(gs) != 0 {
		t.Fatalf("file with an unknown key sent %+v, want nothing", gs)
	}

	// One group fewer: the second is sent empty, which removes it.
	write(t, p, "- targets: [localhost]\n  labels: {app: uno}\n")
	got := bySource(t, d.poll(now.Add(4*time.Second)))
	if len(got) != 2 || got[p+":0"].Labels["app"] != "uno" || len(got[p+":1"].Targets) != 0 {
		t.Fatalf("after shrinking: %+v", got)
	}

	// The refresh interval reads the file again even when it looks unchanged.
	if gs := d.poll(now.Add(2 * time.Hour)); len(gs) != 1 {
		t.Fatalf("refresh: %+v, want the one group again", gs)
	}

	// A deleted file's groups are removed.
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	got = bySource(t, d.poll(now.Add(2*time.Hour+time.Second)))
	if len(got) != 1 || len(got[p+":0"].Targets) != 0 {
		t.Fatalf("after delete: %+v, want one empty group", got)
	}
}

// TestRunSendsUpdates runs the discovery as the agent does and sees a new file arrive.
func TestRunSendsUpdates(t *testing.T) {
	dir := t.TempDir()
	d := New(config.FileSDConfig{Files: []string{filepath.Join(dir, "*.json")}}, 5*time.Millisecond, nil, nil)
	ch := make(chan []targets.Group, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Run(ctx, func(gs []targets.Group) { ch <- gs })
	}()
	defer func() { cancel(); <-done }()
	p := filepath.Join(dir, "new.json")
	write(t, p, `[{"targets": ["x"], "labels": {"k": "v"}}]`)
	select {
	case gs := <-ch:
		if len(gs) != 1 || gs[0].Source != p+":0" || gs[0].Labels["k"] != "v" {
			t.Fatalf("update = %+v", gs)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no update after a file appeared")
	}
}
