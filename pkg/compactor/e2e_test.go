package compactor_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
)

// client talks to a test server as one tenant.
type client struct {
	t   *testing.T
	url string
	org string
}

func (c client) do(method, path string, params url.Values, body []byte) (int, string) {
	c.t.Helper()
	u := c.url + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("X-Scope-OrgID", c.org)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func (c client) push(at time.Time, lines ...string) {
	c.t.Helper()
	var values []string
	for i, l := range lines {
		values = append(values, fmt.Sprintf(`[%q, %q]`, strconv.FormatInt(at.Add(time.Duration(i)*time.Second).UnixNano(), 10), l))
	}
	body := `{"streams":[{"stream":{"app":"api"},"values":[` + strings.Join(values, ",") + `]}]}`
	if code, resp := c.do(http.MethodPost, "/loki/api/v1/push", nil, []byte(body)); code != http.StatusNoContent {
		c.t.Fatalf("push = %d %s", code, resp)
	}
}

// lines runs a query_range over the last hour and returns the lines, oldest first.
func (c client) lines() []string {
	c.t.Helper()
	now := time.Now()
	code, body := c.do(http.MethodGet, "/loki/api/v1/query_range", url.Values{
		"query": {`{app="api"}`}, "start": {strconv.FormatInt(now.Add(-time.Hour).UnixNano(), 10)},
		"end": {strconv.FormatInt(now.Add(time.Minute).UnixNano(), 10)}, "direction": {"forward"},
	}, nil)
	if code != http.StatusOK {
		c.t.Fatalf("query_range = %d %s", code, body)
	}
	var resp struct {
		Data struct {
			Result []struct {
				Values [][2]string `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		c.t.Fatalf("decode %s: %v", body, err)
	}
	var out []string
	for _, s := range resp.Data.Result {
		for _, v := range s.Values {
			out = append(out, v[1])
		}
	}
	return out
}

type request struct {
	RequestID string  `json:"request_id"`
	StartTime float64 `json:"start_time"`
	EndTime   float64 `json:"end_time"`
	Query     string  `json:"query"`
	Status    string  `json:"status"`
	CreatedAt float64 `json:"created_at"`
}

func (c client) requests() []request {
	c.t.Helper()
	code, body := c.do(http.MethodGet, "/loki/api/v1/delete", nil, nil)
	if code != http.StatusOK {
		c.t.Fatalf("list deletes = %d %s", code, body)
	}
	var out []request
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		c.t.Fatalf("decode %s: %v", body, err)
	}
	return out
}

func TestDeleteAPIEndToEnd(t *testing.T) {
	srv := sluicetest.Start(t, sluicetest.WithAuth())
	t1 := client{t, srv.URL, "t1"}
	t2 := client{t, srv.URL, "t2"}
	at := time.Now().Add(-2 * time.Minute)
	t1.push(at, "keep 1", "secret 1", "keep 2")
	t2.push(at, "secret of t2")
	if got := strings.Join(t1.lines(), ","); got != "keep 1,secret 1,keep 2" {
		t.Fatalf("t1 lines before the delete = %s", got)
	}

	start := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	code, body := t1.do(http.MethodPost, "/loki/api/v1/delete", url.Values{"query": {`{app="api"} |= "secret"`}, "start": {start}}, nil)
	if code != http.StatusNoContent {
		t.Fatalf("POST delete = %d %s", code, body)
	}
	// Hidden at once, from the ingester's memory as from the store after a flush.
	if got := strings.Join(t1.lines(), ","); got != "keep 1,keep 2" {
		t.Fatalf("t1 lines after the delete = %s, want the secret hidden", got)
	}
	if got := strings.Join(t2.lines(), ","); got != "secret of t2" {
		t.Fatalf("t2 lines = %s, want its own line untouched", got)
	}
	if code, body := t1.do(http.MethodPost, "/flush", nil, nil); code != http.StatusNoContent {
		t.Fatalf("flush = %d %s", code, body)
	}
	if got := strings.Join(t1.lines(), ","); got != "keep 1,keep 2" {
		t.Fatalf("t1 lines after flush = %s, want the secret hidden", got)
	}

	reqs := t1.requests()
	if len(reqs) != 1 || reqs[0].Status != "received" || reqs[0].Query != `{app="api"} |= "secret"` || strconv.FormatFloat(reqs[0].StartTime, 'f', -1, 64) != start {
		t.Fatalf("t1 requests = %+v", reqs)
	}
	if other := t2.requests(); len(other) != 0 {
		t.Fatalf("t2 requests = %+v, want none", other)
	}
	if code, _ := t2.do(http.MethodDelete, "/loki/api/v1/delete", url.Values{"request_id": {reqs[0].RequestID}}, nil); code != http.StatusNotFound {
		t.Fatalf("t2 cancelling t1's request = %d, want 404", code)
	}

	// Cancelled within the cancel period: the lines come back.
	if code, body := t1.do(http.MethodDelete, "/loki/api/v1/delete", url.Values{"request_id": {reqs[0].RequestID}}, nil); code != http.StatusNoContent {
		t.Fatalf("cancel = %d %s", code, body)
	}
	if got := strings.Join(t1.lines(), ","); got != "keep 1,secret 1,keep 2" {
		t.Fatalf("t1 lines after cancel = %s", got)
	}
	if reqs := t1.requests(); len(reqs) != 0 {
		t.Fatalf("t1 requests after cancel = %+v", reqs)
	}

	// A request survives a restart and keeps hiding its lines.
	if code, body := t1.do(http.MethodPut, "/loki/api/v1/delete", url.Values{"query": {`{app="api"} |~ "keep 1"`}, "start": {start}}, nil); code != http.StatusNoContent {
		t.Fatalf("PUT delete = %d %s", code, body)
	}
	if code, body := t1.do(http.MethodGet, "/metrics", nil, nil); code != 200 || !strings.Contains(body, `loki_compactor_delete_requests_received_total{user="t1"} 2`) {
		t.Fatalf("metrics = %d, want loki_compactor_delete_requests_received_total for t1 = 2", code)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	srv = sluicetest.Start(t, sluicetest.WithAuth(), sluicetest.WithDir(srv.Dir))
	t1.url = srv.URL
	if reqs := t1.requests(); len(reqs) != 1 || reqs[0].Query != `{app="api"} |~ "keep 1"` {
		t.Fatalf("t1 requests after restart = %+v", reqs)
	}
	if got := strings.Join(t1.lines(), ","); got != "secret 1,keep 2" {
		t.Fatalf("t1 lines after restart = %s, want keep 1 hidden", got)
	}
}
