package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/logcli/logclitest"
)

var base = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code = run(ctx, args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func startServer(t *testing.T) *logclitest.Server {
	srv := logclitest.Start(t)
	for i := range 50 {
		srv.Add(logclitest.Entry{
			Labels:    map[string]string{"app": "api", "pod": fmt.Sprintf("p%d", i%2)},
			Timestamp: base.Add(time.Duration(i) * time.Second).UnixNano(),
			Line:      fmt.Sprintf("line %02d", i),
		})
	}
	return srv
}

var rangeFlags = []string{"--from=2024-01-02T03:00:00Z", "--to=2024-01-02T04:00:00Z"}

func TestQueryCommand(t *testing.T) {
	srv := startServer(t)
	args := append([]string{"query", "--addr=" + srv.URL, "-z", "UTC", "--limit=3", `{app="api"}`}, rangeFlags...)
	code, out, errOut := runCLI(t, "", args...)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	want := "2024-01-02T03:04:54Z {pod=\"p1\"} line 49\n2024-01-02T03:04:53Z {pod=\"p0\"} line 48\n2024-01-02T03:04:52Z {pod=\"p1\"} line 47\n"
	if out != want {
		t.Errorf("stdout = %q, want %q", out, want)
	}
	if !strings.Contains(errOut, srv.URL+"/loki/api/v1/query_range?direction=backward&end=") || !strings.Contains(errOut, `Common labels: {app="api"}`) {
		t.Errorf("stderr = %q, want the URL and common labels", errOut)
	}
}

func TestQueryCommandFlagsAnywhere(t *testing.T) {
	srv := startServer(t)
	// Global flags after the command, short flags, batch paging over everything.
	args := append([]string{"query", `{app="api"}`, "-q", "-o", "raw", "--limit=0", "--batch=7", "--forward", "--addr", srv.URL}, rangeFlags...)
	code, out, errOut := runCLI(t, "", args...)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 50 || lines[0] != "line 00" || lines[49] != "line 49" {
		t.Errorf("got %d lines %q..., want 50 oldest first", len(lines), lines[0])
	}
	if errOut != "" {
		t.Errorf("--quiet printed to stderr: %q", errOut)
	}
}

func TestEnvironmentVariables(t *testing.T) {
	srv := startServer(t)
	t.Setenv("LOKI_ADDR", srv.URL)
	t.Setenv("LOKI_ORG_ID", "tenant-1")
	t.Setenv("LOKI_QUERY_TAGS", "Source=script")
	t.Setenv("LOKI_USERNAME", "user")
	t.Setenv("LOKI_PASSWORD", "secret")
	t.Setenv("LOKI_CLIENT_RETRIES", "2")
	code, out, errOut := runCLI(t, "", append([]string{"labels", "-q"}, rangeFlags...)...)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	if out != "app\npod\n" {
		t.Errorf("labels printed %q", out)
	}
	h := srv.Requests()[0].Header
	if h.Get("X-Scope-OrgID") != "tenant-1" || h.Get("X-Query-Tags") != "Source=script" || h.Get("Authorization") != "Basic dXNlcjpzZWNyZXQ=" {
		t.Errorf("headers = %v", h)
	}
	// A flag wins over the environment.
	code, _, _ = runCLI(t, "", append([]string{"labels", "-q", "--org-id=tenant-2"}, rangeFlags...)...)
	if code != 0 || srv.Requests()[1].Header.Get("X-Scope-OrgID") != "tenant-2" {
		t.Errorf("--org-id did not override LOKI_ORG_ID")
	}
}

func TestErrorExitCodes(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + l.Addr().String()
	l.Close()

	srv := logclitest.Start(t)
	srv.Intercept = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.Header.Get("X-Scope-OrgID") == "" {
			http.Error(w, "no org id", http.StatusUnauthorized)
			return true
		}
		return false
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"server down", []string{"query", "--addr=" + down, `{app="x"}`}, "Query failed: cannot reach server at " + down},
		{"bad query", []string{"query", "--addr=" + srv.URL, "--org-id=t", `app="x"`}, "Query failed: error response from server: 400 Bad Request: parse error"},
		{"unauthorized", []string{"labels", "--addr=" + srv.URL}, "Query failed: error response from server: 401 Unauthorized: no org id"},
		{"bad flag", []string{"query", "--nope", `{}`}, "logcli: error: unknown long flag '--nope'"},
		{"missing arg", []string{"query"}, "required argument 'query' not provided"},
		{"bad output", []string{"query", "-o", "yaml", `{}`}, "enum value must be one of default,raw,jsonl"},
		{"bad time", []string{"query", "--addr=" + srv.URL, "--from=yesterday", `{}`}, "--from: unable to parse time"},
		{"bad timezone", []string{"query", "-z", "Mars/Olympus", `{}`}, "Unknown timezone"},
		{"bad addr", []string{"labels", "--addr=localhost:3100"}, "Invalid server address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, "", tt.args...)
			if code == 0 {
				t.Fatalf("exit 0, want failure")
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr = %q, want it to contain %q", errOut, tt.want)
			}
		})
	}
}

