package logcli_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/logcli"
	"github.com/sluicelog/sluice/pkg/logcli/logclitest"
)

// page builds a query_range response of n entries over 10 streams.
func page(n int) []byte {
	type stream struct {
		Stream map[string]string `json:"stream"`
		Values [][2]string       `json:"values"`
	}
	streams := make([]stream, 10)
	for i := range streams {
		streams[i].Stream = map[string]string{"app": "bench", "pod": fmt.Sprintf("pod-%d", i)}
	}
	for i := range n {
		s := &streams[i%10]
		s.Values = append(s.Values, [2]string{fmt.Sprint(base.UnixNano() + int64(i)), fmt.Sprintf("level=info msg=\"request served\" path=/api/v1/items/%07d status=200", i)})
	}
	b, _ := json.Marshal(map[string]any{"status": "success", "data": map[string]any{"resultType": "streams", "result": streams}})
	return b
}

func BenchmarkDecodeQueryResponse(b *testing.B) {
	body := page(1000)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var r logcli.QueryResponse
		if err := r.UnmarshalJSON(body); err != nil {
			b.Fatal(err)
		}
		if _, err := r.Data.Streams(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDownload pages through 100k lines from the test server in batches of 1000, printing
// them in default format to io.Discard (client and server in one process).
func BenchmarkDownload(b *testing.B) {
	const n = 100_000
	srv := logclitest.Start(b)
	entries := make([]logclitest.Entry, n)
	for i := range entries {
		entries[i] = logclitest.Entry{
			Labels:    map[string]string{"app": "bench", "pod": fmt.Sprintf("pod-%d", i%10)},
			Timestamp: base.UnixNano() + int64(i/3),
			Line:      fmt.Sprintf("level=info msg=\"request served\" path=/api/v1/items/%07d status=200", i),
		}
	}
	srv.Add(entries...)
	c := newClient(b, srv.URL)
	out, _ := logcli.NewLogOutput("default", logcli.OutputOptions{Timezone: time.UTC})
	b.ReportAllocs()
	for b.Loop() {
		cw := &countWriter{}
		w := bufio.NewWriter(cw)
		p := &logcli.Printer{Stdout: w, Log: log.New(io.Discard, "", 0), Output: out}
		q := &logcli.Query{QueryString: `{}`, Start: base, End: base.Add(time.Hour), Limit: 0, BatchSize: 1000, Quiet: true}
		if err := q.DoQuery(ctx(b), c, p); err != nil {
			b.Fatal(err)
		}
		w.Flush()
		b.SetBytes(cw.n)
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "lines/s")
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }
