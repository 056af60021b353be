package sluice_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/compactor/deletion"
	"github.com/sluicelog/sluice/pkg/flagext"
	"github.com/sluicelog/sluice/pkg/sluice"
	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
	"github.com/sluicelog/sluice/pkg/storage/s3"
	"github.com/sluicelog/sluice/pkg/storage/s3/s3test"
)

// withTarget runs only target's modules, with short shipper and delete-request intervals so
// that what one process writes reaches the others quickly.
func withTarget(cfg s3.Config, target string) []sluicetest.Option {
	return []sluicetest.Option{sluicetest.WithS3(cfg), sluicetest.WithConfig(func(c *sluice.Config) {
		c.Target = target
		c.StorageConfig.BoltDB.UploadInterval = flagext.Duration(100 * time.Millisecond)
		c.StorageConfig.BoltDB.ResyncInterval = flagext.Duration(100 * time.Millisecond)
		c.Compactor.DeleteRequestStoreRefreshInterval = flagext.Duration(200 * time.Millisecond)
	})}
}

// send makes a request and returns the status and body.
func send(t testing.TB, method, u string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// services returns the lines of /services.
func services(t testing.TB, base string) []string {
	t.Helper()
	code, body := send(t, http.MethodGet, base+"/services")
	if code != http.StatusOK {
		t.Fatalf("/services: %d %s", code, body)
	}
	return strings.Split(strings.TrimSpace(body), "\n")
}

type deleteItem struct {
	RequestID string `json:"request_id"`
	Query     string `json:"query"`
	Status    string `json:"status"`
}

func listDeletes(t testing.TB, base string) []deleteItem {
	t.Helper()
	code, body := send(t, http.MethodGet, base+"/loki/api/v1/delete")
	if code != http.StatusOK {
		t.Fatalf("list delete requests: %d %s", code, body)
	}
	var out []deleteItem
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return out
}

// metricSum returns the sum of every sample of a metric range query.
func metricSum(t testing.TB, base, query string, from, to time.Time, step time.Duration) float64 {
	t.Helper()
	v := url.Values{"query": {query}, "start": {strconv.FormatInt(from.UnixNano(), 10)},
		"end": {strconv.FormatInt(to.UnixNano(), 10)}, "step": {step.String()}}
	code, body := send(t, http.MethodGet, base+"/loki/api/v1/query_range?"+v.Encode())
	if code != http.StatusOK {
		t.Fatalf("metric query %s: %d %s", query, code, body)
	}
	var qr struct {
		Data struct {
			Result []struct {
				Values [][2]any `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &qr); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	var sum float64
	for _, s := range qr.Data.Result {
		for _, p := range s.Values {
			f, err := strconv.ParseFloat(p[1].(string), 64)
			if err != nil {
				t.Fatalf("sample %v: %v", p, err)
			}
			sum += f
		}
	}
	return sum
}

// metricFamilySum returns the sum of a metric's samples over all its labels on /metrics.
func metricFamilySum(t testing.TB, base, name string) float64 {
	t.Helper()
	_, body := send(t, http.MethodGet, base+"/metrics")
	var sum float64
	for _, l := range strings.Split(body, "\n") {
		if !strings.HasPrefix(l, name+"{") && !strings.HasPrefix(l, name+" ") {
			continue
		}
		f, err := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", l, err)
		}
		sum += f
	}
	return sum
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSplitTargetsShareDeleteRequests runs Sluice as separate processes over one bucket: a
// write+read process takes pushes, a read-only one answers from the bucket, and a standalone
// compactor takes a delete request, which the queriers pick up at their next refresh (their
// results cache included). A compactor restarted on an empty disk still has the request.
func TestSplitTargetsShareDeleteRequests(t *testing.T) {
	s3srv := s3test.Start(t)
	cfg := s3srv.Config(s3srv.CreateBucket(t))
	rw := sluicetest.Start(t, withTarget(cfg, "write,read")...)
	comp := sluicetest.Start(t, withTarget(cfg, "compactor")...)

	if got, want := services(t, rw.URL), []string{
		"distributor => Running", "ingester => Running", "querier => Running", "query-frontend => Running",
		"runtime-config => Running", "server => Running", "store => Running",
	}; !slices.Equal(got, want) {
		t.Errorf("/services of write,read = %q, want %q", got, want)
	}
	if got, want := services(t, comp.URL), []string{
		"compactor => Running", "runtime-config => Running", "server => Running", "store => Running",
	}; !slices.Equal(got, want) {
		t.Errorf("/services of compactor = %q, want %q", got, want)
	}
	// Each process serves only its modules' routes.
	for _, c := range []struct {
		base, method, path string
		want               int
	}{
		{comp.URL, http.MethodPost, "/loki/api/v1/push", http.StatusNotFound},
		{comp.URL, http.MethodGet, "/loki/api/v1/query_range?query={a=\"b\"}", http.StatusNotFound},
		{comp.URL, http.MethodGet, "/loki/api/v1/labels", http.StatusNotFound},
		{comp.URL, http.MethodPost, "/flush", http.StatusNotFound},
		{comp.URL, http.MethodGet, "/loki/api/v1/delete", http.StatusOK},
		{comp.URL, http.MethodGet, "/ready", http.StatusOK},
		{comp.URL, http.MethodGet, "/config", http.StatusOK},
		{comp.URL, http.MethodGet, "/metrics", http.StatusOK},
		{comp.URL, http.MethodGet, "/loki/api/v1/status/buildinfo", http.StatusOK},
		{rw.URL, http.MethodGet, "/loki/api/v1/delete", http.StatusNotFound},
		{rw.URL, http.MethodGet, "/loki/api/v1/cache/generation_numbers", http.StatusNotFound},
		{rw.URL, http.MethodGet, "/loki/api/v1/labels", http.StatusOK},
	} {
		if code, body := send(t, c.method, c.base+c.path); code != c.want {
			t.Errorf("%s %s on %s = %d %q, want %d", c.method, c.path, c.base, code, body, c.want)
		}
	}
	if _, body := send(t, http.MethodGet, rw.URL+"/config"); !strings.Contains(body, "delete_request_store_refresh_interval: 200ms") {
		t.Errorf("/config of write,read does not show the refresh interval:\n%s", body)
	}

	now := time.Now()
	start := now.Add(-3 * time.Hour).UnixNano()
	secret := s3Push(t, rw.URL, []string{"a"}, start, int64(time.Minute), 20, "secret")
	plain := s3Push(t, rw.URL, []string{"a", "b"}, start+int64(time.Second), int64(time.Minute), 100, "plain")
	s3Flush(t, rw.URL)
	all := slices.Sorted(slices.Values(append(slices.Clone(secret), plain...)))
	got, code := s3Query(t, rw.URL, `{app="s3"}`, start, now.UnixNano())
	if code != http.StatusOK {
		t.Fatalf("query before the delete: %d", code)
	}
	sameLines(t, "write,read before the delete", got, all)

	// A querier without an ingester answers from the bucket alone, once the index is shipped.
	ro := sluicetest.Start(t, withTarget(cfg, "read")...)
	if code, _ := send(t, http.MethodPost, ro.URL+"/loki/api/v1/push"); code != http.StatusNotFound {
		t.Errorf("push to a read-only process = %d, want 404", code)
	}
	waitFor(t, 15*time.Second, "read-only querier sees every flushed line", func() bool {
		got, code := s3Query(t, ro.URL, `{app="s3"}`, start, now.UnixNano())
		return code == http.StatusOK && slices.Equal(got, all)
	})
	// A querier without the query frontend answers too.
	q := sluicetest.Start(t, withTarget(cfg, "querier")...)
	if got, want := services(t, q.URL), []string{"querier => Running", "runtime-config => Running", "server => Running", "store => Running"}; !slices.Equal(got, want) {
		t.Errorf("/services of querier = %q, want %q", got, want)
	}
	waitFor(t, 15*time.Second, "querier sees every flushed line", func() bool {
		got, code := s3Query(t, q.URL, `{app="s3"}`, start, now.UnixNano())
		return code == http.StatusOK && slices.Equal(got, all)
	})

	// Fill the write,read process's results cache with the count before the delete.
	mFrom, mTo, step := now.Add(-4*time.Hour).Truncate(time.Hour), now.Add(-time.Hour).Truncate(time.Hour), 10*time.Minute
	countQuery := `sum(count_over_time({app="s3"} |= "secret" [10m]))`
	hits := metricFamilySum(t, rw.URL, "loki_cache_hits")
	for i := range 2 {
		if n := metricSum(t, rw.URL, countQuery, mFrom, mTo, step); n != float64(len(secret)) {
			t.Fatalf("secret lines counted before the delete (query %d) = %v, want %d", i, n, len(secret))
		}
	}
	if h := metricFamilySum(t, rw.URL, "loki_cache_hits"); h <= hits {
		t.Fatalf("loki_cache_hits = %v after repeating a metric query, want more than %v", h, hits)
	}

	v := url.Values{"query": {`{app="s3", stream="a"} |= "secret"`},
		"start": {strconv.FormatInt(now.Add(-4*time.Hour).Unix(), 10)}, "end": {strconv.FormatInt(now.Add(-time.Minute).Unix(), 10)}}
	if code, body := send(t, http.MethodPost, comp.URL+"/loki/api/v1/delete?"+v.Encode()); code != http.StatusNoContent {
		t.Fatalf("delete request to the compactor: %d %s", code, body)
	}
	reqs := listDeletes(t, comp.URL)
	if len(reqs) != 1 || reqs[0].Status != "received" {
		t.Fatalf("compactor's delete requests = %+v, want one received", reqs)
	}

	for _, srv := range []*sluicetest.Server{rw, ro, q} {
		waitFor(t, 15*time.Second, "querier at "+srv.URL+" hides the deleted lines", func() bool {
			got, code := s3Query(t, srv.URL, `{app="s3"}`, start, now.UnixNano())
			return code == http.StatusOK && slices.Equal(got, plain)
		})
	}
	// The cached count was made before the delete: the new delete generation keys past it.
	if n := metricSum(t, rw.URL, countQuery, mFrom, mTo, step); n != 0 {
		t.Fatalf("secret lines counted after the delete = %v, want 0 (a stale cached result?)", n)
	}

	// The compactor loses its disk: the request comes back from the bucket.
	if err := comp.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(comp.Dir); err != nil {
		t.Fatal(err)
	}
	comp = sluicetest.Start(t, append(withTarget(cfg, "compactor"), sluicetest.WithDir(comp.Dir))...)
	after := listDeletes(t, comp.URL)
	if len(after) != 1 || after[0].RequestID != reqs[0].RequestID || after[0].Query != reqs[0].Query {
		t.Fatalf("delete requests after the compactor restarted on an empty disk = %+v, want %+v", after, reqs)
	}
	// It still takes changes: a cancellation reaches the queriers too.
	if code, body := send(t, http.MethodDelete, comp.URL+"/loki/api/v1/delete?request_id="+reqs[0].RequestID); code != http.StatusNoContent {
		t.Fatalf("cancel: %d %s", code, body)
	}
	waitFor(t, 15*time.Second, "read-only querier shows the lines again after the cancellation", func() bool {
		got, code := s3Query(t, ro.URL, `{app="s3"}`, start, now.UnixNano())
		return code == http.StatusOK && slices.Equal(got, all)
	})
}

// TestSplitTargetsDataDirectoryLock: a compactor process cannot share the data directory of a
// running write process.
func TestSplitTargetsDataDirectoryLock(t *testing.T) {
	s3srv := s3test.Start(t)
	cfg := s3srv.Config(s3srv.CreateBucket(t))
	w := sluicetest.Start(t, withTarget(cfg, "write")...)
	c, err := sluice.LoadConfig([]string{"-server.http-listen-address=127.0.0.1", "-server.http-listen-port=0",
		"-common.path-prefix=" + w.Dir, "-target=compactor", "-s3.buckets=" + cfg.BucketNames, "-s3.endpoint=" + cfg.Endpoint})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sluice.New(c, nil); err == nil || !strings.Contains(err.Error(), "in use by another sluice process") {
		t.Fatalf("compactor on the write process's data directory: %v, want refused", err)
	}
}

// TestSplitTargetsQuerierWaitsForDeleteRequests: a querier that cannot load the delete requests
// answers log queries 503 rather than show lines they may hide, and serves again once it can.
func TestSplitTargetsQuerierWaitsForDeleteRequests(t *testing.T) {
	s3srv := s3test.Start(t)
	cfg := s3srv.Config(s3srv.CreateBucket(t))
	client, err := s3.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	key := "index/" + deletion.ObjectName
	if err := client.Put(context.Background(), key, strings.NewReader(`{"version":1,"requests":[`)); err != nil {
		t.Fatal(err)
	}
	ro := sluicetest.Start(t, withTarget(cfg, "read")...)
	now := time.Now().UnixNano()
	code, body := send(t, http.MethodGet, ro.URL+"/loki/api/v1/query_range?"+url.Values{
		"query": {`{app="s3"}`}, "start": {strconv.FormatInt(now-int64(time.Hour), 10)}, "end": {strconv.FormatInt(now, 10)}}.Encode())
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "delete requests not loaded") {
		t.Fatalf("log query before the delete requests loaded = %d %q, want 503", code, body)
	}
	if err := client.Put(context.Background(), key, strings.NewReader(`{"version":1,"requests":[]}`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "log queries answer once the delete requests load", func() bool {
		_, code := s3Query(t, ro.URL, `{app="s3"}`, now-int64(time.Hour), now)
		return code == http.StatusOK
	})
}

// TestSplitTargetsCompactorAppliesDeletes: a standalone compactor applies a delete request to
// what a write process shipped, as the single binary does with S3: it rewrites the chunk
// without the deleted lines, ships the rewritten chunk's index entry, merges the day's tables
// and sweeps the old chunk. A querier that no longer knows the request still does not see the
// lines.
func TestSplitTargetsCompactorAppliesDeletes(t *testing.T) {
	s3srv := s3test.Start(t)
	cfg := s3srv.Config(s3srv.CreateBucket(t))
	w := sluicetest.Start(t, withTarget(cfg, "write")...)
	now := time.Now()
	start := now.Add(-3 * time.Hour).UnixNano()
	s3Push(t, w.URL, []string{"a"}, start, int64(time.Minute), 20, "secret")
	plain := s3Push(t, w.URL, []string{"a", "b"}, start+int64(time.Second), int64(time.Minute), 100, "plain")
	s3Flush(t, w.URL)
	if err := w.Stop(); err != nil { // ships the index tables
		t.Fatal(err)
	}
	before := bucketKeys(t, cfg, "chunks/")
	if len(before) != 2 {
		t.Fatalf("chunks = %v, want one per stream", before)
	}

	comp := sluicetest.Start(t, append(withTarget(cfg, "compactor"), sluicetest.WithConfig(func(c *sluice.Config) {
		c.Compactor.RetentionEnabled = true
		c.Compactor.DeleteRequestCancelPeriod = 0
		c.Compactor.RetentionDeleteDelay = 0
		c.Compactor.CompactionInterval = flagext.Duration(200 * time.Millisecond)
	}))...)
	v := url.Values{"query": {`{app="s3", stream="a"} |= "secret"`},
		"start": {strconv.FormatInt(now.Add(-4*time.Hour).Unix(), 10)}, "end": {strconv.FormatInt(now.Add(-time.Minute).Unix(), 10)}}
	if code, body := send(t, http.MethodPost, comp.URL+"/loki/api/v1/delete?"+v.Encode()); code != http.StatusNoContent {
		t.Fatalf("delete request: %d %s", code, body)
	}
	waitFor(t, 30*time.Second, "the compactor processes the request", func() bool {
		reqs := listDeletes(t, comp.URL)
		return len(reqs) == 1 && reqs[0].Status == "processed"
	})
	waitFor(t, 30*time.Second, "the old chunk of stream a is swept", func() bool {
		keys := bucketKeys(t, cfg, "chunks/")
		kept := 0
		for _, k := range before {
			if slices.Contains(keys, k) {
				kept++
			}
		}
		return len(keys) == 2 && kept == 1 // b's chunk, and a's rewritten one
	})
	// Forget the request everywhere, so that no querier filters: the lines are gone from storage.
	if err := comp.Stop(); err != nil { // ships the rewritten chunk's index entry
		t.Fatal(err)
	}
	client, err := s3.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Delete(context.Background(), "index/"+deletion.ObjectName); err != nil {
		t.Fatal(err)
	}
	ro := sluicetest.Start(t, withTarget(cfg, "read")...)
	got, code := s3Query(t, ro.URL, `{app="s3"}`, start, now.UnixNano())
	if code != http.StatusOK {
		t.Fatalf("query: %d", code)
	}
	sameLines(t, "after the compactor applied the delete", got, plain)
}
