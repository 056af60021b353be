package api_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
)

type detectedLabelsResponse struct {
	DetectedLabels []struct {
		Label       string `json:"label"`
		Cardinality uint64 `json:"cardinality"`
	} `json:"detectedLabels"`
}

func TestDetectedLabels(t *testing.T) {
	srv := sluicetest.Start(t)
	t0 := time.Now().Add(-time.Minute)
	ids := []string{"1f0e5c1a-9a53-4a3c-8d5e-1b2c3d4e5f60", "2f0e5c1a-9a53-4a3c-8d5e-1b2c3d4e5f60", "3f0e5c1a-9a53-4a3c-8d5e-1b2c3d4e5f60"}
	for i := range 3 {
		pushJSON(t, srv.URL, map[string]string{
			"app": "api", "pod": fmt.Sprint(100 + i), "port": fmt.Sprint(8080 + i), "uid": ids[i],
			"canary": fmt.Sprint(i % 2), "level": []string{"info", "warn", "error"}[i],
		}, line{at: t0, text: "x"})
	}
	var dl detectedLabelsResponse
	getJSON(t, srv.URL, "/loki/api/v1/detected_labels", url.Values{"query": {`{app="api"}`}, "start": {ns(t0.Add(-time.Hour))}, "end": {ns(t0.Add(time.Second))}}, &dl)
	var got []string
	for _, l := range dl.DetectedLabels {
		got = append(got, fmt.Sprintf("%s=%d", l.Label, l.Cardinality))
	}
	// port (numbers) and uid (UUIDs) are IDs; pod is numeric too but a static label; canary is a flag.
	// service_name is the label the server adds to every stream (from app), as Loki 3 does.
	want := []string{"app=1", "canary=2", "level=3", "pod=3", "service_name=1"}
	if !slices.Equal(got, want) {
		t.Errorf("detected_labels = %v, want %v", got, want)
	}
	// Nothing selected: an empty list, not null.
	status, body := get(t, srv.URL, "/loki/api/v1/detected_labels", url.Values{"query": {`{app="none"}`}})
	if status != 200 || strings.TrimSpace(string(body)) != `{"detectedLabels":[]}` {
		t.Errorf("detected_labels of nothing = %d %s", status, body)
	}
}

type detectedFieldsResponse struct {
	Fields []struct {
		Label       string   `json:"label"`
		Type        string   `json:"type"`
		Cardinality uint64   `json:"cardinality"`
		Parsers     []string `json:"parsers"`
	} `json:"fields"`
	Limit int `json:"limit"`
}

func pushFieldData(t *testing.T, base string) time.Time {
	t0 := time.Now().Add(-2 * time.Minute)
	var lines []line
	for i := range 4 {
		lines = append(lines, line{
			at:   t0.Add(time.Duration(i) * time.Second),
			text: fmt.Sprintf("level=%s duration=%dms size=%dKB count=%d ratio=0.%d ok=true msg=\"hello %d\"", []string{"info", "warn"}[i%2], 10+i, i+1, i, i+1, i),
			meta: map[string]string{"trace_id": fmt.Sprintf("t%d", i%3)},
		})
	}
	pushJSON(t, base, map[string]string{"app": "logfmt"}, lines...)
	pushJSON(t, base, map[string]string{"app": "json"},
		line{at: t0, text: `{"user":{"id":"u1","admin":false},"latency":1.5}`},
		line{at: t0.Add(time.Second), text: `{"user":{"id":"u2","admin":true},"latency":2.5}`})
	return t0
}

func TestDetectedFields(t *testing.T) {
	srv := sluicetest.Start(t)
	t0 := pushFieldData(t, srv.URL)
	rng := url.Values{"start": {ns(t0.Add(-time.Minute))}, "end": {ns(t0.Add(time.Minute))}}
	fields := func(query string, extra ...string) map[string]string {
		t.Helper()
		p := url.Values{"query": {query}, "start": rng["start"], "end": rng["end"]}
		for i := 0; i+1 < len(extra); i += 2 {
			p.Set(extra[i], extra[i+1])
		}
		var df detectedFieldsResponse
		getJSON(t, srv.URL, "/loki/api/v1/detected_fields", p, &df)
		out := map[string]string{}
		for _, f := range df.Fields {
			out[f.Label] = fmt.Sprintf("%s/%d/%v", f.Type, f.Cardinality, f.Parsers)
		}
		out["limit"] = fmt.Sprint(df.Limit)
		return out
	}
	got := fields(`{app="logfmt"}`)
	want := map[string]string{
		"level": "string/2/[logfmt]", "duration": "duration/4/[logfmt]", "size": "bytes/4/[logfmt]",
		"count": "int/4/[logfmt]", "ratio": "float/4/[logfmt]", "ok": "boolean/1/[logfmt]",
		"msg": "string/4/[logfmt]", "trace_id": "string/3/[]", "limit": "1000",
		// The structured metadata the server adds, as Loki 3 does: the lines' level=, info or warn.
		"detected_level": "string/2/[]",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("detected_fields logfmt =\n%v\nwant\n%v", got, want)
	}
	got = fields(`{app="json"}`)
	// These lines name no level: their detected_level is unknown.
	want = map[string]string{"user_id": "string/2/[json]", "user_admin": "boolean/2/[json]", "latency": "float/2/[json]", "detected_level": "string/1/[]", "limit": "1000"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("detected_fields json = %v, want %v", got, want)
	}
	// limit caps the fields, line_limit the lines sampled (the newest first).
	if got := fields(`{app="logfmt"}`, "limit", "2"); len(got) != 3 || got["limit"] != "2" {
		t.Errorf("detected_fields limit=2 = %v, want 2 fields", got)
	}
	if got := fields(`{app="logfmt"}`, "line_limit", "1"); got["count"] != "int/1/[logfmt]" {
		t.Errorf("detected_fields line_limit=1: count = %q, want one value", got["count"])
	}
	// The structured metadata field has "parsers": null in the JSON.
	_, body := get(t, srv.URL, "/loki/api/v1/detected_fields", url.Values{"query": {`{app="logfmt"}`}, "start": rng["start"], "end": rng["end"]})
	if !strings.Contains(string(body), `{"label":"trace_id","type":"string","cardinality":3,"parsers":null}`) {
		t.Errorf("detected_fields body %s lacks trace_id with null parsers", body)
	}
}

