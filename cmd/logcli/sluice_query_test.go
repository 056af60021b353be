package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/sluice"
	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
)

// End-to-end tests of the query command's output modes and flags against a real Sluice server.
func TestSluiceQueryOutput(t *testing.T) {
	f := startFixture(t)
	stamp := func(e pushed) string { return e.ts.Format(time.RFC3339) }
	newestAPI := slices.Clone(f.api)
	slices.Reverse(newestAPI)
	// The lines' labels that differ are pod and the detected_level the server adds (p0's lines
	// are info, p1's error); app, env and the added service_name are common. logcli pads each
	// label set to the longest printed, or to --labels-length when that is longer.
	pad := func(ls string, n int) string { return ls + strings.Repeat(" ", n-len(ls)) }
	p0, p1 := `{detected_level="info", pod="p0"}`, `{detected_level="error", pod="p1"}`
	p0 = pad(p0, len(p1))

	tests := []struct {
		name       string
		args       []string
		want       []string
		wantStderr string
	}{
		{
			name:       "default output: common labels to stderr, the rest padded",
			args:       []string{"--limit=3"},
			want:       []string{stamp(f.api[11]) + " " + p1 + " " + f.api[11].line, stamp(f.api[10]) + " " + p0 + " " + f.api[10].line, stamp(f.api[9]) + " " + p1 + " " + f.api[9].line},
			wantStderr: `Common labels: {app="api", env="prod", service_name="api"}`,
		},
		{
			name: "forward",
			args: []string{"--limit=2", "--forward"},
			want: []string{stamp(f.api[0]) + " " + p0 + " " + f.api[0].line, stamp(f.api[1]) + " " + p1 + " " + f.api[1].line},
		},
		{
			name: "raw, no limit",
			args: []string{"-o", "raw", "--limit=0"},
			want: linesOf(newestAPI),
		},
		{
			name: "jsonl",
			args: []string{"-o", "jsonl", "--limit=2"},
			want: []string{
				fmt.Sprintf(`{"labels":{"detected_level":"error","pod":"p1"},"line":%q,"timestamp":"%s"}`, f.api[11].line, f.api[11].ts.Format(time.RFC3339Nano)),
				fmt.Sprintf(`{"labels":{"detected_level":"info","pod":"p0"},"line":%q,"timestamp":"%s"}`, f.api[10].line, f.api[10].ts.Format(time.RFC3339Nano)),
			},
		},
		{
			name: "jsonl --no-labels",
			args: []string{"-o", "jsonl", "--limit=1", "--no-labels"},
			want: []string{fmt.Sprintf(`{"line":%q,"timestamp":"%s"}`, f.api[11].line, f.api[11].ts.Format(time.RFC3339Nano))},
		},
		{
			name: "--no-labels",
			args: []string{"--limit=1", "--no-labels"},
			want: []string{stamp(f.api[11]) + " " + f.api[11].line},
		},
		{
			name:       "--include-label shows a common label",
			args:       []string{"--limit=1", "--include-label=env"},
			want:       []string{stamp(f.api[11]) + ` {env="prod"} ` + f.api[11].line},
			wantStderr: "Print only labels key: env",
		},
		{
			name:       "--exclude-label",
			args:       []string{"--limit=1", "--exclude-label=pod"},
			want:       []string{stamp(f.api[11]) + ` {} ` + f.api[11].line},
			wantStderr: "Ignoring labels key: pod",
		},
		{
			// 40 is more than the 34 characters of p1's labels.
			name: "--labels-length pads labels",
			args: []string{"--limit=2", "--labels-length=40"},
			want: []string{stamp(f.api[11]) + " " + pad(p1, 40) + " " + f.api[11].line, stamp(f.api[10]) + " " + pad(p0, 40) + " " + f.api[10].line},
		},
		{
			name: "--include-common-labels",
			args: []string{"--limit=1", "--include-common-labels"},
			want: []string{stamp(f.api[11]) + ` {app="api", detected_level="error", env="prod", pod="p1", service_name="api"} ` + f.api[11].line},
		},
		{
			name: "filter and parser",
			args: []string{"-o", "raw", "--limit=0", "--forward", `{app="api"} | logfmt | status >= 500 | msg =~ "req [34]"`},
			want: []string{f.api[7].line, f.api[9].line},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"query", "-z", "UTC"}, tt.args...)
			if !strings.HasPrefix(args[len(args)-1], "{") {
				args = append(args, `{app="api"}`)
			}
			out, errOut := f.mustRun(t, args...)
			if got := lines(out); !slices.Equal(got, tt.want) {
				t.Errorf("stdout:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if !strings.Contains(errOut, tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", errOut, tt.wantStderr)
			}
			if !strings.Contains(errOut, f.srv.URL+"/loki/api/v1/query_range?") {
				t.Errorf("stderr = %q, want the request URL", errOut)
			}
		})
	}

	t.Run("--quiet", func(t *testing.T) {
		out, errOut := f.mustRun(t, "query", "-q", "--limit=1", `{app="api"}`)
		if len(lines(out)) != 1 || errOut != "" {
			t.Errorf("stdout %q, stderr %q", out, errOut)
		}
	})
}

