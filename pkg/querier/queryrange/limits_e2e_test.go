package queryrange_test

import (
	"io"
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

// TestQueryTextLimitsOverHTTP checks, over HTTP on a real server, the limits the frontend
// applies to a query's text, each set for one tenant in the runtime overrides file:
// max_streams_matchers_per_query, required_labels, minimum_labels_number and max_query_range.
// A tenant without overrides runs every query.
func TestQueryTextLimitsOverHTTP(t *testing.T) {
	overrides := filepath.Join(t.TempDir(), "overrides.yaml")
	err := os.WriteFile(overrides, []byte(`overrides:
  matchers:
    max_streams_matchers_per_query: 2
  required:
    required_labels: [namespace, app]
  minimum:
    minimum_labels_number: 2
  ranges:
    max_query_range: 1h
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	srv := sluicetest.Start(t, sluicetest.WithAuth(), func(c *sluice.Config) { c.RuntimeConfig.File = overrides })
	end := time.Now()
	query := func(tenant, q string) (int, string) {
		t.Helper()
		params := url.Values{"query": {q}, "start": {unixNano(end.Add(-time.Hour))}, "end": {unixNano(end)}, "step": {"60"}}
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/loki/api/v1/query_range?"+params.Encode(), nil)
		req.Header.Set("X-Scope-OrgID", tenant)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(body))
	}
	for _, c := range []struct {
		tenant, query string
		want          string // "" for 200
	}{
		{"matchers", `{app="a", env="b", pod="c"}`, "max streams matchers per query exceeded, matchers-count > limit (3 > 2)"},
		{"matchers", `{app="a", env="b"}`, ""},
		// Each selector of a binary operation counts on its own.
		{"matchers", `sum(count_over_time({app="a"}[5m])) / sum(count_over_time({app="a", env="b", pod="c"}[5m]))`,
			"max streams matchers per query exceeded, matchers-count > limit (3 > 2)"},
		{"required", `{app="a", env="b"}`, "stream selector is missing required matchers [namespace], labels present in the query were [app, env]"},
		{"required", `rate({namespace="x", app="a"}[1m])`, ""},
		{"minimum", `count_over_time({app="a"}[1m])`, "stream selector has less label matchers than required: (present: [app], number_present: 1, required_number_label_matchers: 2)"},
		{"minimum", `{app="a", env="b"}`, ""},
		{"ranges", `sum(rate({app="a"}[2h]))`, "[interval] value exceeds limit: [2h] > [1h]"},
		{"ranges", `sum(rate({app="a"}[1h]))`, ""},
		{"others", `sum(rate({app="a", env="b", pod="c"}[2h]))`, ""},
	} {
		status, body := query(c.tenant, c.query)
		switch {
		case c.want == "" && status != http.StatusOK:
			t.Errorf("tenant %s, %s: %d %s, want 200", c.tenant, c.query, status, body)
		case c.want != "" && (status != http.StatusBadRequest || body != c.want):
			t.Errorf("tenant %s, %s: %d %q, want 400 %q", c.tenant, c.query, status, body, c.want)
		}
	}
}
