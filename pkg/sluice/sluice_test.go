package sluice_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/flagext"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/push"
	"github.com/sluicelog/sluice/pkg/sluice"
	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
)

type queryResponse struct {
	Status string `json:"status"`
	Data   struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Stream map[string]string `json:"stream"`
			Values [][]string        `json:"values"`
		} `json:"result"`
		Stats map[string]any `json:"stats"`
	} `json:"data"`
}

func doPush(t testing.TB, base, contentType, encoding string, body []byte) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/loki/api/v1/push", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func queryRange(t testing.TB, base string, params url.Values) queryResponse {
	t.Helper()
	resp, err := http.Get(base + "/loki/api/v1/query_range?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("query_range %v: %d %s", params, resp.StatusCode, body)
	}
	var qr queryResponse
	if err := json.Unmarshal(body, &qr); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return qr
}

// lines returns every "labels ts line" of a response, in response order.
func lines(qr queryResponse) []string {
	var out []string
	for _, s := range qr.Data.Result {
		for _, v := range s.Values {
			out = append(out, fmt.Sprintf("%s %s %s", s.Stream["stream"], v[0], v[1]))
		}
	}
	return out
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestPushQueryRestart(t *testing.T) {
	srv := sluicetest.Start(t)
	base := time.Now().Add(-time.Minute).UnixNano()

	// 4 streams × 250 entries as protobuf, one stream as JSON, one as gzip'd JSON.
	req := &logproto.PushRequest{}
	for s := 0; s < 4; s++ {
		st := logproto.Stream{Labels: fmt.Sprintf(`{app="api", stream="p%d"}`, s)}
		for i := 0; i < 250; i++ {
			level := "info"
			if i%10 == 0 {
				level = "error"
			}
			st.Entries = append(st.Entries, logproto.Entry{Timestamp: base + int64(i)*1e6 + int64(s), Line: fmt.Sprintf("level=%s msg=\"request %d\" stream=p%d", level, i, s)})
		}
		req.Streams = append(req.Streams, st)
	}
	if resp := doPush(t, srv.URL, push.ContentTypeProto, "", push.Encode(req)); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("protobuf push: %d", resp.StatusCode)
	}
	jsonBody := fmt.Sprintf(`{"streams":[{"stream":{"app":"api","stream":"j"},"values":[["%d","level=error msg=\"from json\""],["%d","level=info msg=\"json two\""]]}]}`, base, base+1)
	if resp := doPush(t, srv.URL, "application/json", "", []byte(jsonBody)); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("json push: %d", resp.StatusCode)
	}
	gzBody := fmt.Sprintf(`{"streams":[{"stream":{"app":"web","stream":"g"},"values":[["%d","level=error msg=\"gzipped\""]]}]}`, base+5)
	if resp := doPush(t, srv.URL, "application/json", "gzip", gz([]byte(gzBody))); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("gzip push: %d", resp.StatusCode)
	}

	window := url.Values{"start": {strconv.FormatInt(base-1e9, 10)}, "end": {strconv.FormatInt(base+1e9, 10)}}
	with := func(kv ...string) url.Values {
		v := url.Values{}
		for k, vs := range window {
			v[k] = vs
		}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	check := func(stage string) []string {
		all := queryRange(t, srv.URL, with("query", `{app=~"api|web"}`, "limit", "5000", "direction", "forward"))
		got := lines(all)
		if len(got) != 1003 {
			t.Fatalf("%s: selector query returned %d lines, want 1003", stage, len(got))
		}
		errs := lines(queryRange(t, srv.URL, with("query", `{app="api"} |= "level=error" != "json"`, "limit", "5000")))
		if len(errs) != 100 {
			t.Fatalf("%s: filtered query returned %d lines, want 100", stage, len(errs))
		}
		limited := queryRange(t, srv.URL, with("query", `{app="api", stream="p1"}`, "limit", "7", "direction", "backward"))
		l := lines(limited)
		if len(l) != 7 || !strings.Contains(l[0], `request 249`) || !strings.Contains(l[6], `request 243`) {
			t.Fatalf("%s: backward limit 7 = %v", stage, l)
		}
		fw := lines(queryRange(t, srv.URL, with("query", "{stream=\"p2\"} |~ `request [0-9]\"`", "limit", "3", "direction", "forward")))
		if len(fw) != 3 || !strings.Contains(fw[0], "request 0") || !strings.Contains(fw[2], "request 2") {
			t.Fatalf("%s: forward regexp limit 3 = %v", stage, fw)
		}
		return got
	}
	before := check("before restart")

	if err := srv.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	srv2 := sluicetest.Start(t, sluicetest.WithDir(srv.Dir))
	srv = srv2
	after := check("after restart")
	if strings.Join(before, "\n") != strings.Join(after, "\n") {
		t.Fatalf("lines differ after restart")
	}
}

