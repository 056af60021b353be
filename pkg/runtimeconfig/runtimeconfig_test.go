package runtimeconfig

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicelog/sluice/pkg/validation"
)

func defaults() validation.Limits {
	var l validation.Limits
	l.RegisterFlags(flag.NewFlagSet("", flag.PanicOnError))
	return l
}

func TestReload(t *testing.T) {
	file := filepath.Join(t.TempDir(), "overrides.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("overrides:\n  team-a:\n    ingestion_rate_mb: 10\n    max_line_size: 1KB\n")
	o := validation.NewOverrides(defaults())
	m, err := New(Config{File: file, Period: 1}, o, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a := o.For("team-a"); a.IngestionRateMB != 10 || a.MaxLineSize != 1024 || a.MaxQuerySeries != 500 {
		t.Fatalf("team-a = rate %v, line %v, series %v; want 10, 1024 and the default 500", a.IngestionRateMB, a.MaxLineSize, a.MaxQuerySeries)
	}
	if b := o.For("team-b"); b.IngestionRateMB != 4 {
		t.Fatalf("team-b rate %v, want the default 4", b.IngestionRateMB)
	}
	write("overrides:\n  team-b:\n    max_query_series: 7\n")
	if err := m.Load(); err != nil {
		t.Fatal(err)
	}
	if o.For("team-a").IngestionRateMB != 4 || o.For("team-b").MaxQuerySeries != 7 {
		t.Fatal("reload did not replace the overrides")
	}
	write("overrides:\n  team-c:\n    no_such_limit: 1\n")
	if err := m.Load(); err == nil || !strings.Contains(err.Error(), "no_such_limit") {
		t.Fatalf("Load of an unknown field = %v", err)
	}
	if o.For("team-b").MaxQuerySeries != 7 {
		t.Fatal("a broken file replaced the overrides in force")
	}
	out, err := m.YAML()
	if err != nil || !strings.Contains(string(out), "team-b") {
		t.Fatalf("YAML = %s, %v", out, err)
	}
}

func TestBrokenFileAtStart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "overrides.yaml")
	os.WriteFile(file, []byte("overrides: ["), 0o644)
	if _, err := New(Config{File: file, Period: 1}, validation.NewOverrides(defaults()), nil, nil); err == nil {
		t.Fatal("New accepted a broken file")
	}
}
