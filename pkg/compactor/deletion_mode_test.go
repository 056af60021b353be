package compactor

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/compactor/deletion"
	"github.com/sluicelog/sluice/pkg/tenant"
	"github.com/sluicelog/sluice/pkg/validation"
)

// TestDeletionMode checks each tenant's deletion_mode: with filter-and-delete (the default)
// the compactor removes a request's lines; with filter-only the request hides them from
// queries but is never applied, and stays received; with disabled the deletion API, served
// over the compactor's requests as the server serves it, refuses the tenant over HTTP.
func TestDeletionMode(t *testing.T) {
	e := newEnv(t, validation.Limits{})
	filterOnly, disabled := validation.Limits{DeletionMode: validation.DeletionFilterOnly}, validation.Limits{DeletionMode: validation.DeletionDisabled}
	e.overrides.SetTenantLimits(map[string]*validation.Limits{"keep": &filterOnly, "off": &disabled})
	api := labels.FromStrings("app", "api")
	for _, id := range []string{"fake", "keep"} {
		e.put(id, api, start.Add(-2*day), "keep 1", "secret 1")
	}

	// The API: 403 for "off", its requests accepted for the others.
	h := deletion.NewHandler(e.deletes, 24*time.Hour, e.clock.Now, nil, nil)
	mux := http.NewServeMux()
	for _, r := range h.Routes() {
		mux.Handle(r.Pattern, tenant.Middleware(true, r.Handler))
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	call := func(method, path, id string) (int, string) {
		t.Helper()
		params := url.Values{"query": {`{app="api"} |= "secret"`}, "start": {strconv.FormatInt(start.Add(-3*day).Unix(), 10)}, "end": {strconv.FormatInt(start.Add(-day).Unix(), 10)}}
		req, _ := http.NewRequest(method, srv.URL+path+"?"+params.Encode(), nil)
		req.Header.Set("X-Scope-OrgID", id)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	for _, c := range []struct{ method, path string }{
		{http.MethodPost, "/loki/api/v1/delete"}, {http.MethodGet, "/loki/api/v1/delete"},
		{http.MethodDelete, "/loki/api/v1/delete"}, {http.MethodGet, "/loki/api/v1/cache/generation_numbers"},
	} {
		if status, body := call(c.method, c.path, "off"); status != http.StatusForbidden || body != "deletion is not available for this tenant" {
			t.Errorf("%s %s for a disabled tenant: %d %q, want 403 deletion is not available for this tenant", c.method, c.path, status, body)
		}
	}
	if got := e.deletes.List("off"); len(got) != 0 {
		t.Fatalf("disabled tenant's requests = %v, want none", got)
	}
	for _, id := range []string{"fake", "keep"} {
		if status, body := call(http.MethodPost, "/loki/api/v1/delete", id); status != http.StatusNoContent {
			t.Fatalf("POST delete for %s: %d %s, want 204", id, status, body)
		}
	}

	// Past the cancel period, the compactor applies fake's request and not keep's.
	e.clock.Advance(day + time.Millisecond)
	mustRun(t, e.c)
	if got := e.lines("fake", `{app="api"}`, false); !slices.Equal(got, []string{"keep 1"}) {
		t.Errorf("filter-and-delete: stored lines = %q, want the secret removed", got)
	}
	if got := e.lines("keep", `{app="api"}`, false); !slices.Equal(got, []string{"keep 1", "secret 1"}) {
		t.Errorf("filter-only: stored lines = %q, want both kept", got)
	}
	if got := e.lines("keep", `{app="api"}`, true); !slices.Equal(got, []string{"keep 1"}) {
		t.Errorf("filter-only: queried lines = %q, want the secret hidden", got)
	}
	for id, want := range map[string]string{"fake": deletion.StatusProcessed, "keep": deletion.StatusReceived} {
		if reqs := e.deletes.List(id); len(reqs) != 1 || reqs[0].Status != want {
			t.Errorf("%s's requests = %+v, want one %s", id, reqs, want)
		}
	}
	// Still not applied on later runs.
	mustRun(t, e.c)
	if got := e.lines("keep", `{app="api"}`, false); len(got) != 2 {
		t.Errorf("filter-only after a second run: stored lines = %q, want both kept", got)
	}
}
