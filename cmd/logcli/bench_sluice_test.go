package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/sluice"
	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
)

// BenchmarkQueryMillionLinesSluice is BenchmarkQueryMillionLines against the real Sluice server:
// one million lines over 10 streams, about 100 bytes each, runs of 3 lines sharing a timestamp,
// pushed as Loki JSON; then logcli downloads them all with --limit=0 in --batch pages, running
// as a child process so that its peak RSS is its own. The push is not timed.
//
//	go test ./cmd/logcli -run '^$' -bench MillionLinesSluice -benchtime 1x
func BenchmarkQueryMillionLinesSluice(b *testing.B) {
	const n = 1_000_000
	srv := sluicetest.Start(b, sluicetest.WithConfig(func(c *sluice.Config) {
		c.Limits.IngestionRateMB = 1 << 10
		c.Limits.IngestionBurstSizeMB = 1 << 10
		c.Limits.PerStreamRateLimit = 1 << 30
		c.Limits.PerStreamRateLimitBurst = 1 << 30
	}))
	start := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	pushMillion(b, srv.URL, start, n)
	for _, batch := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			benchDownload(b, srv.URL, n, batch, start.Add(-time.Minute), start.Add(time.Hour), `{app="bench"}`)
		})
	}
}

// pushMillion pushes n lines in requests of 50,000, each spread over 10 streams.
func pushMillion(b *testing.B, url string, start time.Time, n int) {
	const per = 50_000
	type stream struct {
		Stream map[string]string `json:"stream"`
		Values [][2]string       `json:"values"`
	}
	began := time.Now()
	for first := 0; first < n; first += per {
		streams := make([]stream, 10)
		for i := range streams {
			streams[i].Stream = map[string]string{"app": "bench", "pod": fmt.Sprintf("pod-%d", i)}
		}
		for i := first; i < min(first+per, n); i++ {
			s := &streams[i%len(streams)]
			ts := start.UnixNano() + int64(i/3)*1000
			s.Values = append(s.Values, [2]string{strconv.FormatInt(ts, 10),
				fmt.Sprintf("ts=%d level=info caller=bench.go:42 msg=\"request served\" path=/api/v1/items/%07d status=200", i, i)})
		}
		body, err := json.Marshal(map[string]any{"streams": streams})
		if err != nil {
			b.Fatal(err)
		}
		resp, err := http.Post(url+"/loki/api/v1/push", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		var msg bytes.Buffer
		msg.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			b.Fatalf("push: %s: %s", resp.Status, msg.String())
		}
	}
	b.Logf("pushed %d lines in %s", n, time.Since(began).Round(time.Millisecond))
}
