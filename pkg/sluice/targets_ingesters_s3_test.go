package sluice_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/flagext"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/sluice"
	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
	"github.com/sluicelog/sluice/pkg/storage/s3"
	"github.com/sluicelog/sluice/pkg/storage/s3/s3test"
)

// readAsking is a read process that asks the ingesters at addrs for what they have not
// flushed.
func readAsking(t *testing.T, cfg s3.Config, addrs ...string) *sluicetest.Server {
	t.Helper()
	return sluicetest.Start(t, append(withTarget(cfg, "read"), sluicetest.WithConfig(func(c *sluice.Config) {
		c.Querier.IngesterAddresses = addrs
	}))...)
}

func hostPort(srv *sluicetest.Server) string { return strings.TrimPrefix(srv.URL, "http://") }

// dnsLocalhost returns "dns+localhost:port" when localhost resolves to 127.0.0.1 alone, where
// the test servers listen. Where it also resolves to ::1 (many /etc/hosts do), the read
// process would find no server there and rightly answer 503, so the address is given as
// 127.0.0.1:port instead; the dns+ resolution itself is tested in pkg/querier.
func dnsLocalhost(t *testing.T, port string) string {
	t.Helper()
	ips, err := net.DefaultResolver.LookupHost(t.Context(), "localhost")
	if err == nil && len(ips) == 1 && ips[0] == "127.0.0.1" {
		return "dns+localhost:" + port
	}
	t.Logf("localhost resolves to %v (%v): asking 127.0.0.1:%s instead of dns+localhost:%s", ips, err, port, port)
	return "127.0.0.1:" + port
}

// getJSON GETs base+path?v and decodes the "data" of a 200 answer into out.
func getJSON(t *testing.T, base, path string, v url.Values, out any) {
	t.Helper()
	code, body := send(t, http.MethodGet, base+path+"?"+v.Encode())
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	var resp struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	if err := json.Unmarshal(resp.Data, out); err != nil {
		t.Fatalf("decode %s: %v", resp.Data, err)
	}
}

// TestSplitTargetsReadAsksIngesters: a read process given the write process's address sees
// every line at once, before any flush, in log and metric queries, line filters, labels and
// series; right after the flush, and once the store has the lines too, each line still comes
// once. It is given the ingester twice (by address and by a dns+localhost name), so every line
// it reads comes twice and must come out once. A read process without the address sees nothing
// until the flush.
func TestSplitTargetsReadAsksIngesters(t *testing.T) {
	s3srv := s3test.Start(t)
	cfg := s3srv.Config(s3srv.CreateBucket(t))
	w := sluicetest.Start(t, withTarget(cfg, "write")...)
	_, port, _ := net.SplitHostPort(hostPort(w))
	r := readAsking(t, cfg, hostPort(w), dnsLocalhost(t, port))
	storeOnly := sluicetest.Start(t, withTarget(cfg, "read")...)

	now := time.Now()
	start := now.Add(-30 * time.Minute).UnixNano()
	plain := s3Push(t, w.URL, []string{"a", "b"}, start, int64(time.Second), 50, "plain")
	needle := s3Push(t, w.URL, []string{"c"}, start+int64(time.Millisecond), int64(time.Second), 20, "needle")
	all := slices.Sorted(slices.Values(append(slices.Clone(plain), needle...)))
	from, to := start-int64(time.Minute), time.Now().Add(time.Minute).UnixNano()

	check := func(stage string) {
		t.Helper()
		var got []string
		waitFor(t, 15*time.Second, stage+": the read process answers", func() bool {
			var code int
			got, code = s3Query(t, r.URL, `{app="s3"}`, from, to)
			return code == http.StatusOK // 503 until it has loaded the delete requests
		})
		sameLines(t, stage+": log query", got, all)
		got, code := s3Query(t, r.URL, `{app="s3"} |= "needle"`, from, to)
		if code != http.StatusOK {
			t.Fatalf("%s: filtered query: %d", stage, code)
		}
		sameLines(t, stage+": |= \"needle\"", got, needle)
		if n := instantValue(t, r.URL, `sum(count_over_time({app="s3"}[1h]))`, now); n != float64(len(all)) {
			t.Fatalf("%s: count_over_time = %v, want %d", stage, n, len(all))
		}
		if n := instantValue(t, r.URL, `sum(count_over_time({app="s3"} |= "needle" [1h]))`, now); n != float64(len(needle)) {
			t.Fatalf("%s: filtered count_over_time = %v, want %d", stage, n, len(needle))
		}
		rng := url.Values{"start": {strconv.FormatInt(from, 10)}, "end": {strconv.FormatInt(to, 10)}}
		var names, values []string
		getJSON(t, r.URL, "/loki/api/v1/labels", rng, &names)
		// service_name is the label the write process adds to every stream (from app).
		if !slices.Equal(names, []string{"app", "service_name", "stream"}) {
			t.Fatalf("%s: labels = %q, want app, service_name, stream", stage, names)
		}
		getJSON(t, r.URL, "/loki/api/v1/label/stream/values", rng, &values)
		if !slices.Equal(values, []string{"a", "b", "c"}) {
			t.Fatalf("%s: values of stream = %q, want a, b, c", stage, values)
		}
		var series []map[string]string
		sv := url.Values{"match[]": {`{app="s3"}`}, "start": rng["start"], "end": rng["end"]}
		getJSON(t, r.URL, "/loki/api/v1/series", sv, &series)
		if len(series) != 3 || series[0]["stream"] != "a" || series[2]["stream"] != "c" {
			t.Fatalf("%s: series = %v, want the three streams once each", stage, series)
		}
	}
	check("before the flush")
	if got, code := s3Query(t, storeOnly.URL, `{app="s3"}`, from, to); code != http.StatusOK || len(got) != 0 {
		t.Fatalf("a read process without ingester addresses = %d with %d lines, want 200 and none before the flush", code, len(got))
	}

	s3Flush(t, w.URL)
	// The write process keeps the flushed chunks for ingester.chunk_retain_period (7m), so the
	// read process needs neither the index upload nor its own resync to see the lines: whether
	// it reads them from the ingester alone or from both, each comes once.
	check("right after the flush")
	waitFor(t, 15*time.Second, "the flushed lines reach the store", func() bool {
		got, code := s3Query(t, storeOnly.URL, `{app="s3"}`, from, to)
		return code == http.StatusOK && slices.Equal(got, all)
	})
	check("once the store has them")
}