func TestDetectedFieldValues(t *testing.T) {
	srv := sluicetest.Start(t)
	t0 := pushFieldData(t, srv.URL)
	p := url.Values{"query": {`{app=~".+"}`}, "start": {ns(t0.Add(-time.Minute))}, "end": {ns(t0.Add(time.Minute))}}
	var vr struct {
		Values []string `json:"values"`
		Limit  int      `json:"limit"`
	}
	getJSON(t, srv.URL, "/loki/api/v1/detected_field/level/values", p, &vr)
	if !slices.Equal(vr.Values, []string{"info", "warn"}) || vr.Limit != 1000 {
		t.Errorf("level values = %+v, want [info warn] limit 1000", vr)
	}
	getJSON(t, srv.URL, "/loki/api/v1/detected_field/user_id/values", p, &vr)
	if !slices.Equal(vr.Values, []string{"u1", "u2"}) {
		t.Errorf("user_id values = %v, want [u1 u2]", vr.Values)
	}
	p.Set("limit", "1")
	getJSON(t, srv.URL, "/loki/api/v1/detected_field/trace_id/values", p, &vr)
	if len(vr.Values) != 1 || vr.Limit != 1 {
		t.Errorf("trace_id values with limit 1 = %+v", vr)
	}
	p.Del("limit")
	if body := getJSON(t, srv.URL, "/loki/api/v1/detected_field/nope/values", p, &vr); !strings.Contains(string(body), `"values":[]`) {
		t.Errorf("unknown field values = %s, want an empty list", body)
	}
}

type patternsResponse struct {
	Status string `json:"status"`
	Data   []struct {
		Pattern string     `json:"pattern"`
		Level   string     `json:"level"`
		Samples [][2]int64 `json:"samples"`
	} `json:"data"`
}

func TestPatterns(t *testing.T) {
	srv := sluicetest.Start(t)
	t0 := time.Now().Add(-5 * time.Minute).Truncate(time.Minute)
	var lines []line
	for i := range 60 {
		lines = append(lines, line{at: t0.Add(time.Duration(i) * time.Second), text: fmt.Sprintf("level=info msg=\"request done\" duration=%dms status=200", i*7)})
	}
	// One line is a pattern too, but Loki answers only patterns of at least 30 lines.
	lines = append(lines, line{at: t0.Add(time.Second), text: "level=error msg=\"disk full\" free=0"})
	pushJSON(t, srv.URL, map[string]string{"app": "api"}, lines...)
	p := url.Values{"query": {`{app="api"}`}, "start": {ns(t0)}, "end": {ns(t0.Add(time.Minute))}, "step": {"30s"}}
	check := func(when string, p url.Values) {
		t.Helper()
		var pr patternsResponse
		getJSON(t, srv.URL, "/loki/api/v1/patterns", p, &pr)
		if pr.Status != "success" || len(pr.Data) != 1 {
			t.Fatalf("%s: patterns = %+v, want success with 1 pattern", when, pr)
		}
		if want := `level=info msg="request done" duration=<_> status=200`; pr.Data[0].Pattern != want {
			t.Errorf("%s: first pattern %q, want %q", when, pr.Data[0].Pattern, want)
		}
		wantSamples := [][2]int64{{t0.Unix(), 30}, {t0.Unix() + 30, 30}}
		if fmt.Sprint(pr.Data[0].Samples) != fmt.Sprint(wantSamples) {
			t.Errorf("%s: samples %v, want %v", when, pr.Data[0].Samples, wantSamples)
		}
	}
	check("streamed", p)
	flush(t, srv.URL)
	check("from the store", p)
	// A pipeline runs through the engine.
	p.Set("query", `{app="api"} |= "level"`)
	check("with a line filter", p)
}
