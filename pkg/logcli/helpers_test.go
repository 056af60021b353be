package logcli_test

import (
	"bytes"
	"context"
	"flag"
	"log"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/logcli"
	"github.com/sluicelog/sluice/pkg/logcli/logclitest"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// checkGolden compares got with testdata/<name>.golden, or rewrites it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

func newClient(t testing.TB, addr string, mod ...func(*logcli.ClientConfig)) *logcli.Client {
	t.Helper()
	cfg := logcli.ClientConfig{Addr: addr, Quiet: true}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := logcli.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// capture is a Printer writing to buffers; the log has no time prefix so output is stable.
type capture struct {
	stdout, stderr bytes.Buffer
	p              logcli.Printer
}

func newCapture(t testing.TB, mode string, opts logcli.OutputOptions) *capture {
	t.Helper()
	c := &capture{}
	out, err := logcli.NewLogOutput(mode, opts)
	if err != nil {
		t.Fatal(err)
	}
	c.p = logcli.Printer{Stdout: &c.stdout, Log: log.New(&c.stderr, "", 0), Output: out}
	return c
}

func (c *capture) String() string {
	return "-- stdout --\n" + c.stdout.String() + "-- stderr --\n" + c.stderr.String()
}

var base = time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC)

// sampleEntries are three streams with a few lines each, at distinct times.
func sampleEntries() []logclitest.Entry {
	a := map[string]string{"app": "api", "env": "prod", "pod": "api-1"}
	b := map[string]string{"app": "api", "env": "prod", "pod": "api-2"}
	w := map[string]string{"app": "web", "env": "prod", "pod": "web-1", "region": "eu"}
	return []logclitest.Entry{
		{Labels: a, Timestamp: base.UnixNano(), Line: "level=info msg=\"started\" port=8080"},
		{Labels: b, Timestamp: base.Add(time.Second).UnixNano(), Line: "  level=warn msg=slow took=2s  \n"},
		{Labels: w, Timestamp: base.Add(2 * time.Second).UnixNano(), Line: `GET /index.html 200 "quotes" <tag> & é`},
		{Labels: a, Timestamp: base.Add(3 * time.Second).UnixNano(), Line: "level=error msg=\"db down\"\ttab"},
		{Labels: w, Timestamp: base.Add(4*time.Second + 500*time.Millisecond).UnixNano(), Line: "GET /health 204"},
	}
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}
