package sluice_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/ingester"
	"github.com/sluicelog/sluice/pkg/sluice"
	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
)

// TestRetainedChunksReturnedOnce: in one process given a chunk_retain_period, a flushed chunk is
// both in the ingester's memory and in the index the querier reads as it is written. Each of its
// lines comes once, in both directions and in metric queries, and index stats count it once.
func TestRetainedChunksReturnedOnce(t *testing.T) {
	srv := sluicetest.Start(t, sluicetest.WithConfig(func(c *sluice.Config) {
		c.Ingester.ChunkRetainPeriod = ingester.RetainFor(time.Hour)
	}))
	start := time.Now().Add(-10 * time.Minute).UnixNano()
	all := s3Push(t, srv.URL, []string{"a", "b"}, start, int64(time.Second), 30, "retained")
	s3Flush(t, srv.URL)
	if n := metricValue(t, srv.URL, "loki_ingester_chunks_flushed_total"); n != 2 {
		t.Fatalf("loki_ingester_chunks_flushed_total = %v, want 2", n)
	}
	if n := metricValue(t, srv.URL, "loki_ingester_memory_chunks"); n != 2 {
		t.Fatalf("loki_ingester_memory_chunks = %v after the flush, want the 2 flushed chunks retained", n)
	}
	from, to := start-int64(time.Minute), time.Now().Add(time.Minute).UnixNano()
	got, code := s3Query(t, srv.URL, `{app="s3"}`, from, to)
	if code != http.StatusOK {
		t.Fatalf("log query: %d", code)
	}
	sameLines(t, "forward", got, all)
	backward, streams := queryOrder(t, srv.URL, `{app="s3", stream="b"}`, from, to, "backward", 1000)
	if streams != 1 || len(backward) != 30 || backward[0] != "retained line 29 of b" || backward[29] != "retained line 0 of b" {
		t.Fatalf("backward: %d streams, lines %q; want one stream of 30 lines, the last first", streams, backward)
	}
	if n := instantValue(t, srv.URL, `sum(count_over_time({app="s3"}[1h]))`, time.Now()); n != float64(len(all)) {
		t.Fatalf("count_over_time = %v, want %d", n, len(all))
	}
	code, body := send(t, http.MethodGet, srv.URL+"/loki/api/v1/index/stats?"+url.Values{"query": {`{app="s3"}`},
		"start": {strconv.FormatInt(from, 10)}, "end": {strconv.FormatInt(to, 10)}}.Encode())
	var st struct{ Streams, Chunks, Entries int }
	if code != http.StatusOK || json.Unmarshal([]byte(body), &st) != nil {
		t.Fatalf("index stats: %d %s", code, body)
	}
	if st.Streams != 2 || st.Chunks != 2 || st.Entries != len(all) {
		t.Fatalf("index stats = %+v, want 2 streams, 2 chunks, %d entries (a retained chunk counted once)", st, len(all))
	}
}

// TestAllTargetRetainsNothing: a single process not given chunk_retain_period keeps no flushed
// chunk (its querier reads the index as it is written), and /config says so.
func TestAllTargetRetainsNothing(t *testing.T) {
	srv := sluicetest.Start(t)
	start := time.Now().Add(-10 * time.Minute).UnixNano()
	all := s3Push(t, srv.URL, []string{"a"}, start, int64(time.Second), 10, "line")
	s3Flush(t, srv.URL)
	if n := metricValue(t, srv.URL, "loki_ingester_memory_chunks"); n != 0 {
		t.Fatalf("loki_ingester_memory_chunks = %v after the flush, want 0", n)
	}
	got, code := s3Query(t, srv.URL, `{app="s3"}`, start-int64(time.Minute), time.Now().UnixNano())
	if code != http.StatusOK {
		t.Fatalf("log query: %d", code)
	}
	sameLines(t, "from the store", got, all)
	if code, body := send(t, http.MethodGet, srv.URL+"/config"); code != http.StatusOK || !strings.Contains(body, "chunk_retain_period: 0s\n") {
		t.Fatalf("/config = %d, want chunk_retain_period: 0s in\n%s", code, body)
	}
}
