package sluice_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
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

// TestQuerySizeLimits runs queries over real HTTP against tenants holding the same flushed
// data (two streams, three chunks each, one per hour) under different runtime overrides of
// max_query_bytes_read, max_querier_bytes_read and max_chunks_per_query. Each limit is set
// to exactly what /index/stats reports for the query (or sub-query, or selection), where the
// query runs, and to one less, where it is refused with Loki's status and message: so the
// frontend's estimate is /index/stats' figure to the byte. A tenant with every limit at 0 and
// one with the defaults run everything.
func TestQuerySizeLimits(t *testing.T) {
	overrides := filepath.Join(t.TempDir(), "overrides.yaml")
	if err := os.WriteFile(overrides, []byte("overrides: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := sluicetest.Start(t, sluicetest.WithAuth(), func(c *sluice.Config) {
		c.RuntimeConfig.File = overrides
		c.RuntimeConfig.Period = flagext.Duration(100 * time.Millisecond)
	})
	tenants := []string{"dflt", "off", "bytes-ok", "bytes-over", "metric-ok", "metric-over",
		"querier-ok", "querier-over", "chunks-ok", "chunks-over"}

	// Three hours of data, each hour pushed and flushed on its own, so that every stream has
	// one chunk per hour; hour k's lines are longer than hour k-1's, so the hours differ.
	h0 := time.Now().Add(-6 * time.Hour).Truncate(time.Hour)
	for hour := range 3 {
		for _, id := range tenants {
			req := &logproto.PushRequest{}
			for _, name := range []string{"a", "b"} {
				st := logproto.Stream{Labels: fmt.Sprintf(`{app="size", stream=%q}`, name)}
				for m := 1; m < 60; m++ {
					ts := h0.Add(time.Duration(hour)*time.Hour + time.Duration(m)*time.Minute)
					st.Entries = append(st.Entries, logproto.Entry{Timestamp: ts.UnixNano(),
						Line: fmt.Sprintf("minute %d of %s %s", m, name, strings.Repeat("x", 10*(hour+1)))})
				}
				req.Streams = append(req.Streams, st)
			}
			pushAs(t, srv.URL, id, req)
		}
		s3Flush(t, srv.URL)
	}

	const sel = `{app="size"}`
	start, end := h0, h0.Add(3*time.Hour)
	// What the frontend should estimate. The log query reads [start, end); each of its
	// sub-queries one hour of that; the metric query at end reads (end-30m-2h, end-30m].
	whole := indexStats(t, srv.URL, "dflt", sel, start.UnixNano(), end.UnixNano()-1)
	var biggest uint64
	for k := range 3 {
		from := start.Add(time.Duration(k) * time.Hour)
		biggest = max(biggest, indexStats(t, srv.URL, "dflt", sel, from.UnixNano(), from.Add(time.Hour).UnixNano()-1).Bytes)
	}
	const metric = `sum(count_over_time({app="size"}[2h] offset 30m))`
	metricBytes := indexStats(t, srv.URL, "dflt", sel, end.Add(-150*time.Minute).UnixNano()+1, end.Add(-30*time.Minute).UnixNano()).Bytes
	if whole.Chunks != 6 || whole.Bytes <= biggest || biggest == 0 || metricBytes == 0 || metricBytes >= whole.Bytes {
		t.Fatalf("index stats: whole %+v, biggest hour %d B, metric %d B: want 6 chunks and hours smaller than the whole", whole, biggest, metricBytes)
	}

	yaml := fmt.Sprintf(`overrides:
  off: {max_query_bytes_read: 0, max_querier_bytes_read: 0, max_chunks_per_query: 0}
  bytes-ok: {max_query_bytes_read: %[1]d}
  bytes-over: {max_query_bytes_read: %[2]d}
  metric-ok: {max_query_bytes_read: %[3]d}
  metric-over: {max_query_bytes_read: %[4]d}
  querier-ok: {max_querier_bytes_read: %[5]d}
  querier-over: {max_querier_bytes_read: %[6]d}
  chunks-ok: {max_chunks_per_query: 2}
  chunks-over: {max_chunks_per_query: 1}
`, whole.Bytes, whole.Bytes-1, metricBytes, metricBytes-1, biggest, biggest-1)
	if err := os.WriteFile(overrides, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the overrides", func() bool {
		_, body := getBody(t, srv.URL+"/runtime_config")
		return strings.Contains(body, "chunks-over:")
	})

	logQuery := func(id string) (int, string) {
		return getAs(t, srv.URL+"/loki/api/v1/query_range?"+url.Values{"query": {sel}, "limit": {"5000"},
			"start": {strconv.FormatInt(start.UnixNano(), 10)}, "end": {strconv.FormatInt(end.UnixNano(), 10)}}.Encode(), id)
	}
	metricQuery := func(id string) (int, string) {
		return getAs(t, srv.URL+"/loki/api/v1/query?"+url.Values{"query": {metric},
			"time": {strconv.FormatInt(end.UnixNano(), 10)}}.Encode(), id)
	}
	queryMsg := func(n, limit uint64) string {
		return fmt.Sprintf("the query would read too many bytes (query: %s, limit: %s); consider adding more specific stream selectors or reduce the time range of the query", iBytes(n), iBytes(limit))
	}
	for _, c := range []struct {
		name, tenant string
		query        func(string) (int, string)
		wantErr      string // "" to run
	}{
		{"defaults", "dflt", logQuery, ""},
		{"defaults, metric", "dflt", metricQuery, ""},
		{"0 disables", "off", logQuery, ""},
		{"0 disables, metric", "off", metricQuery, ""},
		{"max_query_bytes_read at the estimate", "bytes-ok", logQuery, ""},
		{"max_query_bytes_read under the estimate", "bytes-over", logQuery, queryMsg(whole.Bytes, whole.Bytes-1)},
		{"max_query_bytes_read at a metric query's estimate", "metric-ok", metricQuery, ""},
		{"max_query_bytes_read under a metric query's estimate", "metric-over", metricQuery, queryMsg(metricBytes, metricBytes-1)},
		{"max_querier_bytes_read at the biggest sub-query", "querier-ok", logQuery, ""},
		{"max_querier_bytes_read under the biggest sub-query", "querier-over", logQuery,
			fmt.Sprintf("query too large to execute on a single querier: (query: %s, limit: %s); consider adding more specific stream selectors, reduce the time range of the query, or adjust parallelization settings", iBytes(biggest), iBytes(biggest-1))},
		{"max_chunks_per_query at a sub-query's chunks", "chunks-ok", logQuery, ""},
		{"max_chunks_per_query under a sub-query's chunks", "chunks-over", logQuery, `Query [app="size"] fetched too many chunks (2 > 1)`},
	} {
		status, body := c.query(c.tenant)
		if len(body) > 300 {
			body = body[:300] + "..."
		}
		switch {
		case c.wantErr == "" && status != http.StatusOK:
			t.Errorf("%s: %d %s, want 200", c.name, status, body)
		case c.wantErr == "" && !strings.Contains(body, `"status":"success"`):
			t.Errorf("%s: body %s, want a result", c.name, body)
		case c.wantErr != "" && (status != http.StatusBadRequest || strings.TrimSpace(body) != c.wantErr):
			t.Errorf("%s: %d %q, want 400 %q", c.name, status, strings.TrimSpace(body), c.wantErr)
		}
	}
	// The log query returns every line where it runs.
	_, body := logQuery("querier-ok")
	if n := strings.Count(body, "minute "); n != 3*2*59 {
		t.Errorf("log query under max_querier_bytes_read returned %d lines, want %d", n, 3*2*59)
	}
}

