package sluice_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/push"
	"github.com/sluicelog/sluice/pkg/sluice"
	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
	"github.com/sluicelog/sluice/pkg/storage/s3/s3test"
)

// BenchmarkStorageBackends pushes 200k lines, flushes them, restarts the server (on an empty
// disk with S3, on the same disk with the filesystem) and runs a query that scans every chunk
// twice: cold, then with the chunk cache warm. Run it with -benchtime=1x; it reports each
// phase's seconds.
func BenchmarkStorageBackends(b *testing.B) {
	for _, backend := range []string{"filesystem", "s3"} {
		b.Run(backend, func(b *testing.B) {
			for b.Loop() {
				benchBackend(b, backend)
			}
		})
	}
}

func benchBackend(b *testing.B, backend string) {
	const streams, perStream, batch = 20, 10_000, 1_000
	opts := []sluicetest.Option{func(c *sluice.Config) {
		c.Limits.IngestionRateMB, c.Limits.IngestionBurstSizeMB = 1000, 1000
		c.Limits.PerStreamRateLimit, c.Limits.PerStreamRateLimitBurst = 1<<30, 1<<30
	}}
	if backend == "s3" {
		s3srv := s3test.Start(b)
		opts = append(opts, sluicetest.WithS3(s3srv.Config(s3srv.CreateBucket(b))))
	}
	srv := sluicetest.Start(b, opts...)
	start := time.Now().Add(-time.Hour).UnixNano()
	step := int64(time.Hour) / perStream

	t0 := time.Now()
	var bytesIn int
	for off := 0; off < perStream; off += batch {
		req := &logproto.PushRequest{}
		for s := range streams {
			st := logproto.Stream{Labels: fmt.Sprintf(`{app="bench", pod="pod-%02d"}`, s)}
			for i := off; i < off+batch; i++ {
				line := fmt.Sprintf(`ts=%d level=info caller=handler.go:%d msg="served request" pod=pod-%02d seq=%d duration_ms=%d`, start+int64(i)*step, i%300, s, i, i%977)
				bytesIn += len(line)
				st.Entries = append(st.Entries, logproto.Entry{Timestamp: start + int64(i)*step, Line: line})
			}
			req.Streams = append(req.Streams, st)
		}
		resp, err := http.Post(srv.URL+"/loki/api/v1/push", push.ContentTypeProto, bytes.NewReader(push.Encode(req)))
		if err != nil || resp.StatusCode != http.StatusNoContent {
			b.Fatalf("push: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	pushTime := time.Since(t0)

	t0 = time.Now()
	s3Flush(b, srv.URL)
	flushTime := time.Since(t0)

	t0 = time.Now()
	if err := srv.Stop(); err != nil {
		b.Fatal(err)
	}
	stopTime := time.Since(t0)
	if backend == "s3" {
		if err := os.RemoveAll(srv.Dir); err != nil {
			b.Fatal(err)
		}
	}
	srv = sluicetest.Start(b, append(opts, sluicetest.WithDir(srv.Dir))...)

	// A needle in every chunk's haystack: the filter matches 20 lines, one per stream.
	query := `{app="bench"} |= "seq=4321 "`
	end := time.Now().UnixNano()
	t0 = time.Now()
	got, code := s3Query(b, srv.URL, query, start, end)
	cold := time.Since(t0)
	if code != http.StatusOK || len(got) != streams {
		b.Fatalf("cold query: %d, %d lines, want %d", code, len(got), streams)
	}
	t0 = time.Now()
	got, code = s3Query(b, srv.URL, query, start, end)
	warm := time.Since(t0)
	if code != http.StatusOK || len(got) != streams {
		b.Fatalf("cached query: %d, %d lines", code, len(got))
	}
	b.ReportMetric(metricValue(b, srv.URL, "sluice_chunk_cache_hits_total"), "cache-hits")
	b.ReportMetric(pushTime.Seconds(), "push-s")
	b.ReportMetric(flushTime.Seconds(), "flush-s")
	b.ReportMetric(stopTime.Seconds(), "stop-s")
	b.ReportMetric(cold.Seconds(), "cold-query-s")
	b.ReportMetric(warm.Seconds(), "cached-query-s")
	b.ReportMetric(float64(bytesIn)/1e6, "MB-in")
	if err := srv.Stop(); err != nil {
		b.Fatal(err)
	}
}
