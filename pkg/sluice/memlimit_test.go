package sluice

import (
	"os"
	"path/filepath"
	"testing"
)

func TestContainerMemoryLimit(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		return p
	}
	check := func(files []string, want int64) {
		t.Helper()
		if got := containerMemoryLimit(files); got != want {
			t.Errorf("containerMemoryLimit(%v) = %d, want %d", files, got, want)
		}
	}
	check([]string{file("v2", "536870912\n")}, 512<<20)
	check([]string{file("v2max", "max\n")}, 0)
	check([]string{filepath.Join(dir, "missing"), file("v1", "268435456\n")}, 256<<20)
	check([]string{file("v1none", "9223372036854771712\n")}, 0)
	check([]string{file("junk", "lots\n")}, 0)
	check(nil, 0)
}
