package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/sluice"
	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
)

// pushAs pushes one line to each of apps' streams as tenant.
func pushAs(t *testing.T, base, tenant string, at time.Time, apps ...string) {
	t.Helper()
	var streams []string
	for _, app := range apps {
		streams = append(streams, fmt.Sprintf(`{"stream":{"app":%q},"values":[["%d","0123456789"]]}`, app, at.UnixNano()))
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/loki/api/v1/push", strings.NewReader(`{"streams":[`+strings.Join(streams, ",")+`]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Scope-OrgID", tenant)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("push as %s: %d", tenant, resp.StatusCode)
	}
}

// TestVolumeLimits checks volume_enabled and volume_max_series over HTTP, per tenant from the
// runtime overrides file: a tenant with volume_enabled false gets 404 from both endpoints; a
// tenant whose request finds more groups than volume_max_series gets 400, whatever the
// request's own limit, and one that finds no more gets its answer cut at its limit.
func TestVolumeLimits(t *testing.T) {
	overrides := filepath.Join(t.TempDir(), "overrides.yaml")
	if err := os.WriteFile(overrides, []byte("overrides:\n  off:\n    volume_enabled: false\n  small:\n    volume_max_series: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := sluicetest.Start(t, sluicetest.WithAuth(), func(c *sluice.Config) { c.RuntimeConfig.File = overrides })
	t0 := time.Now().Add(-time.Minute).Truncate(time.Second)
	for _, tenant := range []string{"off", "small", "team"} {
		pushAs(t, srv.URL, tenant, t0, "api", "web", "db")
	}
	pushAs(t, srv.URL, "small", t0.Add(time.Second), "api", "api") // api is the largest group
	volume := func(tenant, path, query, limit string) (int, string) {
		t.Helper()
		params := url.Values{"query": {query}, "start": {ns(t0.Add(-time.Minute))}, "end": {ns(t0.Add(time.Minute))}, "limit": {limit}}
		status, body := get(t, srv.URL, path, params, "X-Scope-OrgID", tenant)
		return status, strings.TrimSpace(string(body))
	}
	const tooMany = "the query hit the max number of series limit (limit: 2 series)"
	for _, c := range []struct {
		tenant, path, query, limit string
		status                     int
		want                       string // the body, or for 200 a part of it
	}{
		{"off", "/loki/api/v1/index/volume", `{app=~".+"}`, "100", http.StatusNotFound, "not found"},
		{"off", "/loki/api/v1/index/volume_range", `{app=~".+"}`, "100", http.StatusNotFound, "not found"},
		{"small", "/loki/api/v1/index/volume", `{app=~".+"}`, "100", http.StatusBadRequest, tooMany},
		{"small", "/loki/api/v1/index/volume", `{app=~".+"}`, "1", http.StatusBadRequest, tooMany},
		{"small", "/loki/api/v1/index/volume_range", `{app=~".+"}`, "100", http.StatusBadRequest, tooMany},
		{"small", "/loki/api/v1/index/volume", `{app=~"api|web"}`, "1", http.StatusOK, `"metric":{"app":"api"}`},
		{"team", "/loki/api/v1/index/volume", `{app=~".+"}`, "100", http.StatusOK, `"metric":{"app":"db"}`},
	} {
		status, body := volume(c.tenant, c.path, c.query, c.limit)
		if status != c.status || (status == http.StatusOK && !strings.Contains(body, c.want)) || (status != http.StatusOK && body != c.want) {
			t.Errorf("%s %s %s limit %s: %d %s, want %d %s", c.tenant, c.path, c.query, c.limit, status, body, c.status, c.want)
		}
		if c.tenant == "small" && status == http.StatusOK && strings.Contains(body, `"app":"web"`) {
			t.Errorf("small, limit 1: %s, want only the largest group", body)
		}
	}
}