func linesOf(es []pushed) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.line
	}
	return out
}

// TestSluiceQueryTimeRange checks --since, --from and --to against the server: --from
// inclusive, --to exclusive, and --since relative to now.
func TestSluiceQueryTimeRange(t *testing.T) {
	f := startFixture(t)
	query := func(args ...string) []string {
		t.Helper()
		args = append([]string{"query", "-q", "-o", "raw", "--limit=0", "--forward", "--addr=" + f.srv.URL}, args...)
		code, out, errOut := runCLI(t, "", append(args, `{app="api"}`)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		return lines(out)
	}
	at := func(d time.Duration) string { return f.base.Add(d).Format(time.RFC3339Nano) }
	if got, want := query("--from="+at(2*time.Second), "--to="+at(5*time.Second)), linesOf(f.api[2:5]); !slices.Equal(got, want) {
		t.Errorf("--from/--to: got %q, want %q", got, want)
	}
	// Unix seconds work too.
	from := fmt.Sprint(f.base.Add(10 * time.Second).Unix())
	if got, want := query("--from="+from, "--to="+at(time.Hour)), linesOf(f.api[10:]); !slices.Equal(got, want) {
		t.Errorf("--from in Unix seconds: got %q, want %q", got, want)
	}
	if got := query("--since=1h"); len(got) != 12 {
		t.Errorf("--since=1h: %d lines, want 12", len(got))
	}
	if got := query("--since=10m"); len(got) != 0 {
		t.Errorf("--since=10m (data is 30m old): got %q", got)
	}
}

// TestSluiceQueryStats checks --stats prints the server's statistics to stderr.
func TestSluiceQueryStats(t *testing.T) {
	f := startFixture(t)
	out, errOut := f.mustRun(t, "query", "-q", "--stats", "-o", "raw", "--limit=5", `{app="api"}`)
	if len(lines(out)) != 5 {
		t.Errorf("stdout has %d lines, want 5", len(lines(out)))
	}
	for _, want := range []string{"Summary.TotalLinesProcessed", "Summary.ExecTime", "Querier.Store.TotalChunksRef", "Ingester.TotalReached"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	// Numbers print exactly, bytes in SI units, times as durations.
	for _, re := range []string{`(?m)^Summary\.TotalBytesProcessed +\d+ B$`, `(?m)^Summary\.ExecTime +[0-9.]+(ns|µs|ms|s)$`, `(?m)^Summary\.LinesProcessedPerSecond +\d+$`} {
		if !regexp.MustCompile(re).MatchString(errOut) {
			t.Errorf("stderr does not match %s:\n%s", re, errOut)
		}
	}
	if strings.Contains(errOut, "e+") {
		t.Errorf("stderr has a number in exponent form:\n%s", errOut)
	}
	// The stats of an instant metric query too.
	code, _, errOut := runCLI(t, "", "instant-query", "-q", "--stats", f.addr, "--now="+f.base.Add(time.Minute).Format(time.RFC3339), `count_over_time({app="api"}[5m])`)
	if code != 0 || !strings.Contains(errOut, "Summary.TotalLinesProcessed") {
		t.Errorf("instant-query --stats: exit %d, stderr %q", code, errOut)
	}
}

// TestSluiceInstantQuery checks instant-query's vector output and its log-query output.
func TestSluiceInstantQuery(t *testing.T) {
	f := startFixture(t)
	now := "--now=" + f.base.Add(time.Minute).Format(time.RFC3339)
	code, out, errOut := runCLI(t, "", "instant-query", "-q", f.addr, now, `sum by (pod) (count_over_time({app="api"} |= "level=error" [5m]))`)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := fmt.Sprintf(`[
  {
    "metric": {
      "pod": "p1"
    },
    "value": [
      %d,
      "6"
    ]
  }
]`, f.base.Add(time.Minute).Unix())
	if out != want {
		t.Errorf("stdout = %q, want %q", out, want)
	}
	// A scalar.
	code, out, errOut = runCLI(t, "", "instant-query", "-q", f.addr, now, `vector(2) * 21`)
	if code != 0 || !strings.Contains(out, `"42"`) {
		t.Errorf("vector(2)*21: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestSluiceFmtMatchesServer checks that logcli fmt formats a query as the server's
// /format_query does.
func TestSluiceFmtMatchesServer(t *testing.T) {
	f := startFixture(t)
	for _, q := range []string{
		`sum by (app) (count_over_time({app="a"}   |= "x" [5m]))`,
		`{app="api",env=~"p.*"} | logfmt | status>=500 or level="error" | line_format "{{.msg}}"`,
		`topk(3, sum by (pod) (sum_over_time({job="x"} | json | unwrap bytes(size) [1m])))`,
		// Longer than a line: broken up.
		`sum by (app, level) (count_over_time({namespace="shop-production", app="checkout-api"} |= "error" | json | level="error" [5m]))`,
	} {
		code, out, errOut := runCLI(t, q, "fmt")
		if code != 0 {
			t.Fatalf("fmt %q: exit %d, %s", q, code, errOut)
		}
		resp, err := http.Get(f.srv.URL + "/loki/api/v1/format_query?query=" + url.QueryEscape(q))
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Data string }
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSuffix(out, "\n") != body.Data {
			t.Errorf("fmt %q = %q, server formats %q", q, out, body.Data)
		}
		if lines := strings.Count(body.Data, "\n") + 1; (len(q) > 100) != (lines > 1) {
			t.Errorf("format_query %q: %d lines", q, lines)
		}
	}
}

// TestSluiceStdinMatchesServer checks that --stdin applies a pipeline to piped lines as the
// server applies it to the same lines.
func TestSluiceStdinMatchesServer(t *testing.T) {
	f := startFixture(t)
	pipeline := ` | logfmt | status >= 500 or duration < 13ms | line_format "{{.level}} {{.msg}}"`
	out, _ := f.mustRun(t, "query", "-q", "-o", "raw", "--limit=0", "--forward", `{app="api"}`+pipeline)
	want := lines(out)
	if len(want) != 8 { // 6 errors and the info lines at 10ms and 12ms
		t.Fatalf("server returned %q", want)
	}
	stdin := strings.Join(linesOf(f.api), "\n") + "\n"
	code, got, errOut := runCLI(t, stdin, "--stdin", "query", "-q", "-o", "raw", "--limit=0", "--forward", pipeline)
	if code != 0 {
		t.Fatalf("--stdin: exit %d: %s", code, errOut)
	}
	if !slices.Equal(lines(got), want) {
		t.Errorf("--stdin printed %q, the server %q", lines(got), want)
	}
}

// TestSluiceTail follows a query live: the lines already there come first, then lines pushed
// while logcli runs; cancelling the context ends it with exit 0.
func TestSluiceTail(t *testing.T) {
	f := startFixture(t)
	labels := map[string]string{"app": "tail", "env": "prod"}
	start := time.Now().Add(-time.Minute)
	pushAll(t, f.srv.URL, "", []pushed{{labels, start, "before 1"}, {labels, start.Add(time.Millisecond), "before 2"}})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"query", "--tail", "-o", "raw", f.addr, "--since=5m", `{app="tail"} != "skip"`}, strings.NewReader(""), &stdout, &stderr)
	}()
	has := func(want ...string) func() bool {
		return func() bool { return slices.Equal(lines(stdout.String()), want) }
	}
	if !waitFor(10*time.Second, has("before 1", "before 2")) {
		t.Fatalf("history: stdout %q, stderr %q", stdout.String(), stderr.String())
	}
	for i := range 3 {
		pushAll(t, f.srv.URL, "", []pushed{
			{labels, time.Now(), fmt.Sprintf("live %d", i)},
			{labels, time.Now(), "skip this one"},
			{map[string]string{"app": "other"}, time.Now(), "not tailed"},
		})
		want := []string{"before 1", "before 2"}
		for j := range i + 1 {
			want = append(want, fmt.Sprintf("live %d", j))
		}
		if !waitFor(10*time.Second, has(want...)) {
			t.Fatalf("after push %d: stdout %q, want %q; stderr %q", i, stdout.String(), want, stderr.String())
		}
	}
	if !strings.Contains(stderr.String(), "/loki/api/v1/tail?") {
		t.Errorf("stderr = %q, want the websocket URL", stderr.String())
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d after cancel; stderr %q", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("logcli --tail did not stop after its context was cancelled")
	}
}

// TestSluiceTailDefaultOutput checks the tail's default output: timestamp and the full label set,
// with the service_name and detected_level (none in the line: unknown) the server adds.
func TestSluiceTailDefaultOutput(t *testing.T) {
	f := startFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"query", "-f", "-z", "UTC", f.addr, `{app="web"}`}, strings.NewReader(""), &stdout, &stderr)
	}()
	if !waitFor(10*time.Second, func() bool { return len(lines(stdout.String())) == 3 }) {
		t.Fatalf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
	want := f.web[0].ts.Format(time.RFC3339) + ` {app="web", detected_level="unknown", env="dev", service_name="web"} ` + f.web[0].line
	if got := lines(stdout.String())[0]; got != want {
		t.Errorf("first line %q, want %q", got, want)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d", code)
	}
}

