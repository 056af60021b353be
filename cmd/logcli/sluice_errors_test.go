package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
)

// TestSluiceServerDown checks that every command that needs a server fails with a clear message
// and a non-zero exit when nothing listens at --addr.
func TestSluiceServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + l.Addr().String()
	l.Close()
	for _, args := range [][]string{
		{"query", `{app="api"}`},
		{"query", "--tail", `{app="api"}`},
		{"instant-query", `count_over_time({app="api"}[1m])`},
		{"labels"},
		{"labels", "app"},
		{"series", `{app="api"}`},
		{"stats", `{app="api"}`},
		{"volume", `{app="api"}`},
		{"volume_range", `{app="api"}`},
		{"detected-fields", `{app="api"}`},
		{"delete", "list"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, "", append(args, "--addr="+down)...)
			if code == 0 || out != "" {
				t.Fatalf("exit %d, stdout %q", code, out)
			}
			if !strings.Contains(errOut, "cannot reach server at "+down) || strings.Count(strings.TrimSpace(errOut), "\n") > 1 {
				t.Errorf("stderr = %q, want one clear line", errOut)
			}
		})
	}
}

// serverReason fetches the plain-text reason the server gives for a bad request, to check that
// logcli prints it whole.
func serverReason(t *testing.T, base, path string, v url.Values) string {
	t.Helper()
	resp, err := http.Get(base + path + "?" + v.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("%s answered %s, want 400", path, resp.Status)
	}
	return strings.TrimSpace(string(b))
}

// TestSluiceBadRequests checks that the server's 400 reason reaches the user.
func TestSluiceBadRequests(t *testing.T) {
	f := startFixture(t)
	parseErr := serverReason(t, f.srv.URL, "/loki/api/v1/query_range", url.Values{"query": {`{app="api"`}})
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"query", `{app="api"`}, "Query failed: error response from server: 400 Bad Request: " + parseErr},
		{[]string{"query", `{app="api"} | json | unwrap`}, "400 Bad Request: parse error"},
		{[]string{"instant-query", `sum(`}, "400 Bad Request: parse error"},
		{[]string{"instant-query", `{app="api"}`}, "log queries are not supported as an instant query type"},
		{[]string{"series", `{app=~".*"}`}, "400 Bad Request: parse error"},
		{[]string{"stats", `nope`}, "400 Bad Request"},
		{[]string{"volume", `{app=`}, "400 Bad Request"},
		{[]string{"detected-fields", `{app=`}, "400 Bad Request"},
		// More lines in one request than the server's max_entries_limit_per_query.
		{[]string{"query", "--limit=9000", "--batch=9000", `{app="api"}`}, "400 Bad Request: max entries limit per query exceeded"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := f.run(t, append([]string{"-q"}, tt.args...)...)
			if code == 0 || out != "" {
				t.Fatalf("exit %d, stdout %q", code, out)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr = %q, want it to contain %q", errOut, tt.want)
			}
		})
	}
}

