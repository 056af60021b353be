package logcli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Query holds the flags of the query and instant-query commands.
type Query struct {
	QueryString string
	Start       time.Time // inclusive
	End         time.Time // exclusive
	// Limit is the most lines to print; 0 prints all.
	Limit int
	// BatchSize is the most lines asked for in one request (--batch).
	BatchSize int
	Forward   bool
	Step      time.Duration
	Interval  time.Duration
	Quiet     bool

	// Label shaping (--exclude-label, --include-label, --include-common-labels, --labels-length).
	IgnoreLabelsKey     []string
	ShowLabelsKey       []string
	IncludeCommonLabels bool
	FixedLabelsLen      int

	// Parallel download (--parallel-duration and friends); see parallel.go.
	ParallelDuration        time.Duration
	ParallelMaxWorkers      int
	PartPathPrefix          string
	OverwriteCompletedParts bool
	MergeParts              bool
	KeepParts               bool

	// DelayFor is --delay-for, used by Tail.
	DelayFor time.Duration
}

// Printer is where a command writes: results to Stdout, metadata to Log (stderr).
type Printer struct {
	Stdout io.Writer
	Log    *log.Logger
	Output LogOutput
	// Stats prints each response's statistics to Log (--stats).
	Stats bool
	// PartOutput prints into part files (--part-path-prefix); nil means Output. It is the same
	// mode as Output without colours.
	PartOutput LogOutput
	// Progress, when not nil, receives a progress line during long batched downloads. The
	// caller sets it to stderr only when stderr is a terminal.
	Progress io.Writer
}

func (p *Printer) logf(format string, args ...any) {
	if p.Log != nil {
		p.Log.Printf(format, args...)
	}
}

func (q *Query) direction() Direction {
	if q.Forward {
		return Forward
	}
	return Backward
}

// DoInstant runs the query once at time t with /query and prints the result.
func (q *Query) DoInstant(ctx context.Context, c *Client, p *Printer, t time.Time) error {
	resp, err := c.Query(ctx, q.QueryString, q.Limit, t, q.direction())
	if err != nil {
		return fmt.Errorf("query failed: %w", err)
	}
	w := bufio.NewWriterSize(p.Stdout, 64<<10)
	if p.Stats {
		printStats(p, resp.Data.Stats)
	}
	if resp.Data.ResultType == ResultStreams {
		streams, err := resp.Data.Streams()
		if err != nil {
			return err
		}
		pg := newPager(q, p, w)
		if _, err := pg.printPage(streams, q.Limit); err != nil {
			return err
		}
		return w.Flush()
	}
	if err := printMetric(w, &resp.Data); err != nil {
		return err
	}
	return w.Flush()
}

// printMetric prints a matrix, vector or scalar result as Loki's logcli does: indented JSON with
// no trailing newline.
func printMetric(w io.Writer, d *QueryData) error {
	var v any
	var err error
	switch d.ResultType {
	case ResultMatrix:
		v, err = d.Matrix()
	case ResultVector:
		v, err = d.Vector()
	case ResultScalar:
		v, err = d.Scalar()
	default:
		return fmt.Errorf("unable to print unsupported result type %q", d.ResultType)
	}
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s result: %w", d.ResultType, err)
	}
	_, err = w.Write(b)
	return err
}

// printStats writes the statistics of a response to the log, one "Section.Key value" line per
// number, as Loki's logcli --stats does: byte counts in SI units ("2.9 MB"), times as durations
// ("83.1µs"), other numbers exactly as the server sent them.
func printStats(p *Printer, raw json.RawMessage) {
	if len(raw) == 0 || p.Log == nil {
		return
	}
	var tree map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // no float64 round trip: large counts would print as 2.863674e+06
	if dec.Decode(&tree) != nil {
		return
	}
	var lines []string
	flattenStats(&lines, "", tree)
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 8, 1, ' ', 0)
	for _, l := range lines {
		fmt.Fprintln(tw, l)
	}
	tw.Flush()
	p.Log.Writer().Write([]byte(b.String()))
}

func flattenStats(lines *[]string, prefix string, v any) {
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			name := strings.ToUpper(k[:1]) + k[1:]
			if prefix != "" {
				name = prefix + "." + name
			}
			flattenStats(lines, name, t[k])
		}
	case json.Number:
		*lines = append(*lines, prefix+"\t"+statValue(prefix[strings.LastIndexByte(prefix, '.')+1:], t))
	default:
		*lines = append(*lines, fmt.Sprintf("%s\t%v", prefix, t))
	}
}

// statValue renders the statistic named key. Loki sends execTime and queueTime in seconds and
// chunksDownloadTime in nanoseconds.
func statValue(key string, n json.Number) string {
	f, err := n.Float64()
	if err != nil {
		return n.String()
	}
	switch {
	case key == "ExecTime" || key == "QueueTime":
		return time.Duration(f * float64(time.Second)).String()
	case strings.HasSuffix(key, "Time"):
		return time.Duration(f).String()
	case strings.Contains(key, "Bytes") && f >= 0:
		return humanBytes(uint64(f))
	}
	return n.String()
}

// DoQuery runs a range query and prints it: log lines page by page (see pager.download), or a
// metric result as JSON. With ParallelMaxWorkers > 1 the range is split into jobs (parallel.go).
func (q *Query) DoQuery(ctx context.Context, c *Client, p *Printer) error {
	if q.ParallelMaxWorkers > 1 || q.PartPathPrefix != "" || q.MergeParts {
		return q.DoParallel(ctx, c, p)
	}
	w := bufio.NewWriterSize(p.Stdout, 64<<10)
	pg := newPager(q, p, w)
	batch := q.BatchSize
	if batch <= 0 {
		batch = DefaultBatchSize
	}
	if p.Progress != nil && (q.Limit == 0 || q.Limit > batch) {
		pg.progress = newProgress(p.Progress)
		defer pg.progress.done()
	}
	_, err := pg.download(ctx, c, q.Start, q.End, q.Limit)
	if ferr := w.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("write output: %w", ferr)
	}
	return err
}