// TestSluiceTailReconnect restarts the server under a running tail: logcli reconnects to the new
// server on the same address and data directory, and goes on from the last line it printed,
// printing none twice.
func TestSluiceTailReconnect(t *testing.T) {
	dir := t.TempDir()
	srv := sluicetest.Start(t, sluicetest.WithDir(dir))
	labels := map[string]string{"app": "tail"}
	pushAll(t, srv.URL, "", []pushed{{labels, time.Now().Add(-time.Minute), "old 1"}, {labels, time.Now().Add(-time.Minute), "old 2"}})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"query", "--tail", "-o", "raw", "--addr=" + srv.URL, `{app="tail"}`}, strings.NewReader(""), &stdout, &stderr)
	}()
	if !waitFor(10*time.Second, func() bool { return len(lines(stdout.String())) == 2 }) {
		t.Fatalf("history: stdout %q, stderr %q", stdout.String(), stderr.String())
	}
	pushAll(t, srv.URL, "", []pushed{{labels, time.Now(), "before restart"}})
	if !waitFor(10*time.Second, func() bool { return len(lines(stdout.String())) == 3 }) {
		t.Fatalf("live: stdout %q", stdout.String())
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(u.Port())
	srv2 := sluicetest.Start(t, sluicetest.WithDir(dir), sluicetest.WithConfig(func(c *sluice.Config) { c.Server.HTTPListenPort = port }))
	pushAll(t, srv2.URL, "", []pushed{{labels, time.Now(), "after restart"}})
	want := []string{"old 1", "old 2", "before restart", "after restart"}
	if !waitFor(15*time.Second, func() bool { return slices.Equal(lines(stdout.String()), want) }) {
		t.Fatalf("stdout %q, want %q; stderr %q", stdout.String(), want, stderr.String())
	}
	if !strings.Contains(stderr.String(), "Remote websocket connection closed unexpectedly") {
		t.Errorf("stderr = %q, want the reconnect notice", stderr.String())
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d", code)
	}
}
