package targets

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/common/model"

	"github.com/sluicelog/sluice/promtail/config"
)

func TestRelabelStaticTargets(t *testing.T) {
	t.Setenv("HOSTNAME", "node-a")
	cfg, err := config.Parse([]byte(`
scrape_configs:
  - job_name: j
    static_configs:
      - labels: {job: keep, __path__: /var/log/keep/*.log, team: a}
      - labels: {job: drop-me, __path__: /var/log/drop/*.log}
      - labels: {job: nopath}
      - labels: {job: elsewhere, __path__: /x/*.log, __host__: node-b}
      - labels: {job: here, __path__: /y/*.log, __host__: node-a, __path_exclude__: /y/skip.log}
    relabel_configs:
      - source_labels: [job]
        regex: drop-me
        action: drop
      - source_labels: [team]
        target_label: squad
      - regex: team
        action: labeldrop
`), false)
	if err != nil {
		t.Fatal(err)
	}
	s := NewScrape(cfg.ScrapeConfigs[0], nil, nil, nil, Limits{}, slog.New(slog.DiscardHandler))
	got := s.Targets()
	if len(got) != 2 {
		t.Fatalf("Targets() = %+v, want keep and here", got)
	}
	if got[0].Path != "/var/log/keep/*.log" || got[0].Labels["squad"] != "a" || got[0].Labels["job"] != "keep" {
		t.Errorf("target 0 = %+v", got[0])
	}
	if _, ok := got[0].Labels["team"]; ok {
		t.Errorf("labeldrop left team: %v", got[0].Labels)
	}
	if got[1].Path != "/y/*.log" || got[1].Exclude != "/y/skip.log" || len(got[1].Labels) != 1 {
		t.Errorf("target 1 = %+v (internal labels must not remain)", got[1])
	}
	s.Update([]Group{{Source: "pod/a", Targets: []model.LabelSet{{"__path__": "/z/*.log", "app": "z"}}}})
	if n := len(s.Targets()); n != 3 {
		t.Fatalf("after Update: %d targets, want 3", n)
	}
	s.Update([]Group{{Source: "pod/a"}})
	if n := len(s.Targets()); n != 2 {
		t.Fatalf("after removing the group: %d targets, want 2", n)
	}
}

func TestDirCacheGlob(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"a/1.log", "a/b/2.log", "c/3.txt"} {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := &Scrape{}
	got, err := s.glob(newDirCache(), dir+"/**/*.log")
	if err != nil || len(got) != 2 || got[0] != dir+"/a/1.log" || got[1] != dir+"/a/b/2.log" {
		t.Fatalf("glob = %v, %v", got, err)
	}
	if _, err := s.glob(newDirCache(), dir+"/[.log"); err == nil {
		t.Fatal("bad pattern accepted")
	}
}
