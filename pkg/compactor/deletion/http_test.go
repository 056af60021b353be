package deletion

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/tenant"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// now is the manual clock's start: 2024-03-10T12:00:00Z, Unix 1710072000.
var now = time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC)

// server serves the API of a store in dir over real HTTP on 127.0.0.1, with auth enabled.
func server(t *testing.T, dir string, c *clock) (*httptest.Server, *Store) {
	t.Helper()
	st, err := Open(dir, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(st, 24*time.Hour, c.Now, nil, nil)
	mux := http.NewServeMux()
	for _, r := range h.Routes() {
		mux.Handle(r.Pattern, tenant.Middleware(true, r.Handler))
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		_ = st.Close()
	})
	return srv, st
}

func call(t *testing.T, srv *httptest.Server, method, org string, params url.Values) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+"/loki/api/v1/delete?"+params.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Scope-OrgID", org)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

type listed struct {
	RequestID string  `json:"request_id"`
	StartTime float64 `json:"start_time"`
	EndTime   float64 `json:"end_time"`
	Query     string  `json:"query"`
	Status    string  `json:"status"`
	CreatedAt float64 `json:"created_at"`
}

func list(t *testing.T, srv *httptest.Server, org string) []listed {
	t.Helper()
	code, body := call(t, srv, http.MethodGet, org, nil)
	if code != http.StatusOK {
		t.Fatalf("GET = %d %s", code, body)
	}
	var out []listed
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return out
}

func TestAddValidation(t *testing.T) {
	c := &clock{t: now}
	srv, _ := server(t, t.TempDir(), c)
	for _, tc := range []struct {
		name   string
		params url.Values
		want   string
	}{
		{"no query", url.Values{"start": {"1710000000"}}, "query not set"},
		{"bad query", url.Values{"query": {`{app=`}, "start": {"1710000000"}}, "invalid query expression"},
		{"parser stage", url.Values{"query": {`{app="a"} | json`}, "start": {"1710000000"}}, "only line filters"},
		{"bad regexp", url.Values{"query": {`{app="a"} |~ "("}`}, "start": {"1710000000"}}, "invalid query expression"},
		{"no start", url.Values{"query": {`{app="a"}`}}, "start time not set"},
		{"bad start", url.Values{"query": {`{app="a"}`}, "start": {"17100"}}, "invalid start time: require unix seconds or RFC3339 format"},
		{"bad end", url.Values{"query": {`{app="a"}`}, "start": {"1710000000"}, "end": {"yesterday"}}, "invalid end time: require unix seconds or RFC3339 format"},
		{"future", url.Values{"query": {`{app="a"}`}, "start": {"1710000000"}, "end": {"1710072001"}}, "deletes in the future are not allowed"},
		{"reversed", url.Values{"query": {`{app="a"}`}, "start": {"1710000001"}, "end": {"1710000000"}}, "start time can't be greater than end time"},
		{"short filtered", url.Values{"query": {`{app="a"} |= "x"`}, "start": {"2024-03-10T11:00:00.5Z"}, "end": {"2024-03-10T11:00:01Z"}}, "difference between start time and end time must be at least one second"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := call(t, srv, http.MethodPost, "t1", tc.params)
			if code != http.StatusBadRequest || !strings.Contains(body, tc.want) {
				t.Fatalf("POST %v = %d %q, want 400 containing %q", tc.params, code, body, tc.want)
			}
		})
	}
	if got := list(t, srv, "t1"); len(got) != 0 {
		t.Fatalf("requests after refused adds = %+v, want none", got)
	}
	// No tenant with auth enabled.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/loki/api/v1/delete", nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET without a tenant = %d, want 401", resp.StatusCode)
	}
}