func TestPushRejections(t *testing.T) {
	srv := sluicetest.Start(t)
	now := time.Now().UnixNano()
	cases := []struct {
		name, body string
		status     int
		reason     string
	}{
		{"bad labels", `{"streams":[{"labels":"{app=\"x}","entries":[]}]}`, 400, "error parsing labels"},
		{"no labels", fmt.Sprintf(`{"streams":[{"stream":{},"values":[["%d","x"]]}]}`, now), 400, "at least one label pair"},
		{"bad label name", fmt.Sprintf(`{"streams":[{"labels":"{1app=\"x\"}","values":[["%d","x"]]}]}`, now), 400, "error parsing labels"},
		{"too old", `{"streams":[{"stream":{"app":"x"},"values":[["1000000000","x"]]}]}`, 400, "timestamp too old"},
		{"malformed json", `{"streams":`, 400, "malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/loki/api/v1/push", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.reason) || strings.Count(strings.TrimSpace(string(body)), "\n") != 0 {
				t.Fatalf("status %d body %q, want %d containing %q on one line", resp.StatusCode, body, tc.status, tc.reason)
			}
		})
	}
	// A bad stream does not take the good one of the same request with it.
	body := fmt.Sprintf(`{"streams":[{"stream":{"app":"good"},"values":[["%d","kept"]]},{"stream":{"app":"old"},"values":[["1000000000","dropped"]]}]}`, now)
	if resp := doPush(t, srv.URL, "application/json", "", []byte(body)); resp.StatusCode != 400 {
		t.Fatalf("partial push status %d, want 400", resp.StatusCode)
	}
	got := lines(queryRange(t, srv.URL, url.Values{"query": {`{app="good"}`}, "since": {"5m"}}))
	if len(got) != 1 || !strings.HasSuffix(got[0], "kept") {
		t.Fatalf("partial accept: got %v", got)
	}
}

