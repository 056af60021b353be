package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestSluiceParallelDownload downloads the fixture's range in 3s jobs with 3 workers: merged
// parts print every line once, in order, and leave no file behind; kept parts hold each job.
func TestSluiceParallelDownload(t *testing.T) {
	f := startFixture(t)
	dir := t.TempDir()
	from := "--from=" + f.base.Format(time.RFC3339)
	to := "--to=" + f.base.Add(12*time.Second).Format(time.RFC3339)
	for _, forward := range []bool{true, false} {
		args := []string{"query", "-q", "-o", "raw", f.addr, from, to, "--parallel-duration=3s", "--parallel-max-workers=3",
			"--part-path-prefix=" + filepath.Join(dir, "part"), "--merge-parts", `{app="api"}`}
		want := linesOf(f.api)
		if forward {
			args = append(args, "--forward")
		} else {
			slices.Reverse(want)
		}
		code, out, errOut := runCLI(t, "", args...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if got := lines(out); !slices.Equal(got, want) {
			t.Errorf("forward=%v: merged parts printed %q, want %q", forward, got, want)
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("forward=%v: part files left behind: %v", forward, left)
		}
	}

	// --keep-parts: four part files of three lines each.
	code, _, errOut := runCLI(t, "", "query", "-q", "-o", "raw", f.addr, from, to, "--parallel-duration=3s", "--parallel-max-workers=2",
		"--part-path-prefix="+filepath.Join(dir, "kept"), "--merge-parts", "--keep-parts", "--forward", `{app="api"}`)
	if code != 0 {
		t.Fatalf("--keep-parts: exit %d: %s", code, errOut)
	}
	parts, _ := filepath.Glob(filepath.Join(dir, "kept_*.part"))
	if len(parts) != 4 {
		t.Fatalf("parts = %v, want 4", parts)
	}
	slices.Sort(parts)
	for i, p := range parts {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := lines(string(b)), linesOf(f.api[3*i:3*i+3]); !slices.Equal(got, want) {
			t.Errorf("%s = %q, want %q", filepath.Base(p), got, want)
		}
	}
}
