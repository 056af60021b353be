package distributor_test

import (
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
	"github.com/sluicelog/sluice/pkg/sluice"
	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
)

// TestEnrichmentOverHTTP pushes through the real HTTP API of a whole server and queries the
// result back the way Grafana's Logs Drilldown does: by service_name, grouped by
// detected_level. Tenant "plain" has both features turned off in the runtime overrides.
func TestEnrichmentOverHTTP(t *testing.T) {
	overrides := filepath.Join(t.TempDir(), "overrides.yaml")
	if err := os.WriteFile(overrides, []byte("overrides:\n  plain:\n    discover_service_name: []\n    discover_log_levels: false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := sluicetest.Start(t, sluicetest.WithAuth(), sluicetest.WithConfig(func(c *sluice.Config) {
		c.RuntimeConfig.File = overrides
		c.RuntimeConfig.Period = flagext.Duration(time.Hour)
	}))

	now := time.Now().Add(-time.Minute).UnixNano()
	var values []string
	add := func(line string, meta ...string) {
		v := fmt.Sprintf(`["%d", %q`, now+int64(len(values)), line)
		if len(meta) > 0 {
			m := map[string]string{}
			for i := 0; i < len(meta); i += 2 {
				m[meta[i]] = meta[i+1]
			}
			b, _ := json.Marshal(m)
			v += ", " + string(b)
		}
		values = append(values, v+"]")
	}
	for i := 0; i < 3; i++ {
		add(fmt.Sprintf(`level=error msg="payment %d failed"`, i))
	}
	add(`{"level":"warn","msg":"slow card check"}`)
	add(`{"lvl":"WARNING","msg":"retrying"}`)
	for i := 0; i < 4; i++ {
		add(fmt.Sprintf("[INFO] order %d placed", i))
	}
	add("GET /health 200")                              // unknown
	add("no keyword", "severity", "debug")              // from structured metadata
	add("level=info but sent", "detected_level", "ERR") // sent, normalised to error
	body := fmt.Sprintf(`{"streams":[
		{"stream":{"app":"checkout"},"values":[%s]},
		{"stream":{"app":"checkout","service_name":"payments"},"values":[["%d","kept as sent"]]},
		{"stream":{"job":"cron"},"values":[["%d","from job"]]},
		{"stream":{"env":"dev"},"values":[["%d","no service label"]]}
	]}`, strings.Join(values, ","), now, now, now)
	push(t, srv.URL, "shop", body)
	push(t, srv.URL, "plain", fmt.Sprintf(`{"streams":[{"stream":{"app":"checkout"},"values":[["%d","level=error plain"]]}]}`, now))

	window := func(q string) url.Values {
		return url.Values{"query": {q}, "start": {strconv.FormatInt(now-int64(time.Hour), 10)}, "end": {strconv.FormatInt(now+int64(time.Hour), 10)}, "limit": {"1000"}}
	}
	count := func(tenant, q string) int {
		n := 0
		for _, s := range queryStreams(t, srv.URL, tenant, window(q)) {
			n += len(s.Values)
		}
		return n
	}
	if n := count("shop", `{service_name="checkout"}`); n != 12 {
		t.Errorf(`{service_name="checkout"} found %d lines, want 12 (pushed with app="checkout" only)`, n)
	}
	for q, want := range map[string]int{`{service_name="payments"}`: 1, `{service_name="cron"}`: 1, `{service_name="unknown_service"}`: 1, `{app="checkout", service_name="checkout"}`: 12} {
		if n := count("shop", q); n != want {
			t.Errorf("%s found %d lines, want %d", q, n, want)
		}
	}

	byLevel := instantVector(t, srv.URL, "shop", `sum by (detected_level) (count_over_time({service_name="checkout"}[1h]))`, now+int64(time.Minute))
	want := map[string]string{"error": "4", "warn": "2", "info": "4", "unknown": "1", "debug": "1"}
	if fmt.Sprint(byLevel) != fmt.Sprint(want) {
		t.Errorf("count by detected_level = %v, want %v", byLevel, want)
	}

	// Tenant "plain": stored as pushed, nothing added.
	if n := count("plain", `{service_name="checkout"}`); n != 0 {
		t.Errorf(`tenant plain: {service_name="checkout"} found %d lines, want 0`, n)
	}
	streams := queryStreams(t, srv.URL, "plain", window(`{app="checkout"}`))
	if len(streams) != 1 || fmt.Sprint(streams[0].Stream) != "map[app:checkout]" {
		t.Errorf("tenant plain: streams %+v, want one labelled only app=checkout", streams)
	}
}