func TestLifecycle(t *testing.T) {
	c := &clock{t: now}
	dir := t.TempDir()
	srv, st := server(t, dir, c)

	gen := func(org string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/loki/api/v1/cache/generation_numbers", nil)
		req.Header.Set("X-Scope-OrgID", org)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var g string
		if err := json.NewDecoder(resp.Body).Decode(&g); err != nil || resp.StatusCode != 200 {
			t.Fatalf("generation = %d %v", resp.StatusCode, err)
		}
		return g
	}
	gen0 := gen("t1")
	// The list of a tenant without requests is [], not null.
	if code, body := call(t, srv, http.MethodGet, "t1", nil); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Fatalf("empty list = %d %q, want 200 []", code, body)
	}
	code, body := call(t, srv, http.MethodPost, "t1", url.Values{"query": {`{app="a"} |= "secret"`}, "start": {"1710000000"}, "end": {"2024-03-10T11:00:00.250Z"}})
	if code != http.StatusNoContent || body != "" {
		t.Fatalf("POST = %d %q, want 204", code, body)
	}
	gen1 := gen("t1")
	if gen1 == gen0 || gen("t2") != gen0 {
		t.Fatalf("generations after t1's add: t1 %s -> %s, t2 %s; want only t1's changed", gen0, gen1, gen("t2"))
	}
	c.Advance(time.Second)
	if code, body := call(t, srv, http.MethodPut, "t1", url.Values{"query": {`{app="b"}`}, "start": {"1710000000"}}); code != http.StatusNoContent {
		t.Fatalf("PUT = %d %q, want 204", code, body)
	}
	code, body = call(t, srv, http.MethodGet, "t1", nil)
	var raw []map[string]any
	if err := json.Unmarshal([]byte(body), &raw); err != nil || code != 200 || len(raw) != 2 {
		t.Fatalf("GET = %d %s (%v), want two requests", code, body, err)
	}
	for _, k := range []string{"request_id", "start_time", "end_time", "query", "status", "created_at"} {
		if _, ok := raw[0][k]; !ok || len(raw[0]) != 6 {
			t.Fatalf("list item %v: want exactly Loki's six fields, missing %q", raw[0], k)
		}
	}
	// Times are seconds, with milliseconds as decimals, like Loki's model.Time.
	if !strings.Contains(body, `"start_time":1710000000,"end_time":1710068400.25,"query":"{app=\"a\"} |= \"secret\"","status":"received","created_at":1710072000}`) {
		t.Fatalf("list body = %s, want Loki's shape and numbers", body)
	}
	got := list(t, srv, "t1")
	if got[1].EndTime != 1710072001 || got[1].Query != `{app="b"}` {
		t.Fatalf("second request = %+v, want end defaulting to now", got[1])
	}
	// Tenants see only their own requests, and cannot cancel others'.
	if other := list(t, srv, "t2"); len(other) != 0 {
		t.Fatalf("t2 sees %+v", other)
	}
	if code, _ := call(t, srv, http.MethodDelete, "t2", url.Values{"request_id": {got[0].RequestID}}); code != http.StatusNotFound {
		t.Fatalf("t2 cancelling t1's request = %d, want 404", code)
	}
	if code, body := call(t, srv, http.MethodDelete, "t1", url.Values{"request_id": {"nope"}}); code != http.StatusNotFound || !strings.Contains(body, "could not find delete request with given id") {
		t.Fatalf("cancel unknown = %d %q", code, body)
	}

	// Within the cancel period: cancelled and gone from the list.
	c.Advance(23 * time.Hour)
	if code, body := call(t, srv, http.MethodDelete, "t1", url.Values{"request_id": {got[0].RequestID}}); code != http.StatusNoContent {
		t.Fatalf("cancel within the period = %d %q, want 204", code, body)
	}
	if l := list(t, srv, "t1"); len(l) != 1 || l[0].RequestID != got[1].RequestID {
		t.Fatalf("list after cancel = %+v", l)
	}
	if g := gen("t1"); g <= gen1 || len(g) != len(gen1) {
		t.Fatalf("generation after cancel = %s, want above %s", g, gen1)
	}

	// Past it: refused with Loki's message, unless forced.
	c.Advance(time.Hour + time.Second)
	code, body = call(t, srv, http.MethodDelete, "t1", url.Values{"request_id": {got[1].RequestID}})
	if code != http.StatusBadRequest || strings.TrimSpace(body) != "deletion of request past the deadline of 24h0m0s since its creation is not allowed" {
		t.Fatalf("cancel past the period = %d %q", code, body)
	}

	// Requests survive a restart.
	srv.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	srv, st = server(t, dir, c)
	if l := list(t, srv, "t1"); len(l) != 1 || l[0].RequestID != got[1].RequestID || l[0].Status != StatusReceived {
		t.Fatalf("list after restart = %+v", l)
	}
	// Processed requests cannot be cancelled, even with force.
	if err := st.MarkProcessed(context.Background(), "t1", got[1].RequestID); err != nil {
		t.Fatal(err)
	}
	code, body = call(t, srv, http.MethodDelete, "t1", url.Values{"request_id": {got[1].RequestID}, "force": {"true"}})
	if code != http.StatusBadRequest || !strings.Contains(body, "deletion of request which is in process or already processed is not allowed") {
		t.Fatalf("cancel processed = %d %q", code, body)
	}
	if l := list(t, srv, "t1"); len(l) != 1 || l[0].Status != "processed" {
		t.Fatalf("list = %+v, want the processed request", l)
	}
}

func TestForceCancelPastDeadline(t *testing.T) {
	c := &clock{t: now}
	srv, st := server(t, t.TempDir(), c)
	r, err := st.Add(context.Background(), "t1", `{app="a"}`, 0, now.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(48 * time.Hour)
	if code, body := call(t, srv, http.MethodDelete, "t1", url.Values{"request_id": {r.RequestID}, "force": {"true"}}); code != http.StatusNoContent {
		t.Fatalf("forced cancel = %d %q, want 204", code, body)
	}
	if l := st.List("t1"); len(l) != 0 {
		t.Fatalf("requests after forced cancel = %+v", l)
	}
}
