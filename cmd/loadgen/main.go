// Command loadgen pushes a deterministic, realistic Kubernetes log workload to a Loki push
// endpoint (Sluice's or Loki's) and reports the ingest rate: the storage benchmark's load.
//
//	loadgen -url http://127.0.0.1:3100/loki/api/v1/push -lines 2000000 -seed 1
//
// The workload is 100 streams (labels namespace, app, container, pod) of nginx access lines,
// JSON application logs, logfmt worker logs and Java logs with multi-line stack traces, about
// 236 bytes a line, spread over -span ending at -end (now by default; the server must accept
// entries that old: Loki's reject_old_samples_max_age). The same -seed, -lines, -span and -end
// give the same lines. Lines go out as snappy protobuf batches of -batch-bytes from -workers
// pushers, retried on 429 and 5xx.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/sluicelog/sluice/cmd/loadgen/internal/pusher"
	"github.com/sluicelog/sluice/cmd/loadgen/internal/workload"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// summary is the -json output.
type summary struct {
	Lines          int64   `json:"lines"`
	RawBytes       int64   `json:"raw_bytes"`
	WireBytes      int64   `json:"wire_bytes"`
	Requests       int64   `json:"requests"`
	Retries        int64   `json:"retries"`
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	LinesPerSecond float64 `json:"lines_per_second"`
	MBPerSecond    float64 `json:"mb_per_second"`
	// StartUnixNano and EndUnixNano bound the timestamps: every line is in (start, end).
	StartUnixNano int64  `json:"start_unix_nano"`
	EndUnixNano   int64  `json:"end_unix_nano"`
	Seed          uint64 `json:"seed"`
	// RawBytesByContainer splits RawBytes by the streams' container label, so a query over
	// some containers can be set against the bytes it had to read.
	RawBytesByContainer map[string]int64 `json:"raw_bytes_by_container"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		pc       pusher.Config
		wc       workload.Config
		end      string
		jsonOut  bool
		dryRun   bool
		progress time.Duration
	)
	fs.StringVar(&pc.URL, "url", "http://127.0.0.1:3100/loki/api/v1/push", "Push endpoint.")
	fs.StringVar(&pc.Tenant, "tenant", "", "Tenant sent as X-Scope-OrgID (none when empty).")
	fs.IntVar(&pc.BatchBytes, "batch-bytes", 1<<20, "Line bytes per push request.")
	fs.IntVar(&pc.Workers, "workers", 4, "Parallel pushers.")
	fs.IntVar(&pc.MaxRetries, "max-retries", 20, "Retries of one batch on 429, 5xx or connection errors before giving up.")
	fs.DurationVar(&pc.MinBackoff, "min-backoff", 100*time.Millisecond, "First wait before a retry.")
	fs.DurationVar(&pc.MaxBackoff, "max-backoff", 5*time.Second, "Longest wait before a retry.")
	fs.BoolVar(&pc.Prepare, "prepare", false, "Build every request before the first push and time only the pushes (holds the bodies in memory, about a quarter of the raw bytes).")
	fs.Uint64Var(&wc.Seed, "seed", 1, "Seed of the workload; the same seed gives the same lines.")
	fs.IntVar(&wc.Lines, "lines", 2_000_000, "Lines to push (2,000,000 is about 473 MB).")
	fs.DurationVar(&wc.Span, "span", 24*time.Hour, "Time the lines' timestamps cover, ending at -end.")
	fs.StringVar(&end, "end", "", "End of the timestamps (exclusive): RFC 3339 or Unix seconds; empty for now.")
	fs.BoolVar(&jsonOut, "json", false, "Print the result as one JSON object on stdout.")
	fs.BoolVar(&dryRun, "dry-run", false, "Generate the lines without pushing them (measures the generator and the raw size).")
	fs.DurationVar(&progress, "progress", 0, "Report progress on stderr this often (0: never).")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if wc.End, err = parseEnd(end, time.Now()); err != nil {
		return err
	}
	gen, err := workload.New(wc)
	if err != nil {
		return err
	}
	streams := gen.Streams()
	labels := make([]string, len(streams))
	for i, s := range streams {
		labels[i] = s.Labels
	}

	var counters pusher.Counters
	if progress > 0 {
		stopProgress := reportProgress(stderr, progress, &counters, wc.Lines)
		defer stopProgress()
	}
	var res pusher.Result
	if dryRun {
		res = drain(gen)
	} else {
		res, err = pusher.Run(ctx, pc, labels, gen, &counters)
		if err != nil {
			return fmt.Errorf("after %d lines: %w", res.Lines, err)
		}
	}
	secs := res.Elapsed.Seconds()
	s := summary{
		Lines: res.Lines, RawBytes: res.RawBytes, WireBytes: res.WireBytes, Requests: res.Requests, Retries: res.Retries,
		ElapsedSeconds: secs, LinesPerSecond: float64(res.Lines) / secs, MBPerSecond: float64(res.RawBytes) / 1e6 / secs,
		StartUnixNano: wc.End.Add(-wc.Span).UnixNano(), EndUnixNano: wc.End.UnixNano(), Seed: wc.Seed,
	}
	s.RawBytesByContainer = map[string]int64{}
	for i, b := range gen.StreamBytes() {
		s.RawBytesByContainer[streams[i].Container] += b
	}
	verb := "pushed"
	if dryRun {
		verb = "generated"
	}
	fmt.Fprintf(stderr, "loadgen: %s %d lines, %d raw bytes (%.1f MB) in %.2fs: %.0f lines/s, %.2f MB/s; %d requests (%d retries), %.1f MB on the wire\n",
		verb, s.Lines, s.RawBytes, float64(s.RawBytes)/1e6, secs, s.LinesPerSecond, s.MBPerSecond, s.Requests, s.Retries, float64(s.WireBytes)/1e6)
	if jsonOut {
		enc := json.NewEncoder(stdout)
		return enc.Encode(s)
	}
	return nil
}

// parseEnd reads -end: RFC 3339, Unix seconds (possibly fractional), or empty for now.
func parseEnd(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("-end %q: want RFC 3339 or Unix seconds", s)
	}
	return time.Unix(0, int64(f*1e9)), nil
}

// drain generates every line without sending it.
func drain(gen *workload.Generator) pusher.Result {
	start := time.Now()
	var res pusher.Result
	for {
		_, _, line, ok := gen.Next()
		if !ok {
			break
		}
		res.Lines++
		res.RawBytes += int64(len(line))
	}
	res.Elapsed = time.Since(start)
	return res
}

// reportProgress prints the counters every interval until the returned function is called.
func reportProgress(w io.Writer, every time.Duration, c *pusher.Counters, total int) func() {
	done := make(chan struct{})
	stopped := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				n, b := c.Lines.Load(), c.RawBytes.Load()
				secs := time.Since(start).Seconds()
				fmt.Fprintf(w, "loadgen: %d/%d lines (%.0f%%), %.1f MB, %.0f lines/s, %.2f MB/s, %d retries\n",
					n, total, 100*float64(n)/float64(total), float64(b)/1e6, float64(n)/secs, float64(b)/1e6/secs, c.Retries.Load())
			}
		}
	}()
	return func() { close(done); <-stopped }
}