type stream struct {
	Stream map[string]string `json:"stream"`
	Values [][]string        `json:"values"`
}

func push(t *testing.T, base, tenant, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/loki/api/v1/push", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Scope-OrgID", tenant)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("push for %s: %d %s", tenant, resp.StatusCode, b)
	}
}

func get(t *testing.T, base, path, tenant string, params url.Values, out any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path+"?"+params.Encode(), nil)
	req.Header.Set("X-Scope-OrgID", tenant)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %v: %d %s", path, params, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

func queryStreams(t *testing.T, base, tenant string, params url.Values) []stream {
	t.Helper()
	var r struct {
		Data struct {
			Result []stream `json:"result"`
		} `json:"data"`
	}
	get(t, base, "/loki/api/v1/query_range", tenant, params, &r)
	return r.Data.Result
}

// instantVector runs an instant metric query grouped by detected_level and returns the
// value of each group.
func instantVector(t *testing.T, base, tenant, q string, at int64) map[string]string {
	t.Helper()
	var r struct {
		Data struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	get(t, base, "/loki/api/v1/query", tenant, url.Values{"query": {q}, "time": {strconv.FormatInt(at, 10)}}, &r)
	if r.Data.ResultType != "vector" {
		t.Fatalf("%s: result type %q, want vector", q, r.Data.ResultType)
	}
	out := map[string]string{}
	for _, s := range r.Data.Result {
		out[s.Metric["detected_level"]] = fmt.Sprint(s.Value[1])
	}
	return out
}

// TestLokiLimitsKeys loads a Loki configuration file that sets every key of the feature and
// checks they reach the limits.
func TestLokiLimitsKeys(t *testing.T) {
	file := filepath.Join(t.TempDir(), "loki.yaml")
	yaml := "limits_config:\n" +
		"  discover_service_name: [team, app]\n" +
		"  discover_log_levels: false\n" +
		"  log_level_fields: [log_level, severity]\n" +
		"  log_level_from_json_max_depth: 0\n"
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := sluice.LoadConfig([]string{"-config.file=" + file})
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	l := cfg.Limits
	if fmt.Sprint([]string(l.DiscoverServiceName), l.DiscoverLogLevels, []string(l.LogLevelFields), l.LogLevelFromJSONMaxDepth) != "[team app] false [log_level severity] 0" {
		t.Errorf("limits = %v %v %v %v", l.DiscoverServiceName, l.DiscoverLogLevels, l.LogLevelFields, l.LogLevelFromJSONMaxDepth)
	}
	def, err := sluice.LoadConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if l := def.Limits; len(l.DiscoverServiceName) != 13 || l.DiscoverServiceName[0] != "service" || !l.DiscoverLogLevels || len(l.LogLevelFields) != 14 || l.LogLevelFromJSONMaxDepth != 2 {
		t.Errorf("defaults = %v %v %v %v, want Loki's", l.DiscoverServiceName, l.DiscoverLogLevels, l.LogLevelFields, l.LogLevelFromJSONMaxDepth)
	}
	flags, err := sluice.LoadConfig([]string{"-validation.discover-service-name=", "-validation.log-level-fields=lvl,level"})
	if err != nil {
		t.Fatal(err)
	}
	if l := flags.Limits; len(l.DiscoverServiceName) != 0 || fmt.Sprint([]string(l.LogLevelFields)) != "[lvl level]" {
		t.Errorf("from flags: %v %v", l.DiscoverServiceName, l.LogLevelFields)
	}
}