// pushAs pushes req for tenant id and fails the test unless it is accepted.
func pushAs(t testing.TB, base, id string, req *logproto.PushRequest) {
	t.Helper()
	r, _ := http.NewRequest(http.MethodPost, base+"/loki/api/v1/push", bytes.NewReader(push.Encode(req)))
	r.Header.Set("Content-Type", push.ContentTypeProto)
	r.Header.Set("X-Scope-OrgID", id)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("push for %s: %d %s", id, resp.StatusCode, b)
	}
}

// getAs GETs u for tenant id, with the headers given as name and value pairs, and returns the
// status and body.
func getAs(t testing.TB, u, id string, headers ...string) (int, string) {
	t.Helper()
	r, _ := http.NewRequest(http.MethodGet, u, nil)
	r.Header.Set("X-Scope-OrgID", id)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type indexStatsResponse struct {
	Streams, Chunks, Bytes, Entries uint64
}

// indexStats asks /loki/api/v1/index/stats of tenant id about sel over [from, through] (ns).
func indexStats(t testing.TB, base, id, sel string, from, through int64) indexStatsResponse {
	t.Helper()
	status, body := getAs(t, base+"/loki/api/v1/index/stats?"+url.Values{"query": {sel},
		"start": {strconv.FormatInt(from, 10)}, "end": {strconv.FormatInt(through, 10)}}.Encode(), id)
	if status != http.StatusOK {
		t.Fatalf("index stats: %d %s", status, body)
	}
	var st indexStatsResponse
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("index stats %s: %v", body, err)
	}
	return st
}

// iBytes is how Loki writes sizes in its query size messages (go-humanize's IBytes): powers
// of 1024, one decimal below 10, none above.
func iBytes(n uint64) string {
	if n < 10 {
		return fmt.Sprintf("%d B", n)
	}
	v, unit := float64(n), 0
	for v >= 1024 {
		v /= 1024
		unit++
	}
	v = float64(int64(v*10+0.5)) / 10
	if v < 10 {
		return fmt.Sprintf("%.1f %s", v, []string{"B", "KiB", "MiB", "GiB", "TiB"}[unit])
	}
	return fmt.Sprintf("%.0f %s", v, []string{"B", "KiB", "MiB", "GiB", "TiB"}[unit])
}