func TestTenancy(t *testing.T) {
	srv := sluicetest.Start(t, sluicetest.WithAuth())
	now := time.Now().UnixNano()
	pushAs := func(org, line string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/loki/api/v1/push",
			strings.NewReader(fmt.Sprintf(`{"streams":[{"stream":{"app":"x"},"values":[["%d",%q]]}]}`, now, line)))
		req.Header.Set("Content-Type", "application/json")
		if org != "" {
			req.Header.Set("X-Scope-OrgID", org)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := pushAs("", "anonymous"); s != http.StatusUnauthorized {
		t.Fatalf("push without org id: %d, want 401", s)
	}
	if s := pushAs("team-a", "secret of a"); s != http.StatusNoContent {
		t.Fatalf("push as team-a: %d", s)
	}
	get := func(org string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/loki/api/v1/query_range?query=%7Bapp%3D%22x%22%7D&since=5m", nil)
		if org != "" {
			req.Header.Set("X-Scope-OrgID", org)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if s, _ := get(""); s != http.StatusUnauthorized {
		t.Fatalf("query without org id: %d, want 401", s)
	}
	if s, b := get("team-a"); s != 200 || !strings.Contains(b, "secret of a") {
		t.Fatalf("team-a query: %d %s", s, b)
	}
	if s, b := get("team-b"); s != 200 || strings.Contains(b, "secret of a") {
		t.Fatalf("team-b sees team-a's data: %d %s", s, b)
	}
}

func TestRuntimeOverridesReload(t *testing.T) {
	file := t.TempDir() + "/overrides.yaml"
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("overrides:\n  small:\n    max_line_size: 16B\n")
	srv := sluicetest.Start(t, sluicetest.WithAuth(), sluicetest.WithConfig(func(c *sluice.Config) {
		c.RuntimeConfig.File = file
		c.RuntimeConfig.Period = flagext.Duration(50 * time.Millisecond)
	}))
	pushLine := func(org string) (int, string) {
		body := fmt.Sprintf(`{"streams":[{"stream":{"app":"x"},"values":[["%d","a line of 31 bytes ............"]]}]}`, time.Now().UnixNano())
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/loki/api/v1/push", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Scope-OrgID", org)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := pushLine("small"); code != 400 || !strings.Contains(body, "max entry size '16' bytes exceeded") {
		t.Fatalf("tenant with a 16B line limit: %d %s", code, body)
	}
	if code, _ := pushLine("other"); code != 204 {
		t.Fatalf("tenant without overrides: %d", code)
	}
	write("overrides:\n  small:\n    max_line_size: 1KB\n")
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body := pushLine("small")
		if code == 204 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("overrides not reloaded: %d %s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := http.Get(srv.URL + "/runtime_config")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "max_line_size: 1KiB") && !strings.Contains(string(b), "max_line_size: 1KB") {
		t.Fatalf("/runtime_config = %s", b)
	}
}

func TestDataDirectoryLocked(t *testing.T) {
	first := sluicetest.Start(t)
	cfg, err := sluice.LoadConfig([]string{"-server.http-listen-address=127.0.0.1", "-server.http-listen-port=0", "-common.path-prefix=" + first.Dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sluice.New(cfg, nil); err == nil || !strings.Contains(err.Error(), "in use by another sluice process") {
		t.Fatalf("second server on the same data directory: %v, want refused", err)
	}
	// The first server still works and, once stopped, frees the directory.
	if err := first.Stop(); err != nil {
		t.Fatal(err)
	}
	sluicetest.Start(t, sluicetest.WithDir(first.Dir))
}

func TestMaxQueryLookback(t *testing.T) {
	srv := sluicetest.Start(t, sluicetest.WithConfig(func(c *sluice.Config) {
		c.Limits.MaxQueryLookback = flagext.Duration(time.Hour)
	}))
	now := time.Now()
	body := fmt.Sprintf(`{"streams":[{"stream":{"app":"lb"},"values":[["%d","old"],["%d","new"]]}]}`,
		now.Add(-2*time.Hour).UnixNano(), now.Add(-time.Minute).UnixNano())
	if resp := doPush(t, srv.URL, "application/json", "", []byte(body)); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("push: %d", resp.StatusCode)
	}
	got := lines(queryRange(t, srv.URL, url.Values{"query": {`{app="lb"}`}, "since": {"3h"}}))
	if len(got) != 1 || !strings.HasSuffix(got[0], "new") {
		t.Fatalf("with a 1h lookback limit a 3h query returned %v, want only the line of the last hour", got)
	}
	old := queryRange(t, srv.URL, url.Values{"query": {`{app="lb"}`}, "start": {strconv.FormatInt(now.Add(-3*time.Hour).UnixNano(), 10)}, "end": {strconv.FormatInt(now.Add(-90*time.Minute).UnixNano(), 10)}})
	if old.Data.ResultType != "streams" || len(old.Data.Result) != 0 {
		t.Fatalf("a query wholly before the lookback = %+v, want empty streams", old.Data)
	}
}

func TestSeriesOfEmptySelector(t *testing.T) {
	srv := sluicetest.Start(t)
	body := fmt.Sprintf(`{"streams":[{"stream":{"app":"a"},"values":[["%d","x"]]},{"stream":{"app":"b"},"values":[["%d","y"]]}]}`, time.Now().UnixNano(), time.Now().UnixNano())
	doPush(t, srv.URL, "application/json", "", []byte(body))
	resp, err := http.Get(srv.URL + "/loki/api/v1/series?match[]=%7B%7D&since=5m")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"app":"a"`) || !strings.Contains(string(b), `"app":"b"`) {
		t.Fatalf("series of {} = %d %s, want every stream", resp.StatusCode, b)
	}
}

// TestQueryStats checks that data.stats counts every line a filtered query decoded, from the
// ingester before a flush and from stored chunks after it, as Loki's totalLinesProcessed does.
func TestQueryStats(t *testing.T) {
	srv := sluicetest.Start(t)
	now := time.Now()
	var values []string
	for i := 0; i < 100; i++ {
		values = append(values, fmt.Sprintf(`["%d","line %d"]`, now.Add(-time.Minute).UnixNano()+int64(i), i))
	}
	body := fmt.Sprintf(`{"streams":[{"stream":{"app":"st"},"values":[%s]}]}`, strings.Join(values, ","))
	if resp := doPush(t, srv.URL, "application/json", "", []byte(body)); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("push: %d", resp.StatusCode)
	}
	stats := func() map[string]any {
		qr := queryRange(t, srv.URL, url.Values{"query": {`{app="st"} |= "line 7"`}, "since": {"5m"}, "limit": {"1000"}})
		if n := len(lines(qr)); n != 11 {
			t.Fatalf("filter returned %d lines, want 11", n)
		}
		return qr.Data.Stats
	}
	summary := func(s map[string]any) map[string]any { return s["summary"].(map[string]any) }
	if got := summary(stats())["totalLinesProcessed"]; got != float64(100) {
		t.Fatalf("before flush totalLinesProcessed = %v, want all 100 lines decoded", got)
	}
	resp, err := http.Post(srv.URL+"/flush", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s := stats()
	store := s["querier"].(map[string]any)["store"].(map[string]any)
	if summary(s)["totalLinesProcessed"] != float64(100) || store["totalChunksDownloaded"] != float64(1) || store["totalChunksRef"] != float64(1) {
		t.Fatalf("after flush stats = %v / %v, want 100 lines from 1 chunk downloaded", summary(s), store)
	}
}

func TestQuerierTailConfig(t *testing.T) {
	file := t.TempDir() + "/sluice.yaml"
	os.WriteFile(file, []byte("querier:\n  tail_max_duration: 10m\n  max_concurrent_tail_requests: 3\n"), 0o644)
	cfg, err := sluice.LoadConfig([]string{"-config.file=" + file, "-common.path-prefix=" + t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Querier.MaxPerTenant != 3 || cfg.Querier.MaxDuration.D() != 10*time.Minute {
		t.Fatalf("querier = %+v, want 3 tails of at most 10m", cfg.Querier)
	}
	os.WriteFile(file, []byte("querier:\n  max_concurrent_tail_requests: -1\n"), 0o644)
	if _, err := sluice.LoadConfig([]string{"-config.file=" + file}); err == nil {
		t.Fatal("a negative tail limit was accepted")
	}
	// Loki keeps the limit in limits_config (per tenant).
	os.WriteFile(file, []byte("limits_config:\n  max_concurrent_tail_requests: 20\n"), 0o644)
	cfg, err = sluice.LoadConfig([]string{"-config.file=" + file, "-common.path-prefix=" + t.TempDir()})
	if err != nil || cfg.Limits.MaxConcurrentTailRequests != 20 {
		t.Fatalf("limits_config.max_concurrent_tail_requests: %v, %+v", err, cfg)
	}
	os.WriteFile(file, []byte("limits_config:\n  max_concurrent_tail_requests: -2\n"), 0o644)
	if _, err := sluice.LoadConfig([]string{"-config.file=" + file}); err == nil || !strings.Contains(err.Error(), "limits_config.max_concurrent_tail_requests") {
		t.Fatalf("a negative limits_config tail limit: %v, want an error naming the key", err)
	}
}
