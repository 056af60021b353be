package sluice_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/push"
	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
	"github.com/sluicelog/sluice/pkg/storage/s3"
	"github.com/sluicelog/sluice/pkg/storage/s3/s3test"
)

// s3Lines pushes n lines in each of streams app=s3,stream=<name>, spaced step apart from start,
// and returns them as "stream ts line", sorted.
func s3Push(t testing.TB, base string, streams []string, start, step int64, n int, tag string) []string {
	t.Helper()
	req := &logproto.PushRequest{}
	var want []string
	for _, name := range streams {
		st := logproto.Stream{Labels: fmt.Sprintf(`{app="s3", stream=%q}`, name)}
		for i := 0; i < n; i++ {
			ts := start + int64(i)*step
			line := fmt.Sprintf("%s line %d of %s", tag, i, name)
			st.Entries = append(st.Entries, logproto.Entry{Timestamp: ts, Line: line})
			want = append(want, fmt.Sprintf("%s %d %s", name, ts, line))
		}
		req.Streams = append(req.Streams, st)
	}
	pushProto(t, base, req)
	sort.Strings(want)
	return want
}

// pushProto pushes req to base as protobuf and fails the test unless it is accepted (204).
func pushProto(t testing.TB, base string, req *logproto.PushRequest) {
	t.Helper()
	resp, err := http.Post(base+"/loki/api/v1/push", push.ContentTypeProto, bytes.NewReader(push.Encode(req)))
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("push: %d %s", resp.StatusCode, body)
	}
}

