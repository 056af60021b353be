package logql

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/logproto"
)

// benchData is 20 streams of 5000 json lines each, one per 100ms per stream (100 000 lines,
// about 14 MB), 1% of them containing "timeout".
func benchData(tb testing.TB) (*Engine, int64, int64) {
	tb.Helper()
	benchOnce.Do(func() { benchEng, benchTotal, benchEnd, benchErr = makeBenchData(false) })
	if benchErr != nil {
		tb.Fatal(benchErr)
	}
	return benchEng, benchTotal, benchEnd
}

// logfmtBenchData is benchData with the same fields written as logfmt.
func logfmtBenchData(tb testing.TB) (*Engine, int64, int64) {
	tb.Helper()
	logfmtOnce.Do(func() { logfmtEng, logfmtTotal, logfmtEnd, logfmtErr = makeBenchData(true) })
	if logfmtErr != nil {
		tb.Fatal(logfmtErr)
	}
	return logfmtEng, logfmtTotal, logfmtEnd
}

// The bench data set is built once per test binary: building it costs more than most tests.
var (
	benchOnce  sync.Once
	benchEng   *Engine
	benchTotal int64
	benchEnd   int64
	benchErr   error

	logfmtOnce  sync.Once
	logfmtEng   *Engine
	logfmtTotal int64
	logfmtEnd   int64
	logfmtErr   error
)

func makeBenchData(logfmt bool) (*Engine, int64, int64, error) {
	var streams []logproto.Stream
	var total int64
	levels := []string{"info", "info", "info", "warn", "error"}
	for s := 0; s < 20; s++ {
		st := logproto.Stream{Labels: fmt.Sprintf(`{app="bench", pod="pod-%d", ns="ns-%d"}`, s, s%4)}
		for i := 0; i < 5000; i++ {
			msg := "request served"
			if i%100 == 7 {
				msg = "upstream timeout"
			}
			status := 200
			if i%10 == 3 {
				status = 503
			}
			line := fmt.Sprintf(`{"ts":"2024-01-01T00:00:%02d.%03dZ","level":"%s","status":%d,"path":"/api/v1/items/%d","took":"%dms","msg":"%s","user":"user-%d"}`,
				i/10%60, i%10*100, levels[i%5], status, i%97, i%250, msg, i%13)
			if logfmt {
				line = fmt.Sprintf(`ts=2024-01-01T00:00:%02d.%03dZ level=%s status=%d path=/api/v1/items/%d took=%dms msg="%s" user=user-%d`,
					i/10%60, i%10*100, levels[i%5], status, i%97, i%250, msg, i%13)
			}
			st.Entries = append(st.Entries, logproto.Entry{Timestamp: t0 + int64(i)*int64(100*time.Millisecond), Line: line})
			total += int64(len(line))
		}
		streams = append(streams, st)
	}
	q, err := NewMemQuerier(streams)
	if err != nil {
		return nil, 0, 0, err
	}
	return NewEngine(q, Options{}), total, t0 + 5000*int64(100*time.Millisecond), nil
}

func runBench(b *testing.B, p Params) {
	eng, total, end := benchData(b)
	runBenchOn(b, eng, total, end, p)
}

func runBenchOn(b *testing.B, eng *Engine, total, end int64, p Params) {
	if p.End == 0 {
		p.Start, p.End = t0, end
	}
	b.ReportAllocs()
	b.SetBytes(total)
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		res, err := eng.Query(context.Background(), p)
		if err != nil {
			b.Fatal(err)
		}
		if res.Stats.LinesProcessed == 0 {
			b.Fatal("no lines processed")
		}
	}
	// The shared benchmark machine is often oversubscribed, so wall-clock MB/s understates
	// the engine; MB per CPU-second (user+system, GC included) is steadier.
	if cpu := (cpuTime() - cpu0).Seconds(); cpu > 0 {
		b.ReportMetric(float64(total)*float64(b.N)/1e6/cpu, "MB/cpu-s")
	}
}

// cpuTime is the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkLineFilterQuery(b *testing.B) {
	runBench(b, Params{Query: `{app="bench"} |= "timeout"`, Limit: 5000})
}

func BenchmarkJSONLabelFilterQuery(b *testing.B) {
	runBench(b, Params{Query: `{app="bench"} | json | status >= 500 and level="error"`, Limit: 5000})
}

func BenchmarkSumByRate(b *testing.B) {
	_, _, end := benchData(b)
	runBench(b, Params{Query: `sum by (ns) (rate({app="bench"}[1m]))`, Start: t0 + int64(time.Minute), End: end, Step: 15 * time.Second})
}

func BenchmarkSumByRateJSON(b *testing.B) {
	_, _, end := benchData(b)
	runBench(b, Params{Query: `sum by (level) (rate({app="bench"} | json | __error__="" [1m]))`, Start: t0 + int64(time.Minute), End: end, Step: 15 * time.Second})
}

// The storage benchmark's kind of query: a parser, a numeric label filter, grouped by a label.
func BenchmarkSumByCountJSONFilter(b *testing.B) {
	_, _, end := benchData(b)
	runBench(b, Params{Query: `sum by (level) (count_over_time({app="bench"} | json | status >= 500 [1m]))`, Start: t0 + int64(time.Minute), End: end, Step: 15 * time.Second})
}

// Without the grouping push-down (max does not distribute over the series), every label of
// every line is part of a series: the parser extracts all of them.
func BenchmarkMaxByCountJSON(b *testing.B) {
	_, _, end := benchData(b)
	runBench(b, Params{Query: `max by (level) (count_over_time({app="bench"} | json | drop ts, took, path, user [1m]))`, Start: t0 + int64(time.Minute), End: end, Step: 15 * time.Second})
}

func BenchmarkLogfmtLabelFilterQuery(b *testing.B) {
	eng, total, end := logfmtBenchData(b)
	runBenchOn(b, eng, total, end, Params{Query: `{app="bench"} | logfmt | status >= 500 and level="error"`, Start: t0, End: end, Limit: 5000})
}

func BenchmarkSumByRateLogfmt(b *testing.B) {
	eng, total, end := logfmtBenchData(b)
	runBenchOn(b, eng, total, end, Params{Query: `sum by (level) (rate({app="bench"} | logfmt | __error__="" [1m]))`, Start: t0 + int64(time.Minute), End: end, Step: 15 * time.Second})
}
