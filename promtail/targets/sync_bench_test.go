package targets

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicelog/sluice/promtail/config"
	"github.com/sluicelog/sluice/promtail/positions"
	"github.com/sluicelog/sluice/promtail/tail"
)

// BenchmarkScrapeSync is one round of an idle node's scrape: the globs of /var/log/pods'
// layout re-expanded over 500 pod directories of 2 log files each, none of them changed. It
// runs every poll (250 ms), so it is much of what an idle promtail costs. Directories are
// watched (inotify, on Linux), as in Run.
func BenchmarkScrapeSync(b *testing.B) {
	dir := b.TempDir()
	for i := range 500 {
		d := filepath.Join(dir, fmt.Sprintf("ns_pod-%d_uid", i), "app")
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
		for _, f := range []string{"0.log", "1.log"} {
			if err := os.WriteFile(filepath.Join(d, f), nil, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	// Directories are trusted from the cache once their modification time has settled.
	old := time.Now().Add(-time.Hour)
	filepath.WalkDir(dir, func(p string, _ os.DirEntry, _ error) error { return os.Chtimes(p, old, old) })

	cfg, err := config.Parse([]byte(fmt.Sprintf(`
scrape_configs:
  - job_name: pods
    static_configs:
      - labels: {job: pods, __path__: %s/*/*/*.log}
`, dir)), false)
	if err != nil {
		b.Fatal(err)
	}
	pos, err := positions.Open(positions.Config{Filename: filepath.Join(b.TempDir(), "positions.yaml"), SyncPeriod: time.Hour, ReadOnly: true}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { pos.Stop() })
	tm := tail.NewManager(tail.Config{PollInterval: time.Hour}, pos, 1, tail.NewMetrics(nil), slog.New(slog.DiscardHandler))
	s := NewScrape(cfg.ScrapeConfigs[0], nil, nil, tm, Limits{}, slog.New(slog.DiscardHandler))
	s.dirs.startWatch() // as Run does
	b.Cleanup(s.dirs.close)
	s.sync()
	if len(s.watched) != 1000 {
		b.Fatalf("%d files found, want 1000", len(s.watched))
	}
	b.ReportAllocs()
	for b.Loop() {
		s.sync()
	}
}
