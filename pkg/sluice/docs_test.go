package sluice

import (
	"bufio"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// usageFlag matches a flag's line in a flag set's usage output ("  -name type").
var usageFlag = regexp.MustCompile(`^  -([A-Za-z0-9][A-Za-z0-9._-]*)`)

// loadConfigFlags returns the names of every flag LoadConfig's flag set registers, read from the
// usage it prints for -help. Reading the usage, rather than building a second flag set here,
// checks the very flag set LoadConfig parses, the flags it declares itself (-config.file and
// friends) included.
func loadConfigFlags(t *testing.T) []string {
	t.Helper()
	// The flag set prints its usage to os.Stderr; point that at a file for the call.
	f, err := os.CreateTemp(t.TempDir(), "usage")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stderr := os.Stderr
	os.Stderr = f
	_, err = LoadConfig([]string{"-help"})
	os.Stderr = stderr
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("LoadConfig(-help) = %v, want flag.ErrHelp", err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := usageFlag.FindStringSubmatch(sc.Text()); m != nil {
			names = append(names, m[1])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

// TestConfigurationDocMentionsEveryFlag keeps docs/configuration.md complete: every flag the
// server accepts must appear there, written as `-name` (in backquotes), so that adding a
// setting without documenting it fails here.
func TestConfigurationDocMentionsEveryFlag(t *testing.T) {
	names := loadConfigFlags(t)
	// A floor well below today's count: it fails if the usage output stops being parsed
	// (format change) rather than silently checking nothing.
	if len(names) < 50 {
		t.Fatalf("found %d flags in LoadConfig's usage, want at least 50: %v", len(names), names)
	}
	for _, want := range []string{"config.file", "config.expand-env", "target", "common.path-prefix", "ingester.wal-enabled"} {
		if !slices.Contains(names, want) {
			t.Fatalf("flag -%s missing from LoadConfig's usage %v; the usage parser is broken", want, names)
		}
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatalf("read configuration doc: %v", err)
	}
	text := string(doc)
	for _, name := range names {
		if !strings.Contains(text, "`-"+name+"`") && !strings.Contains(text, "`-"+name+"=") {
			t.Errorf("docs/configuration.md does not mention flag -%s (write it as `-%s`)", name, name)
		}
	}
}
