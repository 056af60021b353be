package sluice_test

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
)

// TestCountsWithoutLines: count_over_time and rate read no line, so the store decompresses only
// the other columns of flushed chunks older than what the ingester holds. The counts must be
// those of a query that reads every line: entries that share a timestamp are counted apart
// (the store cannot tell them apart without their lines, and must not try), and the lines the
// ingester holds are counted once. Less is decoded than for the query reading lines.
func TestCountsWithoutLines(t *testing.T) {
	srv := sluicetest.Start(t)
	at := time.Now().Add(-40 * time.Minute).Truncate(time.Second).UnixNano()
	n := len(s3Push(t, srv.URL, []string{"a", "b"}, at, 0, 30, "same instant"))
	n += len(s3Push(t, srv.URL, []string{"a", "b"}, at+int64(time.Second), int64(time.Second), 100, "one a second"))
	s3Flush(t, srv.URL)
	n += len(s3Push(t, srv.URL, []string{"a", "b"}, at+int64(5*time.Minute), int64(time.Second), 100, "flushed later"))
	s3Flush(t, srv.URL)
	n += len(s3Push(t, srv.URL, []string{"a"}, at+int64(10*time.Minute), int64(time.Second), 20, "in memory"))
	// Older than the last chunk flushed: from here on the store's entries keep their lines.
	n += len(s3Push(t, srv.URL, []string{"b"}, at+int64(5*time.Minute+50*time.Second), int64(time.Second), 5, "late, in memory"))

	type result struct {
		Result []struct {
			Value [2]any `json:"value"`
		} `json:"result"`
		Stats struct {
			Summary struct {
				TotalBytesProcessed int64 `json:"totalBytesProcessed"`
			} `json:"summary"`
		} `json:"stats"`
	}
	query := func(q string) (float64, int64) {
		var r result
		getJSON(t, srv.URL, "/loki/api/v1/query", url.Values{"query": {q}, "time": {strconv.FormatInt(time.Now().UnixNano(), 10)}}, &r)
		if len(r.Result) != 1 {
			t.Fatalf("%s: %d samples, want 1", q, len(r.Result))
		}
		v, err := strconv.ParseFloat(r.Result[0].Value[1].(string), 64)
		if err != nil {
			t.Fatal(err)
		}
		return v, r.Stats.Summary.TotalBytesProcessed
	}
	withLines, readAll := query(`sum(count_over_time({app="s3"} |= "line" [1h]))`)
	count, readCount := query(`sum(count_over_time({app="s3"}[1h]))`)
	if withLines != float64(n) || count != float64(n) {
		t.Fatalf("count_over_time = %v without reading lines, %v reading them; want %d", count, withLines, n)
	}
	t.Logf("decoded %d bytes counting, %d reading lines", readCount, readAll)
	if readCount*3 > readAll*2 {
		t.Errorf("counting decoded %d bytes, reading the lines %d: want under two thirds", readCount, readAll)
	}
	if rate, _ := query(`sum(rate({app="s3"}[1h]))`); rate*3600 < float64(n)-0.001 || rate*3600 > float64(n)+0.001 {
		t.Errorf("rate = %v, want %d lines an hour", rate, n)
	}
}

// TestCountsExactWhileFlushing counts a stream while it is being pushed and flushed over and
// over: each chunk moves from the ingester to the store while queries run, which without lines
// cannot tell a duplicate from a distinct entry. Every count must lie between the lines
// acknowledged before the query and the lines sent by its end: never one counted twice, never
// one lost.
func TestCountsExactWhileFlushing(t *testing.T) {
	srv := sluicetest.Start(t)
	start := time.Now().Add(-30 * time.Minute).UnixNano()
	const batches, perBatch = 40, 50
	var sent, acked atomic.Int64
	pushed := make(chan struct{})
	go func() {
		defer close(pushed)
		for b := range batches {
			sent.Add(2 * perBatch)
			s3Push(t, srv.URL, []string{"a", "b"}, start+int64(b*perBatch)*int64(time.Millisecond), int64(time.Millisecond), perBatch, fmt.Sprint("batch ", b))
			acked.Add(2 * perBatch)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	flushing := make(chan struct{})
	go func() {
		defer close(flushing)
		for {
			select {
			case <-pushed:
				return
			default:
			}
			s3Flush(t, srv.URL)
			time.Sleep(3 * time.Millisecond)
		}
	}()
	queries := 0
	for done := false; !done; queries++ {
		select {
		case <-pushed:
			done = true
		default:
		}
		lo := acked.Load()
		n := countOrZero(t, srv.URL, `sum(count_over_time({app="s3"}[1h]))`)
		if hi := sent.Load(); n < float64(lo) || n > float64(hi) {
			t.Errorf("query %d counted %v lines: %d were acknowledged before it, %d sent by its end", queries, n, lo, hi)
			break
		}
	}
	<-flushing
	if t.Failed() {
		return
	}
	if n := instantValue(t, srv.URL, `sum(count_over_time({app="s3"}[1h]))`, time.Now()); n != 2*batches*perBatch {
		t.Fatalf("counted %v lines at the end, want %d", n, 2*batches*perBatch)
	}
	t.Logf("%d queries while pushing and flushing", queries)
}

// countOrZero is instantValue of a sum that may have nothing to add up yet.
func countOrZero(t *testing.T, base, query string) float64 {
	t.Helper()
	var data struct {
		Result []struct {
			Value [2]any `json:"value"`
		} `json:"result"`
	}
	getJSON(t, base, "/loki/api/v1/query", url.Values{"query": {query}, "time": {strconv.FormatInt(time.Now().UnixNano(), 10)}}, &data)
	if len(data.Result) == 0 {
		return 0
	}
	f, err := strconv.ParseFloat(data.Result[0].Value[1].(string), 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestResentAfterFlushCountedOnce: a client resends lines the server had already flushed (its
// first push timed out on the client's side, say). The ingester takes them again into a new
// chunk; queries, counting ones too, return each line once, as Loki's do.
func TestResentAfterFlushCountedOnce(t *testing.T) {
	srv := sluicetest.Start(t)
	at := time.Now().Add(-20 * time.Minute).Truncate(time.Second).UnixNano()
	all := s3Push(t, srv.URL, []string{"a", "b"}, at, int64(time.Second), 50, "resent")
	s3Flush(t, srv.URL)
	s3Push(t, srv.URL, []string{"a"}, at, int64(time.Second), 50, "resent") // in memory again
	all = append(all, s3Push(t, srv.URL, []string{"a", "b"}, at+int64(time.Minute), int64(time.Second), 10, "newer")...)
	for _, q := range []string{`sum(count_over_time({app="s3"}[1h]))`, `sum(count_over_time({app="s3"} |= "line" [1h]))`} {
		if n := countOrZero(t, srv.URL, q); n != float64(len(all)) {
			t.Errorf("%s = %v, want %d", q, n, len(all))
		}
	}
	got, code := s3Query(t, srv.URL, `{app="s3"}`, at-int64(time.Minute), time.Now().UnixNano())
	if code != 200 {
		t.Fatalf("log query: %d", code)
	}
	sort.Strings(got)
	sort.Strings(all)
	sameLines(t, "log query", got, all)
}