// TestSplitTargetsReadRetainedChunks: read processes that list the shipped index only at start
// (resync_interval 1h) cannot learn from the store of chunks flushed after that. Right after the
// write process has flushed, and its index tables are in the bucket, the one that asks the
// ingester still returns every line exactly once, in log and metric queries and series: only the
// chunks the ingester retains can give them, as the one reading the store alone shows (none).
func TestSplitTargetsReadRetainedChunks(t *testing.T) {
	s3srv := s3test.Start(t)
	cfg := s3srv.Config(s3srv.CreateBucket(t))
	w := sluicetest.Start(t, withTarget(cfg, "write")...)
	if code, body := send(t, http.MethodGet, w.URL+"/config"); code != http.StatusOK || !strings.Contains(body, "chunk_retain_period: 7m\n") {
		t.Fatalf("/config of the write process = %d, want chunk_retain_period: 7m (the default with target write) in\n%s", code, body)
	}
	listOnce := sluicetest.WithConfig(func(c *sluice.Config) { c.StorageConfig.BoltDB.ResyncInterval = flagext.Duration(time.Hour) })
	r := sluicetest.Start(t, append(withTarget(cfg, "read"), listOnce, sluicetest.WithConfig(func(c *sluice.Config) {
		c.Querier.IngesterAddresses = []string{hostPort(w)}
	}))...)
	storeOnly := sluicetest.Start(t, append(withTarget(cfg, "read"), listOnce)...)

	start := time.Now().Add(-20 * time.Minute).UnixNano()
	all := s3Push(t, w.URL, []string{"a", "b"}, start, int64(time.Second), 40, "retained")
	from, to := start-int64(time.Minute), time.Now().Add(time.Minute).UnixNano()
	// Both have listed the bucket (at start, or for this query) before anything was flushed.
	for _, srv := range []*sluicetest.Server{r, storeOnly} {
		waitFor(t, 15*time.Second, srv.URL+" answers", func() bool {
			_, code := s3Query(t, srv.URL, `{app="s3"}`, from, to)
			return code == http.StatusOK // 503 until it has loaded the delete requests
		})
	}

	s3Flush(t, w.URL)
	if keys := bucketKeys(t, cfg, "chunks/"); len(keys) != 2 {
		t.Fatalf("chunks in the bucket after the flush: %q, want the 2 streams' chunks", keys)
	}
	waitFor(t, 15*time.Second, "the write process uploads its index table", func() bool {
		for _, k := range bucketKeys(t, cfg, "index/") {
			if strings.Contains(k, "/fake/") && strings.HasSuffix(k, ".db") {
				return true
			}
		}
		return false
	})
	if n := metricValue(t, w.URL, "loki_ingester_memory_chunks"); n != 2 {
		t.Fatalf("loki_ingester_memory_chunks of the write process = %v after the flush, want its 2 chunks retained", n)
	}

	got, code := s3Query(t, r.URL, `{app="s3"}`, from, to)
	if code != http.StatusOK {
		t.Fatalf("log query after the flush: %d", code)
	}
	sameLines(t, "after the flush, before any resync: log query", got, all)
	backward, streams := queryOrder(t, r.URL, `{app="s3", stream="a"}`, from, to, "backward", 1000)
	if streams != 1 || len(backward) != len(all)/2 || backward[0] != "retained line 39 of a" {
		t.Fatalf("backward query of stream a after the flush: %d streams, lines %q; want 1 stream of 40 lines, the last first", streams, backward)
	}
	if n := instantValue(t, r.URL, `sum(count_over_time({app="s3"}[1h]))`, time.Now()); n != float64(len(all)) {
		t.Fatalf("count_over_time after the flush = %v, want %d", n, len(all))
	}
	var series []map[string]string
	getJSON(t, r.URL, "/loki/api/v1/series", url.Values{"match[]": {`{app="s3"}`},
		"start": {strconv.FormatInt(from, 10)}, "end": {strconv.FormatInt(to, 10)}}, &series)
	if len(series) != 2 {
		t.Fatalf("series after the flush = %v, want the 2 streams", series)
	}
	if got, code := s3Query(t, storeOnly.URL, `{app="s3"}`, from, to); code != http.StatusOK || len(got) != 0 {
		t.Fatalf("the store-only read process after the flush = %d with %d lines, want 200 and none: it has not listed the new index table", code, len(got))
	}
}

