package logql

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/logproto"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.txt")

// parseGoldenLine reads one line of testdata/queries.txt into Params.
func parseGoldenLine(line string) (Params, error) {
	head, q, ok := strings.Cut(line, " :: ")
	if !ok {
		return Params{}, fmt.Errorf("no ' :: ' in %q", line)
	}
	p := Params{Query: q}
	end := int64(-1)
	for _, kv := range strings.Fields(head) {
		k, v, _ := strings.Cut(kv, "=")
		var err error
		switch k {
		case "start", "end":
			var s int
			s, err = strconv.Atoi(v)
			if k == "start" {
				p.Start = sec(s)
			} else {
				end = sec(s)
			}
		case "step":
			p.Step, err = time.ParseDuration(v)
		case "interval":
			p.Interval, err = time.ParseDuration(v)
		case "dir":
			if v == "forward" {
				p.Direction = logproto.Forward
			}
		case "limit":
			var n int
			n, err = strconv.Atoi(v)
			p.Limit = uint32(n)
		case "categorize":
			p.CategorizeLabels = v == "true"
		default:
			err = fmt.Errorf("unknown key %q", k)
		}
		if err != nil {
			return Params{}, fmt.Errorf("%q: %w", line, err)
		}
	}
	p.End = p.Start
	if end >= 0 {
		p.End = end
	}
	return p, nil
}

// TestGolden runs every query of testdata/queries.txt over the fixture and compares the
// results with testdata/golden.txt.
func TestGolden(t *testing.T) {
	f, err := os.Open("testdata/queries.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	eng := newFixtureEngine(t)
	var sb strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p, err := parseGoldenLine(line)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sb, "=== %s\n", line)
		res, err := eng.Query(context.Background(), p)
		if err != nil {
			fmt.Fprintf(&sb, "error: %v\n", err)
			continue
		}
		fmt.Fprintf(&sb, "%s:\n%s", res.Data.Type(), valueSummary(res.Data))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	got := sb.String()
	if *update {
		if err := os.WriteFile("testdata/golden.txt", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile("testdata/golden.txt")
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) && i < len(wl); i++ {
			if gl[i] != wl[i] {
				t.Fatalf("golden mismatch at line %d:\n got: %s\nwant: %s\n(run go test ./pkg/logql -run TestGolden -update and review the diff)", i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("golden output has %d lines, want %d", len(gl), len(wl))
	}
}