// TestSluiceTenants runs logcli against a server with auth on: without a tenant every command
// gets the server's 401 reason; a tenant sees its own data and none of another's.
func TestSluiceTenants(t *testing.T) {
	f := startFixture(t, sluicetest.WithAuth()) // data pushed as tenant-a
	noOrg := [][]string{
		{"query", `{app="api"}`},
		{"query", "--tail", `{app="api"}`},
		{"instant-query", `count_over_time({app="api"}[1m])`},
		{"labels"},
		{"series", `{app="api"}`},
		{"stats", `{app="api"}`},
		{"volume", `{app="api"}`},
		{"detected-fields", `{app="api"}`},
		{"delete", "list"},
	}
	for _, args := range noOrg {
		t.Run("no tenant "+strings.Join(args, " "), func(t *testing.T) {
			code, out, errOut := f.run(t, append([]string{"-q"}, args...)...)
			if code == 0 || out != "" {
				t.Fatalf("exit %d, stdout %q", code, out)
			}
			if !strings.Contains(errOut, "401 Unauthorized: no org id") {
				t.Errorf("stderr = %q, want the 401 reason", errOut)
			}
		})
	}

	same := func(org string) map[string]string {
		got := map[string]string{}
		for name, args := range map[string][]string{
			"query":  {"query", "-o", "raw", "--limit=0", `{env=~".+"}`},
			"labels": {"labels"},
			"series": {"series", `{env=~".+"}`},
			"stats":  {"stats", `{env=~".+"}`},
			"delete": {"delete", "list", "--json"},
		} {
			out, _ := f.mustRun(t, append([]string{"-q", "--org-id=" + org}, args...)...)
			got[name] = out
		}
		return got
	}
	a, b := same("tenant-a"), same("tenant-b")
	if n := len(lines(a["query"])); n != 15 {
		t.Errorf("tenant-a query: %d lines, want 15", n)
	}
	if a["labels"] != "app\nenv\npod\nservice_name\n" || len(lines(a["series"])) != 3 || !strings.Contains(a["stats"], "streams: 3") {
		t.Errorf("tenant-a: labels %q, series %q, stats %q", a["labels"], a["series"], a["stats"])
	}
	want := map[string]string{
		"query": "", "labels": "", "series": "", "delete": "[]\n",
		"stats": "{\n  bytes: 0 B\n  chunks: 0\n  streams: 0\n  entries: 0\n}\n",
	}
	for name, out := range b {
		if out != want[name] {
			t.Errorf("tenant-b %s = %q, want %q: another tenant's data is visible", name, out, want[name])
		}
	}

	// A delete request of tenant-a is not listed for, nor cancellable by, tenant-b.
	f.mustRun(t, "delete", "create", "--org-id=tenant-a", `{app="web"}`)
	out, _ := f.mustRun(t, "delete", "list", "--org-id=tenant-a", "--json")
	id := requestIDs(t, out)
	if len(id) != 1 {
		t.Fatalf("tenant-a delete list = %q", out)
	}
	if out, _ := f.mustRun(t, "delete", "list", "--org-id=tenant-b", "--json"); out != "[]\n" {
		t.Errorf("tenant-b sees tenant-a's delete requests: %q", out)
	}
	if code, _, errOut := f.run(t, "delete", "cancel", "--org-id=tenant-b", id[0]); code == 0 || !strings.Contains(errOut, "404 Not Found") {
		t.Errorf("tenant-b cancelling tenant-a's request: exit %d, %q", code, errOut)
	}

	// Live tails: each tenant gets its own new lines only.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outs := map[string]*syncBuffer{"tenant-a": {}, "tenant-b": {}}
	done := make(chan int, len(outs))
	for org, out := range outs {
		go func() {
			done <- run(ctx, []string{"query", "--tail", "-q", "-o", "raw", f.addr, "--org-id=" + org, `{app="live"}`}, strings.NewReader(""), out, io.Discard)
		}()
	}
	// Push until both tails have seen a line of their own (the first pushes may precede the
	// websocket; later ones come live).
	live := map[string]string{"app": "live"}
	for i := 0; ; i++ {
		for org := range outs {
			pushAll(t, f.srv.URL, org, []pushed{{live, time.Now(), fmt.Sprintf("%s %d", org, i)}})
		}
		if waitFor(100*time.Millisecond, func() bool {
			return strings.Contains(outs["tenant-a"].String(), "tenant-a") && strings.Contains(outs["tenant-b"].String(), "tenant-b")
		}) {
			break
		}
		if i == 100 {
			t.Fatalf("tails got %q and %q", outs["tenant-a"].String(), outs["tenant-b"].String())
		}
	}
	cancel()
	for range outs {
		<-done
	}
	if a, b := outs["tenant-a"].String(), outs["tenant-b"].String(); strings.Contains(a, "tenant-b") || strings.Contains(b, "tenant-a") {
		t.Errorf("a tail saw another tenant's lines: tenant-a %q, tenant-b %q", a, b)
	}
}
