package main

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

type listedDelete struct {
	RequestID string  `json:"request_id"`
	StartTime float64 `json:"start_time"`
	EndTime   float64 `json:"end_time"`
	Query     string  `json:"query"`
	Status    string  `json:"status"`
}

func listedDeletes(t *testing.T, out string) []listedDelete {
	t.Helper()
	var reqs []listedDelete
	if err := json.Unmarshal([]byte(out), &reqs); err != nil {
		t.Fatalf("delete list --json printed %q: %v", out, err)
	}
	return reqs
}

func requestIDs(t *testing.T, out string) []string {
	t.Helper()
	var ids []string
	for _, r := range listedDeletes(t, out) {
		ids = append(ids, r.RequestID)
	}
	return ids
}

// TestSluiceDelete creates, lists and cancels delete requests against the server's deletion API.
func TestSluiceDelete(t *testing.T) {
	f := startFixture(t)
	run := func(args ...string) (int, string, string) {
		return runCLI(t, "", append(args, f.addr)...)
	}
	if code, out, errOut := run("delete", "list"); code != 0 || out != "Found 0 delete requests:\n" {
		t.Fatalf("empty list: exit %d, %q %q", code, out, errOut)
	}
	from, to := f.base.Add(-time.Minute), f.base.Add(time.Minute)
	query := `{app="api", pod="p0"} |= "req 1"`
	code, out, errOut := run("delete", "create", "--from="+from.Format(time.RFC3339), "--to="+to.Format(time.RFC3339), query)
	if code != 0 || out != "Delete request created successfully\n" {
		t.Fatalf("create: exit %d, %q %q", code, out, errOut)
	}
	// --since: from an hour ago to now.
	if code, _, errOut := run("delete", "create", "-q", `{app="web"}`); code != 0 {
		t.Fatalf("create --since: exit %d, %q", code, errOut)
	}

	_, out, _ = run("delete", "list", "--json")
	reqs := listedDeletes(t, out)
	if len(reqs) != 2 {
		t.Fatalf("list --json = %q, want 2 requests", out)
	}
	r := reqs[0]
	if r.Query != query || r.Status != "received" || r.StartTime != float64(from.Unix()) || r.EndTime != float64(to.Unix()) || r.RequestID == "" {
		t.Errorf("first request = %+v", r)
	}
	if web := reqs[1]; web.Query != `{app="web"}` || math.Abs(web.EndTime-float64(time.Now().Unix())) > 60 || math.Abs(web.EndTime-web.StartTime-3600) > 1 {
		t.Errorf("request made with the default --since=1h = %+v", web)
	}
	// -o jsonl lists as JSON too.
	if _, out2, _ := run("delete", "list", "-o", "jsonl"); out2 != out {
		t.Errorf("delete list -o jsonl = %q, want %q", out2, out)
	}

	_, out, _ = run("delete", "list")
	want := fmt.Sprintf("Found 2 delete requests:\nRequest ID: %s\nQuery: %s\nStart Time: %s\nEnd Time: %s\nStatus: received\n---\n",
		r.RequestID, query, from.Local().Format(time.RFC3339), to.Local().Format(time.RFC3339))
	if !strings.HasPrefix(out, want) || strings.Count(out, "---\n") != 2 {
		t.Errorf("list = %q, want it to start with %q", out, want)
	}

	if code, out, errOut := run("delete", "cancel", r.RequestID); code != 0 || out != "Delete request "+r.RequestID+" cancelled successfully\n" {
		t.Fatalf("cancel: exit %d, %q %q", code, out, errOut)
	}
	_, out, _ = run("delete", "list", "--json")
	if ids := requestIDs(t, out); len(ids) != 1 || ids[0] == r.RequestID {
		t.Errorf("after cancel, list = %q", out)
	}
	code, out, errOut = run("delete", "cancel", r.RequestID)
	if code == 0 || out != "" || !strings.Contains(errOut, "Cancel delete request: error response from server: 404 Not Found: ") {
		t.Errorf("second cancel: exit %d, %q %q", code, out, errOut)
	}

	// The server's reasons for refusing a request are printed.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--to=" + time.Now().Add(time.Hour).Format(time.RFC3339), `{app="web"}`}, "400 Bad Request: deletes in the future are not allowed"},
		{[]string{`{app="web"`}, "400 Bad Request"},
		{[]string{`{app="web"} |= "x"`, "--from=" + from.Format(time.RFC3339), "--to=" + from.Format(time.RFC3339)}, "400 Bad Request: difference between start time and end time must be at least one second"},
	} {
		code, _, errOut := run(append([]string{"delete", "create"}, tt.args...)...)
		if code == 0 || !strings.Contains(errOut, "Create delete request: error response from server: "+tt.want) {
			t.Errorf("create %v: exit %d, stderr %q, want %q", tt.args, code, errOut, tt.want)
		}
	}
}
