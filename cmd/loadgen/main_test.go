package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
)

// TestLoadIntoSluice pushes a small workload into a real server and counts it back with LogQL.
func TestLoadIntoSluice(t *testing.T) {
	srv := sluicetest.Start(t)
	const n = 3000
	end := time.Now().Truncate(time.Second)
	var stdout, stderr bytes.Buffer
	args := []string{"-url", srv.URL + "/loki/api/v1/push", "-lines", strconv.Itoa(n), "-span", "1h",
		"-end", end.Format(time.RFC3339), "-batch-bytes", "65536", "-json"}
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("run(%q): %v\n%s", args, err, stderr.String())
	}
	var s summary
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		t.Fatalf("decode -json output %q: %v", stdout.String(), err)
	}
	if s.Lines != n || s.Requests < 2 || s.RawBytes < n*150 || s.EndUnixNano != end.UnixNano() {
		t.Errorf("summary %+v: want %d lines in several requests, over 150 bytes a line, ending at %d", s, n, end.UnixNano())
	}
	if !strings.Contains(stderr.String(), "pushed 3000 lines") {
		t.Errorf("stderr %q does not report the lines pushed", stderr.String())
	}

	// Every line arrived, in the span the summary names.
	q := url.Values{"query": {`sum(count_over_time({namespace=~".+"}[1h]))`}, "time": {strconv.FormatInt(end.Unix(), 10)}}
	resp, err := http.Get(srv.URL + "/loki/api/v1/query?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decode query response: %v", err)
	}
	if len(body.Data.Result) != 1 || body.Data.Result[0].Value[1] != strconv.Itoa(n) {
		t.Errorf("count of lines in the server = %+v, want %d", body.Data.Result, n)
	}
}

func TestDryRunIsDeterministic(t *testing.T) {
	runOnce := func() summary {
		var stdout, stderr bytes.Buffer
		args := []string{"-dry-run", "-json", "-lines", "2000", "-seed", "9", "-end", "1700000000"}
		if err := run(context.Background(), args, &stdout, &stderr); err != nil {
			t.Fatalf("run(%q): %v", args, err)
		}
		var s summary
		if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
			t.Fatalf("decode %q: %v", stdout.String(), err)
		}
		return s
	}
	a, b := runOnce(), runOnce()
	var sum int64
	for _, n := range a.RawBytesByContainer {
		sum += n
	}
	if sum != a.RawBytes || a.RawBytesByContainer["server"] == 0 {
		t.Errorf("raw bytes by container %v sum to %d, want %d with the JSON services' container (server) present", a.RawBytesByContainer, sum, a.RawBytes)
	}
	if a.Lines != 2000 || a.RawBytes != b.RawBytes || a.EndUnixNano != 1700000000*1e9 {
		t.Errorf("two dry runs with seed 9 gave %+v and %+v; want 2000 lines of equal size ending at 1700000000s", a, b)
	}
}

func TestBadFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-end", "yesterday"}, `-end "yesterday": want RFC 3339 or Unix seconds`},
		{[]string{"-lines", "0", "-dry-run"}, "lines: must be positive"},
		{[]string{"-workers", "0", "-lines", "1"}, "workers: must be positive"},
		{[]string{"extra"}, "unexpected arguments"},
	}
	for _, c := range cases {
		var out bytes.Buffer
		err := run(context.Background(), c.args, &out, &out)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run(%q) = %v, want an error containing %q", c.args, err, c.want)
		}
	}
}
