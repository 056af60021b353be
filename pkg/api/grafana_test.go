package api_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
)

// TestGrafanaExploreSequence replays what Grafana's Loki data source and Logs Drilldown send when
// a user adds the data source and opens Explore, and checks each answer as Grafana reads it.
func TestGrafanaExploreSequence(t *testing.T) {
	srv := sluicetest.Start(t)
	now := time.Now()
	t0 := now.Add(-3 * time.Minute).Truncate(time.Second)
	var lines []line
	for i := range 20 {
		level := []string{"info", "info", "info", "error"}[i%4]
		lines = append(lines, line{
			at:   t0.Add(time.Duration(i) * time.Second),
			text: fmt.Sprintf("level=%s msg=\"handled request\" path=/api/items/%d duration=%dms", level, i, 5+i),
			meta: map[string]string{"trace_id": fmt.Sprintf("trace-%d", i%5)},
		})
	}
	pushJSON(t, srv.URL, map[string]string{"service_name": "checkout", "namespace": "shop", "env": "prod"}, lines...)
	pushJSON(t, srv.URL, map[string]string{"service_name": "cart", "namespace": "shop"},
		line{at: t0, text: `{"level":"info","items":3}`}, line{at: t0.Add(time.Second), text: `{"level":"warn","items":0}`})

	start, end := ns(now.Add(-10*time.Minute)), ns(now)

	// 1. Health check, older Grafana: vector(1)+vector(1) at time=4000000000.
	var health vectorResponse
	getJSON(t, srv.URL, "/loki/api/v1/query", url.Values{"query": {"vector(1)+vector(1)"}, "time": {"4000000000"}}, &health)
	if health.Status != "success" || health.Data.ResultType != "vector" || len(health.Data.Result) != 1 || health.Data.Result[0].Value[1] != "2" {
		t.Fatalf("health check = %+v, want one sample of value \"2\"", health)
	}
	// 2. Health check, newer Grafana: labels over the last 10 minutes.
	var labelsResp struct {
		Status string   `json:"status"`
		Data   []string `json:"data"`
	}
	getJSON(t, srv.URL, "/loki/api/v1/labels", url.Values{"start": {start}, "end": {end}}, &labelsResp)
	if labelsResp.Status != "success" || !slices.Equal(labelsResp.Data, []string{"env", "namespace", "service_name"}) {
		t.Fatalf("labels = %+v", labelsResp)
	}
	// 3. Label browser: values of a label, then labels and values narrowed by a selector.
	getJSON(t, srv.URL, "/loki/api/v1/label/service_name/values", url.Values{"start": {start}, "end": {end}}, &labelsResp)
	if !slices.Equal(labelsResp.Data, []string{"cart", "checkout"}) {
		t.Errorf("service_name values = %v", labelsResp.Data)
	}
	getJSON(t, srv.URL, "/loki/api/v1/labels", url.Values{"start": {start}, "end": {end}, "query": {`{service_name="cart"}`}}, &labelsResp)
	if !slices.Equal(labelsResp.Data, []string{"namespace", "service_name"}) {
		t.Errorf("labels of cart = %v", labelsResp.Data)
	}
	getJSON(t, srv.URL, "/loki/api/v1/label/env/values", url.Values{"start": {start}, "end": {end}, "query": {`{namespace="shop"}`}}, &labelsResp)
	if !slices.Equal(labelsResp.Data, []string{"prod"}) {
		t.Errorf("env values in shop = %v", labelsResp.Data)
	}

	// 4. The logs query, with the query tag and categorized labels.
	var logs struct {
		Status string `json:"status"`
		Data   struct {
			ResultType    string   `json:"resultType"`
			EncodingFlags []string `json:"encodingFlags"`
			Result        []struct {
				Stream map[string]string   `json:"stream"`
				Values [][]json.RawMessage `json:"values"`
			} `json:"result"`
			Stats map[string]map[string]any `json:"stats"`
		} `json:"data"`
	}
	getJSON(t, srv.URL, "/loki/api/v1/query_range", url.Values{
		"query": {`{service_name="checkout"} | logfmt`}, "direction": {"backward"}, "limit": {"10"},
		"start": {start}, "end": {end}, "step": {"2000ms"},
	}, &logs, "X-Query-Tags", "Source=logsample", "X-Loki-Response-Encoding-Flags", "categorize-labels")
	if logs.Data.ResultType != "streams" || !slices.Contains(logs.Data.EncodingFlags, "categorize-labels") {
		t.Fatalf("logs query: type %q flags %v, want streams with categorize-labels", logs.Data.ResultType, logs.Data.EncodingFlags)
	}
	n := 0
	for _, s := range logs.Data.Result {
		if _, ok := s.Stream["path"]; ok {
			t.Errorf("categorized stream labels %v hold a parsed label", s.Stream)
		}
		for _, v := range s.Values {
			n++
			var meta map[string]map[string]string
			if len(v) != 3 || json.Unmarshal(v[2], &meta) != nil || meta["structuredMetadata"]["trace_id"] == "" || meta["parsed"]["path"] == "" {
				t.Fatalf("categorized value %s, want [ts, line, {structuredMetadata, parsed}]", v)
			}
		}
	}
	if n != 10 || logs.Data.Stats["summary"] == nil || logs.Data.Stats["ingester"] == nil || logs.Data.Stats["querier"] == nil {
		t.Errorf("logs query: %d lines, stats %v; want 10 lines and summary/querier/ingester stats", n, logs.Data.Stats)
	}

	// 5. The log volume histogram.
	var hist matrixResponse
	getJSON(t, srv.URL, "/loki/api/v1/query_range", url.Values{
		"query": {`sum by (level) (count_over_time({service_name="checkout"} | logfmt | drop __error__ [1m]))`},
		"start": {start}, "end": {end}, "step": {"60000ms"},
	}, &hist, "X-Query-Tags", "Source=logvolhist")
	if hist.Data.ResultType != "matrix" {
		t.Fatalf("histogram type %q, want matrix", hist.Data.ResultType)
	}
	totals := map[string]float64{}
	for _, s := range hist.Data.Result {
		// With the range equal to the step, the windows (t-1m, t] tile the time line, so each
		// line is counted at exactly one point (wherever the frontend aligned the steps).
		for _, v := range s.Values {
			var n float64
			fmt.Sscan(v[1].(string), &n)
			totals[s.Metric["level"]] += n
		}
	}
	if totals["info"] != 15 || totals["error"] != 5 || len(totals) != 2 {
		t.Errorf("histogram by level = %v, want info 15, error 5", totals)
	}

	// 6. Index stats for the query inspector and the size warning.
	var st statsResponse
	getJSON(t, srv.URL, "/loki/api/v1/index/stats", url.Values{"query": {`{service_name="checkout"}`}, "start": {start}, "end": {end}}, &st)
	if st.Streams != 1 || st.Entries != 20 || st.Chunks != 1 || st.Bytes == 0 {
		t.Errorf("index stats = %+v, want 1 stream, 1 chunk, 20 entries", st)
	}

	// 7. Logs Drilldown: service volumes with RFC3339 times.
	var vol vectorResponse
	getJSON(t, srv.URL, "/loki/api/v1/index/volume", url.Values{
		"query": {`{service_name=~".+"}`}, "start": {now.Add(-10 * time.Minute).UTC().Format(time.RFC3339)},
		"end": {now.UTC().Format(time.RFC3339)}, "limit": {"5000"},
	}, &vol)
	if vol.Data.ResultType != "vector" || len(vol.Data.Result) != 2 || vol.Data.Result[0].Metric["service_name"] != "checkout" {
		t.Errorf("volume = %+v, want checkout then cart", vol.Data)
	}

	// 8. Detected labels of a service.
	var dl detectedLabelsResponse
	getJSON(t, srv.URL, "/loki/api/v1/detected_labels", url.Values{"query": {`{service_name="checkout"}`}, "start": {start}, "end": {end}}, &dl)
	var names []string
	for _, l := range dl.DetectedLabels {
		names = append(names, fmt.Sprintf("%s=%d", l.Label, l.Cardinality))
	}
	if !slices.Equal(names, []string{"env=1", "namespace=1", "service_name=1"}) {
		t.Errorf("detected_labels = %v", names)
	}

	// 9. Detected fields of a service.
	var df detectedFieldsResponse
	getJSON(t, srv.URL, "/loki/api/v1/detected_fields", url.Values{
		"query": {`{service_name="checkout"}`}, "start": {start}, "end": {end}, "limit": {"1000"}, "line_limit": {"1000"},
	}, &df)
	types := map[string]string{}
	for _, f := range df.Fields {
		types[f.Label] = f.Type + fmt.Sprint(f.Parsers)
	}
	if types["duration"] != "duration[logfmt]" || types["path"] != "string[logfmt]" || types["trace_id"] != "string[]" || df.Limit != 1000 {
		t.Errorf("detected_fields = %v limit %d", types, df.Limit)
	}

	// 10. Patterns of a service: its 20 lines are fewer than the 30 Loki wants of a pattern, so
	// the answer is an empty list (patterns_test.go checks patterns that are shown).
	body := getJSON(t, srv.URL, "/loki/api/v1/patterns", url.Values{"query": {`{service_name="checkout"}`}, "start": {start}, "end": {end}, "step": {"1m"}}, &struct{}{})
	if got := strings.TrimSpace(string(body)); got != `{"status":"success","data":[]}` {
		t.Errorf("patterns = %s, want success with no patterns", got)
	}
}
