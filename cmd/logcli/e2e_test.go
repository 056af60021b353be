package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
)

// push sends lines to a real Sluice server as Loki's JSON push body.
func push(t *testing.T, url string, labels map[string]string, start time.Time, lines ...string) {
	t.Helper()
	values := make([][]string, len(lines))
	for i, l := range lines {
		values[i] = []string{fmt.Sprint(start.Add(time.Duration(i) * time.Millisecond).UnixNano()), l}
	}
	body, _ := json.Marshal(map[string]any{"streams": []any{map[string]any{"stream": labels, "values": values}}})
	resp, err := http.Post(url+"/loki/api/v1/push", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("push: %s", resp.Status)
	}
}

func TestAgainstSluice(t *testing.T) {
	srv := sluicetest.Start(t)
	now := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	var api, web []string
	for i := range 2500 {
		api = append(api, fmt.Sprintf("level=info msg=\"request %04d\" status=200", i))
	}
	for i := range 5 {
		web = append(web, fmt.Sprintf("GET /page/%d 200", i))
	}
	push(t, srv.URL, map[string]string{"app": "api", "env": "prod"}, now, api...)
	push(t, srv.URL, map[string]string{"app": "web", "env": "prod"}, now, web...)
	from := "--from=" + now.Add(-time.Minute).Format(time.RFC3339Nano)
	to := "--to=" + now.Add(time.Minute).Format(time.RFC3339Nano)
	addr := "--addr=" + srv.URL

	t.Run("query batched", func(t *testing.T) {
		code, out, errOut := runCLI(t, "", "query", addr, from, to, "-q", "-o", "raw", "--limit=0", "--batch=300", "--forward", `{app="api"}`)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != len(api) {
			t.Fatalf("got %d lines, want %d", len(lines), len(api))
		}
		for i, l := range lines {
			if l != api[i] {
				t.Fatalf("line %d = %q, want %q", i, l, api[i])
			}
		}
	})
	t.Run("query default output", func(t *testing.T) {
		code, out, errOut := runCLI(t, "", "query", addr, from, to, "-z", "UTC", "--limit=2", `{env="prod"} |= "GET"`)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		ts := now.Add(4 * time.Millisecond).UTC().Format(time.RFC3339)
		want := ts + " {} GET /page/4 200\n" + ts + " {} GET /page/3 200\n"
		if out != want {
			t.Errorf("stdout = %q, want %q", out, want)
		}
		// The server adds service_name (from app) and detected_level (none in these lines:
		// "unknown") by default, as Loki 3 does; both are common to the two lines.
		if !strings.Contains(errOut, `Common labels: {app="web", detected_level="unknown", env="prod", service_name="web"}`) {
			t.Errorf("stderr = %q, want the common labels", errOut)
		}
	})
	t.Run("jsonl", func(t *testing.T) {
		code, out, errOut := runCLI(t, "", "query", addr, from, to, "-q", "-o", "jsonl", "-z", "UTC", "--limit=1", `{app="web"}`)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		want := fmt.Sprintf(`{"labels":{},"line":"GET /page/4 200","timestamp":"%s"}`+"\n", now.Add(4*time.Millisecond).UTC().Format(time.RFC3339Nano))
		if out != want {
			t.Errorf("stdout = %q, want %q", out, want)
		}
	})
	t.Run("instant metric", func(t *testing.T) {
		code, out, errOut := runCLI(t, "", "instant-query", addr, "-q", "--now="+now.Add(time.Minute).Format(time.RFC3339), `sum by (app) (count_over_time({env="prod"}[5m]))`)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var v []struct {
			Metric map[string]string `json:"metric"`
			Value  []any             `json:"value"`
		}
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("output %q is not a vector: %v", out, err)
		}
		if len(v) != 2 || v[0].Metric["app"] != "api" || v[0].Value[1] != "2500" || v[1].Value[1] != "5" {
			t.Errorf("vector = %+v", v)
		}
	})
	t.Run("labels and series", func(t *testing.T) {
		code, out, errOut := runCLI(t, "", "labels", addr, from, to, "-q", "app")
		if code != 0 || out != "api\nweb\n" {
			t.Fatalf("labels app: exit %d, %q %q", code, out, errOut)
		}
		// Series are the streams' labels, with the service_name the server gave them.
		code, out, errOut = runCLI(t, "", "series", addr, from, to, "-q", `{env="prod"}`)
		if code != 0 || out != "{app=\"api\", env=\"prod\", service_name=\"api\"}\n{app=\"web\", env=\"prod\", service_name=\"web\"}\n" {
			t.Fatalf("series: exit %d, %q %q", code, out, errOut)
		}
	})
	t.Run("bad query", func(t *testing.T) {
		code, _, errOut := runCLI(t, "", "query", addr, from, to, `{app="api"`)
		if code == 0 || !strings.Contains(errOut, "400 Bad Request") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("range metric", func(t *testing.T) {
		code, out, errOut := runCLI(t, "", "query", addr, from, to, "-q", "--step=1m", `sum(count_over_time({env="prod"}[1m]))`)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var m []struct {
			Values [][]any `json:"values"`
		}
		if err := json.Unmarshal([]byte(out), &m); err != nil || len(m) != 1 {
			t.Fatalf("output %q is not a one-series matrix: %v", out, err)
		}
		if !strings.HasPrefix(out, "[\n  {\n    \"metric\": {},\n    \"values\": [\n      [\n") {
			t.Errorf("matrix not printed as Loki's logcli prints it: %q", out)
		}
	})
}
