package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
)

type statsResponse struct {
	Streams, Chunks, Bytes, Entries uint64
}

// volumeEntry is the size index stats and volumes count for each line pushVolumeData pushes:
// its 10 bytes and its structured metadata, the detected_level=unknown the server adds (as
// Loki 3 does; the line names no level).
const volumeEntry = len("0123456789") + len("detected_level") + len("unknown")

// pushVolumeData pushes three streams whose sizes differ: api 3 lines of 10 bytes, web 2 lines of
// 10 bytes, db 1 line of 10 bytes (volumeEntry each, with their metadata). It returns the time of
// the first line.
func pushVolumeData(t *testing.T, base string) time.Time {
	t.Helper()
	t0 := time.Now().Add(-5 * time.Minute).Truncate(time.Second)
	ten := "0123456789"
	pushJSON(t, base, map[string]string{"app": "api", "env": "prod"},
		line{at: t0, text: ten}, line{at: t0.Add(time.Second), text: ten}, line{at: t0.Add(2 * time.Second), text: ten})
	pushJSON(t, base, map[string]string{"app": "web", "env": "prod"},
		line{at: t0, text: ten}, line{at: t0.Add(time.Second), text: ten})
	pushJSON(t, base, map[string]string{"app": "db", "env": "dev"}, line{at: t0, text: ten})
	return t0
}

func TestIndexStatsCountsIngesterAndStoreOnce(t *testing.T) {
	srv := sluicetest.Start(t)
	t0 := pushVolumeData(t, srv.URL)
	params := url.Values{"query": {`{env="prod"}`}, "start": {ns(t0.Add(-time.Minute))}, "end": {ns(t0.Add(time.Minute))}}
	check := func(when string) {
		t.Helper()
		var st statsResponse
		body := getJSON(t, srv.URL, "/loki/api/v1/index/stats", params, &st)
		for _, key := range []string{`"streams":`, `"chunks":`, `"bytes":`, `"entries":`} {
			if !strings.Contains(string(body), key) {
				t.Errorf("%s: stats %s lacks %s", when, body, key)
			}
		}
		// In memory, bytes are line and metadata bytes; a flushed chunk reports its raw block
		// size, which adds timestamps and lengths.
		want := uint64(5 * volumeEntry)
		if st.Streams != 2 || st.Entries != 5 || st.Bytes < want || st.Bytes > 3*want || st.Chunks != 2 || when == "in memory" && st.Bytes != want {
			t.Errorf("%s: stats = %+v, want 2 streams, 2 chunks, %d bytes (more after a flush), 5 entries", when, st, want)
		}
	}
	check("in memory")
	flush(t, srv.URL)
	check("after flush")
	// New lines after the flush are in the ingester again; the stream is still counted once.
	pushJSON(t, srv.URL, map[string]string{"app": "api", "env": "prod"}, line{at: t0.Add(3 * time.Second), text: "0123456789"})
	var st statsResponse
	getJSON(t, srv.URL, "/loki/api/v1/index/stats", params, &st)
	if st.Streams != 2 || st.Entries != 6 || st.Chunks != 3 {
		t.Errorf("flushed and in memory: stats = %+v, want 2 streams, 3 chunks, 6 entries", st)
	}
}

