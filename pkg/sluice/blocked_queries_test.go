package sluice_test

import (
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
	"github.com/sluicelog/sluice/pkg/sluice"
	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
)

// TestBlockedQueries: a tenant's blocked_queries, from the runtime overrides file, refuse the
// queries they match over HTTP with Loki's 400 "query blocked by policy" (by exact text, by
// type for requests tagged Source=grafana), count them per tenant in loki_blocked_queries, and
// leave the tenant's other queries and other tenants alone.
func TestBlockedQueries(t *testing.T) {
	overrides := filepath.Join(t.TempDir(), "overrides.yaml")
	yaml := `overrides:
  blocky:
    blocked_queries:
      - pattern: 'sum(rate({app="web"}[1m]))'
      - types: metric
        query_tags:
          source: grafana
`
	if err := os.WriteFile(overrides, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := sluicetest.Start(t, sluicetest.WithAuth(), func(c *sluice.Config) {
		c.RuntimeConfig.File = overrides
		c.RuntimeConfig.Period = flagext.Duration(100 * time.Millisecond)
	})
	now := time.Now()
	for _, id := range []string{"blocky", "free"} {
		pushAs(t, srv.URL, id, &logproto.PushRequest{Streams: []logproto.Stream{{Labels: `{app="web"}`,
			Entries: []logproto.Entry{{Timestamp: now.Add(-time.Minute).UnixNano(), Line: "GET /"}}}}})
	}

	query := func(id, q, tags string) (int, string) {
		t.Helper()
		u := srv.URL + "/loki/api/v1/query?" + url.Values{"query": {q}, "time": {strconv.FormatInt(now.UnixNano(), 10)}}.Encode()
		status, body := getAs(t, u, id, "X-Query-Tags", tags)
		return status, strings.TrimSpace(body)
	}
	const exact, other = `sum(rate({app="web"}[1m]))`, `count_over_time({app="web"}[5m])`
	for _, c := range []struct {
		id, query, tags string
		blocked         bool
	}{
		{"blocky", exact, "", true},
		{"blocky", other, "", false},
		{"blocky", other, "Source=Grafana", true},
		{"blocky", other, "Source=logcli", false},
		{"free", exact, "Source=grafana", false},
	} {
		status, body := query(c.id, c.query, c.tags)
		switch {
		case c.blocked && (status != http.StatusBadRequest || body != "query blocked by policy"):
			t.Errorf("%s %q %q: %d %q, want 400 query blocked by policy", c.id, c.query, c.tags, status, body)
		case !c.blocked && (status != http.StatusOK || !strings.Contains(body, `"status":"success"`)):
			t.Errorf("%s %q %q: %d %s, want 200", c.id, c.query, c.tags, status, body)
		}
	}
	if n := metricValue(t, srv.URL, `loki_blocked_queries{user="blocky"}`); n != 2 {
		t.Fatalf("loki_blocked_queries{user=\"blocky\"} = %v, want 2", n)
	}
}