// instantValue returns the single sample of an instant metric query at ts.
func instantValue(t *testing.T, base, query string, ts time.Time) float64 {
	t.Helper()
	var data struct {
		Result []struct {
			Value [2]any `json:"value"`
		} `json:"result"`
	}
	getJSON(t, base, "/loki/api/v1/query", url.Values{"query": {query}, "time": {strconv.FormatInt(ts.UnixNano(), 10)}}, &data)
	if len(data.Result) != 1 {
		t.Fatalf("%s: %d samples, want 1", query, len(data.Result))
	}
	f, err := strconv.ParseFloat(data.Result[0].Value[1].(string), 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// queryOrder returns the lines of a log query in the order of the answer's first stream, and
// the number of streams.
func queryOrder(t *testing.T, base, query string, from, to int64, dir string, limit int) ([]string, int) {
	t.Helper()
	qr := queryRange(t, base, url.Values{"query": {query}, "start": {strconv.FormatInt(from, 10)},
		"end": {strconv.FormatInt(to, 10)}, "limit": {strconv.Itoa(limit)}, "direction": {dir}})
	if len(qr.Data.Result) == 0 {
		return nil, 0
	}
	var out []string
	for _, v := range qr.Data.Result[0].Values {
		out = append(out, v[1])
	}
	return out, len(qr.Data.Result)
}

// TestSplitTargetsReadAsksEveryIngester: one stream's lines go alternately to two write
// processes; a read process that knows both returns them all, in order, both directions,
// whether it has their addresses or dns+localhost names for them.
func TestSplitTargetsReadAsksEveryIngester(t *testing.T) {
	s3srv := s3test.Start(t)
	cfg := s3srv.Config(s3srv.CreateBucket(t))
	w1 := sluicetest.Start(t, withTarget(cfg, "write")...)
	w2 := sluicetest.Start(t, withTarget(cfg, "write")...)
	r := readAsking(t, cfg, hostPort(w1), hostPort(w2))
	_, port1, _ := net.SplitHostPort(hostPort(w1))
	_, port2, _ := net.SplitHostPort(hostPort(w2))
	rDNS := readAsking(t, cfg, dnsLocalhost(t, port1), dnsLocalhost(t, port2))

	start := time.Now().Add(-10 * time.Minute).UnixNano()
	var one, two []logproto.Entry
	var want []string
	for i := range 60 {
		e := logproto.Entry{Timestamp: start + int64(i)*int64(time.Second), Line: fmt.Sprintf("line %02d", i)}
		if i%2 == 0 {
			one = append(one, e)
		} else {
			two = append(two, e)
		}
		want = append(want, e.Line)
	}
	pushProto(t, w1.URL, &logproto.PushRequest{Streams: []logproto.Stream{{Labels: `{app="two"}`, Entries: one}}})
	pushProto(t, w2.URL, &logproto.PushRequest{Streams: []logproto.Stream{{Labels: `{app="two"}`, Entries: two}}})
	from, to := start, time.Now().Add(time.Minute).UnixNano()
	backward := slices.Clone(want)
	slices.Reverse(backward)
	for _, srv := range []*sluicetest.Server{r, rDNS} {
		waitFor(t, 15*time.Second, srv.URL+" answers", func() bool {
			code, _ := send(t, http.MethodGet, srv.URL+"/loki/api/v1/labels")
			return code == http.StatusOK
		})
		for _, c := range []struct {
			dir   string
			limit int
			want  []string
		}{
			{"forward", 1000, want}, {"backward", 1000, backward}, {"forward", 7, want[:7]}, {"backward", 7, backward[:7]},
		} {
			got, streams := queryOrder(t, srv.URL, `{app="two"}`, from, to, c.dir, c.limit)
			if streams != 1 || !slices.Equal(got, c.want) {
				t.Fatalf("%s %s limit %d: %d streams, lines %q, want one stream with %q", srv.URL, c.dir, c.limit, streams, got, c.want)
			}
		}
	}
}

// TestSplitTargetsIngesterDown: when an ingester cannot be reached, a query that needs it
// answers 503 naming it rather than part of the lines; one whose range ended before
// now - query_ingesters_within does not need it and succeeds.
func TestSplitTargetsIngesterDown(t *testing.T) {
	s3srv := s3test.Start(t)
	cfg := s3srv.Config(s3srv.CreateBucket(t))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().String()
	l.Close()
	comp := sluicetest.Start(t, withTarget(cfg, "compactor")...) // answers 404 on the ingester routes
	for _, c := range []struct{ addr, want string }{{down, "connection refused"}, {hostPort(comp), "404"}} {
		r := readAsking(t, cfg, c.addr)
		now := time.Now().UnixNano()
		var code int
		var body string
		waitFor(t, 15*time.Second, "the read process loads the delete requests", func() bool {
			code, body = send(t, http.MethodGet, r.URL+"/loki/api/v1/query_range?"+url.Values{
				"query": {`{app="x"}`}, "start": {strconv.FormatInt(now-int64(time.Hour), 10)}, "end": {strconv.FormatInt(now, 10)}}.Encode())
			return !strings.Contains(body, "delete requests not loaded")
		})
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "ingester "+c.addr) || !strings.Contains(body, c.want) || strings.Count(strings.TrimSpace(body), "\n") > 0 {
			t.Fatalf("recent query with ingester %s = %d %q, want a one-line 503 naming it (%s)", c.addr, code, body, c.want)
		}
		code, body = send(t, http.MethodGet, r.URL+"/loki/api/v1/labels?"+url.Values{
			"start": {strconv.FormatInt(now-int64(time.Hour), 10)}, "end": {strconv.FormatInt(now, 10)}}.Encode())
		if code != http.StatusServiceUnavailable || !strings.Contains(body, c.addr) {
			t.Fatalf("recent labels with ingester %s = %d %q, want 503 naming it", c.addr, code, body)
		}
		old := now - 4*int64(time.Hour)
		if got, code := s3Query(t, r.URL, `{app="x"}`, old-int64(time.Hour), old); code != http.StatusOK || len(got) != 0 {
			t.Fatalf("query ending 4h ago = %d with %d lines, want 200 without asking the ingester", code, len(got))
		}
	}
}