func TestVolume(t *testing.T) {
	srv := sluicetest.Start(t)
	t0 := pushVolumeData(t, srv.URL)
	start, end := t0.Add(-time.Minute), t0.Add(time.Minute)
	rfc := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	// vol is the volume of n of pushVolumeData's lines.
	vol := func(n int) string { return fmt.Sprint(n * volumeEntry) }
	cases := []struct {
		name   string
		params url.Values
		want   []string // metric=value, in order
	}{
		{"by matcher labels", url.Values{"query": {`{app=~".+"}`}}, []string{`app=api:` + vol(3), `app=web:` + vol(2), `app=db:` + vol(1)}},
		{"limit", url.Values{"query": {`{app=~".+"}`}, "limit": {"2"}}, []string{`app=api:` + vol(3), `app=web:` + vol(2)}},
		{"target labels", url.Values{"query": {`{app=~".+"}`}, "targetLabels": {"env"}}, []string{`env=prod:` + vol(5), `env=dev:` + vol(1)}},
		{"aggregate by labels", url.Values{"query": {`{env="prod"}`}, "aggregateBy": {"labels"}}, []string{`env=:` + vol(5)}},
		{"whole series", url.Values{"query": {`{}`}, "targetLabels": {"app,env"}, "limit": {"1"}}, []string{`app=api,env=prod:` + vol(3)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.params.Set("start", rfc(start))
			c.params.Set("end", rfc(end))
			var vr vectorResponse
			getJSON(t, srv.URL, "/loki/api/v1/index/volume", c.params, &vr)
			if vr.Status != "success" || vr.Data.ResultType != "vector" || vr.Data.Stats == nil {
				t.Fatalf("volume %v: status %q type %q stats %v, want success vector with stats", c.params, vr.Status, vr.Data.ResultType, vr.Data.Stats)
			}
			var got []string
			for _, s := range vr.Data.Result {
				got = append(got, metricString(s.Metric)+":"+s.Value[1].(string))
				if ts, _ := s.Value[0].(float64); int64(ts) != end.Unix() {
					t.Errorf("sample time %v, want the end of the range %d", s.Value[0], end.Unix())
				}
			}
			if strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Errorf("volume %v = %v, want %v", c.params, got, c.want)
			}
		})
	}
	// Flushing moves the bytes to the store without changing the answer.
	flush(t, srv.URL)
	var vr vectorResponse
	getJSON(t, srv.URL, "/loki/api/v1/index/volume", url.Values{"query": {`{app=~".+"}`}, "start": {ns(start)}, "end": {ns(end)}}, &vr)
	if len(vr.Data.Result) != 3 || metricString(vr.Data.Result[0].Metric) != "app=api" || metricString(vr.Data.Result[2].Metric) != "app=db" {
		t.Errorf("volume after flush = %+v, want api, web, db", vr.Data.Result)
	}
}

func TestVolumeRange(t *testing.T) {
	srv := sluicetest.Start(t)
	t0 := time.Now().Add(-5 * time.Minute).Truncate(time.Second)
	// One line in the store, one in the ingester, in different steps.
	pushJSON(t, srv.URL, map[string]string{"app": "api"}, line{at: t0, text: "0123456789"})
	flush(t, srv.URL)
	pushJSON(t, srv.URL, map[string]string{"app": "api"}, line{at: t0.Add(3 * time.Second), text: "abcde"})
	var mr matrixResponse
	getJSON(t, srv.URL, "/loki/api/v1/index/volume_range", url.Values{
		"query": {`{app="api"}`}, "start": {ns(t0)}, "end": {ns(t0.Add(4 * time.Second))}, "step": {"2s"},
	}, &mr)
	if mr.Status != "success" || mr.Data.ResultType != "matrix" || len(mr.Data.Result) != 1 {
		t.Fatalf("volume_range = %+v, want one matrix series", mr)
	}
	s := mr.Data.Result[0]
	if metricString(s.Metric) != "app=api" || len(s.Values) != 2 {
		t.Fatalf("volume_range series = %+v, want app=api with 2 points", s)
	}
	if s.Values[0][0].(float64) != float64(t0.Unix()) || s.Values[1][0].(float64) != float64(t0.Unix()+2) {
		t.Errorf("volume_range times = %v, want the starts of the steps %d and %d", s.Values, t0.Unix(), t0.Unix()+2)
	}
	// The second step has "abcde" and its detected_level=unknown (the server's, as in Loki 3).
	wantLast := fmt.Sprint(len("abcde") + len("detected_level") + len("unknown"))
	if s.Values[0][1] == "0" || s.Values[1][1] != wantLast {
		t.Errorf("volume_range values = %v, want the stored chunk's bytes then %s", s.Values, wantLast)
	}
	// A single step is answered as a vector, as Loki does.
	var vr vectorResponse
	getJSON(t, srv.URL, "/loki/api/v1/index/volume_range", url.Values{
		"query": {`{app="api"}`}, "start": {ns(t0)}, "end": {ns(t0.Add(4 * time.Second))}, "step": {"10s"},
	}, &vr)
	if vr.Data.ResultType != "vector" || len(vr.Data.Result) != 1 {
		t.Errorf("volume_range over one step = %+v, want a vector of one sample", vr.Data)
	}
}