// s3Query returns every line of query over [from, to) as "stream ts line", sorted, and the
// response's status code.
func s3Query(t testing.TB, base, query string, from, to int64) ([]string, int) {
	t.Helper()
	v := url.Values{"query": {query}, "start": {strconv.FormatInt(from, 10)}, "end": {strconv.FormatInt(to, 10)},
		"limit": {"5000"}, "direction": {"forward"}}
	resp, err := http.Get(base + "/loki/api/v1/query_range?" + v.Encode())
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Logf("query %s: %d %s", query, resp.StatusCode, body)
		return nil, resp.StatusCode
	}
	var qr struct {
		Data struct {
			Result []struct {
				Stream map[string]string `json:"stream"`
				Values [][]string        `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &qr); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	var out []string
	for _, s := range qr.Data.Result {
		for _, val := range s.Values {
			out = append(out, s.Stream["stream"]+" "+val[0]+" "+val[1])
		}
	}
	sort.Strings(out)
	return out, resp.StatusCode
}

func s3Flush(t testing.TB, base string) {
	t.Helper()
	resp, err := http.Post(base+"/flush", "", nil)
	if err != nil {
		t.Fatalf("flush: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("flush: %d %s", resp.StatusCode, body)
	}
}

// metricValue returns the value of the unlabelled metric name on the server's /metrics.
func metricValue(t testing.TB, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", l, err)
			}
			return f
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

func sameLines(t testing.TB, stage string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d lines, want %d", stage, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: line %d = %q, want %q", stage, i, got[i], want[i])
		}
	}
}

func restartEmpty(t *testing.T, srv *sluicetest.Server, cfg s3.Config) *sluicetest.Server {
	t.Helper()
	if err := srv.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := os.RemoveAll(srv.Dir); err != nil {
		t.Fatal(err)
	}
	return sluicetest.Start(t, sluicetest.WithDir(srv.Dir), sluicetest.WithS3(cfg))
}

func bucketKeys(t testing.TB, cfg s3.Config, prefix string) []string {
	t.Helper()
	c, err := s3.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := c.List(context.Background(), prefix)
	if err != nil {
		t.Fatalf("list %s: %v", prefix, err)
	}
	return keys
}

// TestS3EmptyDiskRestart: everything flushed to S3 comes back on a node whose data directory
// was wiped, across two days' tables, and a second life of the node that writes to the same
// day's table does not drop what the first life shipped.
func TestS3EmptyDiskRestart(t *testing.T) {
	s3srv := s3test.Start(t)
	cfg := s3srv.Config(s3srv.CreateBucket(t))
	srv := sluicetest.Start(t, sluicetest.WithS3(cfg))

	now := time.Now().UnixNano()
	// 1,000 lines a minute apart (16h40m) starting 8h before a midnight, so that they fall
	// in two day tables whatever the time of day; the midnight is today's if that leaves the
	// last line in the past, else yesterday's.
	midnight := time.Unix(0, now).UTC().Truncate(24 * time.Hour).UnixNano()
	if now-midnight < 9*int64(time.Hour) {
		midnight -= 24 * int64(time.Hour)
	}
	start := midnight - 8*int64(time.Hour)
	want := s3Push(t, srv.URL, []string{"a", "b", "c"}, start, int64(time.Minute), 1000, "first")
	s3Flush(t, srv.URL)
	got, code := s3Query(t, srv.URL, `{app="s3"}`, start, now)
	if code != http.StatusOK {
		t.Fatalf("query before restart: %d", code)
	}
	sameLines(t, "before restart", got, want)

	srv = restartEmpty(t, srv, cfg)
	if keys := bucketKeys(t, cfg, "index/"); len(keys) < 2 {
		t.Fatalf("bucket index keys = %v, want a table per day", keys)
	}
	got, code = s3Query(t, srv.URL, `{app="s3"}`, start, now)
	if code != http.StatusOK {
		t.Fatalf("query after restart: %d", code)
	}
	sameLines(t, "after restart on an empty disk", got, want)
	filtered, _ := s3Query(t, srv.URL, `{app="s3", stream="b"} |= "line 99 "`, start, now)
	if len(filtered) != 1 || !strings.HasSuffix(filtered[0], "first line 99 of b") {
		t.Fatalf("filtered query = %v", filtered)
	}

	// The second life writes to today's table under the same ingester name.
	more := s3Push(t, srv.URL, []string{"a", "d"}, now-int64(time.Minute), int64(time.Millisecond), 100, "second")
	s3Flush(t, srv.URL)
	want = append(want, more...)
	sort.Strings(want)
	srv = restartEmpty(t, srv, cfg)
	got, code = s3Query(t, srv.URL, `{app="s3"}`, start, time.Now().UnixNano())
	if code != http.StatusOK {
		t.Fatalf("query after second restart: %d", code)
	}
	sameLines(t, "after the second restart on an empty disk", got, want)
}

// TestS3Outage: while the bucket is down, pushes are still accepted and queryable from memory;
// a flush retries until the bucket is back, and then everything is in the bucket.
func TestS3Outage(t *testing.T) {
	s3srv := s3test.Start(t)
	cfg := s3srv.Config(s3srv.CreateBucket(t))
	srv := sluicetest.Start(t, sluicetest.WithS3(cfg))

	now := time.Now().UnixNano()
	start := now - int64(time.Hour)
	want := s3Push(t, srv.URL, []string{"a", "b"}, start, int64(time.Second), 500, "before")
	s3Flush(t, srv.URL)

	s3srv.Stop(t)
	down := true
	// Should the test fail during the outage, bring the bucket back before the server's cleanup
	// stops it: a stop waits for running flushes, which wait for the bucket.
	t.Cleanup(func() {
		if down {
			s3srv.Restart(t)
		}
	})
	mid := now - int64(10*time.Minute)
	during := s3Push(t, srv.URL, []string{"a", "c"}, mid, int64(time.Millisecond), 500, "during")
	got, code := s3Query(t, srv.URL, `{app="s3"}`, mid, now)
	if code != http.StatusOK {
		t.Fatalf("query of unflushed lines during the outage: %d", code)
	}
	sameLines(t, "unflushed lines during the outage", got, during)

	flushed := make(chan error, 1)
	go func() { // the flush retries until the bucket is back
		resp, err := http.Post(srv.URL+"/flush", "", nil)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				err = fmt.Errorf("flush: status %d", resp.StatusCode)
			}
		}
		flushed <- err
	}()
	time.Sleep(1500 * time.Millisecond)
	select {
	case <-flushed:
		t.Fatal("flush finished while the bucket was down")
	default:
	}
	s3srv.Restart(t)
	down = false
	select {
	case err := <-flushed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("flush did not finish within 60s of the bucket coming back")
	}

	if n := metricValue(t, srv.URL, "loki_ingester_chunks_flush_failures_total"); n < 1 {
		t.Errorf("loki_ingester_chunks_flush_failures_total = %v, want the flushes during the outage counted", n)
	}
	want = append(want, during...)
	sort.Strings(want)
	got, code = s3Query(t, srv.URL, `{app="s3"}`, start, now+1)
	if code != http.StatusOK {
		t.Fatalf("query after the outage: %d", code)
	}
	sameLines(t, "after the outage", got, want)

	srv = restartEmpty(t, srv, cfg)
	got, code = s3Query(t, srv.URL, `{app="s3"}`, start, now+1)
	if code != http.StatusOK {
		t.Fatalf("query from the bucket: %d", code)
	}
	sameLines(t, "from the bucket after the outage", got, want)
}

// TestS3Corruption: a damaged chunk or index table in the bucket is skipped and counted; the
// query still answers.
func TestS3Corruption(t *testing.T) {
	s3srv := s3test.Start(t)
	cfg := s3srv.Config(s3srv.CreateBucket(t))
	srv := sluicetest.Start(t, sluicetest.WithS3(cfg))
	now := time.Now().UnixNano()
	start := now - int64(time.Hour)
	want := s3Push(t, srv.URL, []string{"a", "b"}, start, int64(time.Second), 200, "x")
	s3Flush(t, srv.URL)
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}

	client, err := s3.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	damage := func(key string, fn func([]byte) []byte) {
		t.Helper()
		rc, err := client.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := client.Put(ctx, key, bytes.NewReader(fn(b))); err != nil {
			t.Fatal(err)
		}
	}
	chunks := bucketKeys(t, cfg, "chunks/")
	if len(chunks) != 2 {
		t.Fatalf("chunks in bucket = %v, want 2", chunks)
	}
	damage(chunks[0], func(b []byte) []byte { b[len(b)/2] ^= 0x55; return b })

	srv = restartEmpty(t, srv, cfg)
	got, code := s3Query(t, srv.URL, `{app="s3"}`, start, now)
	if code != http.StatusOK {
		t.Fatalf("query with a corrupt chunk: %d", code)
	}
	if len(got) != len(want)/2 {
		t.Fatalf("query with a corrupt chunk returned %d lines, want the %d of the intact stream", len(got), len(want)/2)
	}
	if n := metricValue(t, srv.URL, "sluice_store_corrupt_chunks_total"); n < 1 {
		t.Fatalf("sluice_store_corrupt_chunks_total = %v, want >= 1", n)
	}

	indexKeys := bucketKeys(t, cfg, "index/")
	if len(indexKeys) != 1 {
		t.Fatalf("index keys = %v, want 1", indexKeys)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	damage(indexKeys[0], func(b []byte) []byte {
		for i := 4096 * 2; i < len(b); i += 3 {
			b[i] ^= 0xff
		}
		return b
	})
	srv = restartEmpty(t, srv, cfg)
	got, code = s3Query(t, srv.URL, `{app="s3"}`, start, now)
	if code != http.StatusOK {
		t.Fatalf("query with a corrupt index table: %d", code)
	}
	if len(got) != 0 {
		t.Fatalf("query with the only index table corrupt returned %d lines", len(got))
	}
	if n := metricValue(t, srv.URL, "sluice_shipper_corrupt_tables_total"); n < 1 {
		t.Fatalf("sluice_shipper_corrupt_tables_total = %v, want >= 1", n)
	}
}