func TestOtherCommands(t *testing.T) {
	srv := startServer(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"labels", "pod"}, "p0\np1\n"},
		{[]string{"series", `{app="api"}`}, "{app=\"api\", pod=\"p0\"}\n{app=\"api\", pod=\"p1\"}\n"},
		{[]string{"series", "--match", `{pod="p1"}`}, "{app=\"api\", pod=\"p1\"}\n"},
		{[]string{"stats", `{app="api"}`}, "{\n  bytes: 350 B\n  chunks: 2\n  streams: 2\n  entries: 50\n}\n"},
		{[]string{"instant-query", "--now=2024-01-02T03:30:00Z", `count_over_time({pod="p0"}[1h])`}, "[\n  {\n    \"metric\": {\n      \"app\": \"api\",\n      \"pod\": \"p0\"\n    },\n    \"value\": [\n      1704166200,\n      \"25\"\n    ]\n  }\n]"},
		{[]string{"detected-fields", `{app="api"}`}, "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.args[0], func(t *testing.T) {
			args := append(append([]string{"-q", "--addr=" + srv.URL}, tt.args...), rangeFlags...)
			if tt.args[0] == "instant-query" {
				args = append([]string{"-q", "--addr=" + srv.URL}, tt.args...)
			}
			code, out, errOut := runCLI(t, "", args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if out != tt.want {
				t.Errorf("stdout = %q, want %q", out, tt.want)
			}
		})
	}
}

func TestDeleteCommand(t *testing.T) {
	srv := startServer(t)
	code, out, errOut := runCLI(t, "", append([]string{"delete", "create", "--addr=" + srv.URL, `{app="api"}`}, rangeFlags...)...)
	if code != 0 || out != "Delete request created successfully\n" {
		t.Fatalf("create: exit %d, %q %q", code, out, errOut)
	}
	code, out, _ = runCLI(t, "", "delete", "list", "--addr="+srv.URL, "--json")
	if code != 0 || !strings.Contains(out, `"request_id": "req1"`) {
		t.Fatalf("list: exit %d, %q", code, out)
	}
	code, out, _ = runCLI(t, "", "delete", "cancel", "--addr="+srv.URL, "req1")
	if code != 0 || out != "Delete request req1 cancelled successfully\n" {
		t.Fatalf("cancel: exit %d, %q", code, out)
	}
	if code, _, errOut = runCLI(t, "", "delete", "cancel", "--addr="+srv.URL, "req1"); code == 0 || !strings.Contains(errOut, "404") {
		t.Fatalf("second cancel: exit %d, %q", code, errOut)
	}
}

func TestFmtCommand(t *testing.T) {
	code, out, errOut := runCLI(t, `sum by (app) (count_over_time({app="a"}   |= "x" [5m]))`, "fmt")
	if code != 0 || !strings.HasPrefix(out, "sum by (app)") || !strings.Contains(out, `{app="a"} |= "x"`) {
		t.Fatalf("fmt: exit %d, %q %q", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "sum(", "fmt"); code == 0 || errOut == "" {
		t.Fatalf("fmt of a bad query: exit %d, %q", code, errOut)
	}
}

func TestHelpVersionCompletion(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--help"}, "usage: logcli"},
		{[]string{"help", "query"}, "--parallel-max-workers"},
		{[]string{"--completion-script-bash"}, "complete -F"},
		{[]string{"--completion-script-zsh"}, "compdef"},
		{[]string{"--completion-script-fish"}, "complete -c logcli -f -a"},
	} {
		code, out, errOut := runCaptureStdout(t, tt.args...)
		if code != 0 || !strings.Contains(out+errOut, tt.want) {
			t.Errorf("%v: exit %d, output lacks %q", tt.args, code, tt.want)
		}
	}
}

// runCaptureStdout runs the CLI with os.Stdout redirected, for output kingpin writes there
// directly (the completion scripts).
func runCaptureStdout(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	code, out, errOut := runCLI(t, "", args...)
	os.Stdout = saved
	w.Close()
	return code, out + <-done, errOut
}

func TestStdinFlag(t *testing.T) {
	code, out, errOut := runCLI(t, "a timeout\nfine\nanother timeout\n", "--stdin", "query", "-q", "-o", "raw", `|= "timeout"`)
	if code != 0 || out != "a timeout\nanother timeout\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "x\n", "--stdin", "labels"); code == 0 || !strings.Contains(errOut, "query and instant-query") {
		t.Fatalf("--stdin labels: exit %d, %q", code, errOut)
	}
}

func TestVersionStopsParsing(t *testing.T) {
	code, out, errOut := runCLI(t, "", "--version")
	if code != 0 || strings.TrimSpace(out+errOut) != version {
		t.Errorf("--version: exit %d, output %q", code, out+errOut)
	}
}