func metricString(m map[string]string) string {
	var parts []string
	for _, k := range []string{"app", "env"} {
		if v, ok := m[k]; ok {
			parts = append(parts, k+"="+v)
		}
	}
	if len(parts) != len(m) {
		return "unexpected labels"
	}
	return strings.Join(parts, ",")
}

func TestIndexEndpointErrors(t *testing.T) {
	srv := sluicetest.Start(t)
	cases := []struct {
		path   string
		params url.Values
		status int
		msg    string
	}{
		{"/loki/api/v1/index/stats", url.Values{}, 400, "query parameter is required"},
		{"/loki/api/v1/index/stats", url.Values{"query": {`{app=`}}, 400, ""},
		{"/loki/api/v1/index/stats", url.Values{"query": {`{app="a"}`}, "start": {"yesterday"}}, 400, "could not parse 'start' parameter"},
		{"/loki/api/v1/index/volume", url.Values{"query": {`{app="a"}`}, "aggregateBy": {"pods"}}, 400, "invalid aggregation option: pods"},
		{"/loki/api/v1/index/volume", url.Values{"query": {`{app="a"}`}, "limit": {"-1"}}, 400, "limit must be a positive value"},
		{"/loki/api/v1/index/volume_range", url.Values{"query": {`{app="a"}`}, "step": {"0"}}, 400, "must be positive"},
		{"/loki/api/v1/index/volume_range", url.Values{"query": {`{app="a"}`}, "start": {"1"}, "end": {"100000"}, "step": {"1"}}, 400, "11,000 points"},
		{"/loki/api/v1/detected_fields", url.Values{}, 400, "query parameter is required"},
		{"/loki/api/v1/detected_fields", url.Values{"query": {`count_over_time({app="a"}[1m])`}}, 400, "only log queries"},
		{"/loki/api/v1/detected_fields", url.Values{"query": {`{app="a"}`}, "line_limit": {"x"}}, 400, "line_limit"},
		{"/loki/api/v1/patterns", url.Values{"query": {`{app="a"`}}, 400, ""},
		{"/loki/api/v1/detected_labels", url.Values{"query": {`{app="a"}`}, "end": {"1"}, "start": {"2"}}, 400, "end timestamp must not be before"},
		{"/loki/api/v1/no_such_thing", nil, 404, "404 page not found"},
	}
	for _, c := range cases {
		status, body := get(t, srv.URL, c.path, c.params)
		if status != c.status || !strings.Contains(string(body), c.msg) {
			t.Errorf("GET %s %v = %d %q, want %d containing %q", c.path, c.params, status, body, c.status, c.msg)
		}
	}
}

func TestServices(t *testing.T) {
	srv := sluicetest.Start(t)
	status, body := get(t, srv.URL, "/services", nil)
	if status != http.StatusOK {
		t.Fatalf("/services: %d %s", status, body)
	}
	for _, want := range []string{"ingester => Running\n", "distributor => Running\n", "querier => Running\n"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/services = %q, want a line %q", body, want)
		}
	}
}

func TestLegacyAliases(t *testing.T) {
	srv := sluicetest.Start(t)
	t0 := pushVolumeData(t, srv.URL)
	params := url.Values{"start": {ns(t0.Add(-time.Minute))}, "end": {ns(t0.Add(time.Minute))}}
	// service_name is the label the server adds to every stream (from app), as Loki 3 does.
	cases := []struct{ path, want string }{
		{"/api/prom/label", `{"values":["app","env","service_name"]}`},
		{"/api/prom/label/app/values", `{"values":["api","db","web"]}`},
		{"/loki/api/v1/label", `{"status":"success","data":["app","env","service_name"]}`},
		{"/api/prom/series", `"data":[`},
	}
	for _, c := range cases {
		status, body := get(t, srv.URL, c.path, params)
		if status != http.StatusOK || !strings.Contains(string(body), c.want) {
			t.Errorf("GET %s = %d %s, want 200 with %s", c.path, status, body, c.want)
		}
	}
	q := url.Values{"query": {`{app="api"}`}, "start": params["start"], "end": params["end"]}
	if status, body := get(t, srv.URL, "/api/prom/query", q); status != http.StatusOK || !strings.Contains(string(body), `"streams"`) {
		t.Errorf("GET /api/prom/query = %d %s", status, body)
	}
}
