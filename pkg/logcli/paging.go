package logcli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// DefaultBatchSize is --batch's default: lines asked for per query_range request.
const DefaultBatchSize = 1000

// pager prints pages of a log query and remembers, across pages, which lines it printed at the
// boundary timestamp, so that the next page (which starts again at that timestamp, because many
// lines may share it) drops exactly those and nothing else.
type pager struct {
	q   *Query
	p   *Printer
	w   flushWriter
	out LogOutput

	haveBoundary bool
	boundary     int64          // Unix ns of the last line of the last page
	seen         map[string]int // lines printed at boundary: stream labels + "\xff" + line -> count

	entries  []pageEntry // reused between pages
	progress *progress
}

type pageEntry struct {
	ts      int64
	line    string
	stream  int32 // index into the page's streams
	seq     int32 // position in the response, to keep the server's order among equals
	display LabelSet
}

// flushWriter is where a pager prints: a bufio.Writer, or a page buffer in parallel mode.
// Flush is called after every page.
type flushWriter interface {
	io.Writer
	Flush() error
}

func newPager(q *Query, p *Printer, w flushWriter) *pager {
	return &pager{q: q, p: p, w: w, out: p.Output, seen: map[string]int{}}
}

func entryKey(labels, line string) string { return labels + "\xff" + line }

// printPage prints the lines of one response, newest or oldest first as the query asks, skipping
// the lines already printed at the boundary timestamp. It prints at most max lines (0: no cap)
// and returns how many it printed.
func (pg *pager) printPage(streams []Stream, max int) (int, error) {
	q := pg.q
	common := commonLabels(streams)
	if len(q.ShowLabelsKey) > 0 {
		common = keepNames(false, common, q.ShowLabelsKey)
	}
	if !q.Quiet {
		if pg.progress != nil {
			pg.progress.done()
		}
		if len(common) > 0 {
			pg.p.logf("Common labels: %s", common)
		}
		if len(q.IgnoreLabelsKey) > 0 {
			pg.p.logf("Ignoring labels key: %s", strings.Join(q.IgnoreLabelsKey, ","))
		}
		if len(q.ShowLabelsKey) > 0 {
			pg.p.logf("Print only labels key: %s", strings.Join(q.ShowLabelsKey, ","))
		}
	}

	maxLabelsLen := q.FixedLabelsLen
	keys := make([]string, len(streams))
	entries := pg.entries[:0]
	for i, s := range streams {
		keys[i] = s.Labels.String()
		ls := s.Labels
		if !q.IncludeCommonLabels {
			ls = subtract(ls, common)
		}
		if len(q.ShowLabelsKey) > 0 {
			ls = keepNames(true, ls, q.ShowLabelsKey)
		}
		if len(q.IgnoreLabelsKey) > 0 {
			ls = keepNames(false, ls, q.IgnoreLabelsKey)
		}
		if n := len(ls.String()); n > maxLabelsLen {
			maxLabelsLen = n
		}
		for _, e := range s.Entries {
			entries = append(entries, pageEntry{ts: e.Timestamp, line: e.Line, stream: int32(i), seq: int32(len(entries)), display: ls})
		}
	}
	pg.entries = entries
	if len(entries) == 0 {
		return 0, nil
	}
	// Merge the streams into one time order; equal times go by stream labels, then by the
	// server's order. (A full order lets the faster unstable sort give a stable result.)
	forward := q.Forward
	order := func(a, b pageEntry) int {
		if a.ts != b.ts {
			if forward {
				return cmp.Compare(a.ts, b.ts)
			}
			return cmp.Compare(b.ts, a.ts)
		}
		if a.stream != b.stream {
			if c := cmp.Compare(keys[a.stream], keys[b.stream]); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.seq, b.seq)
	}
	if !slices.IsSortedFunc(entries, order) {
		slices.SortFunc(entries, order)
	}

	// avail is what may still be skipped on this page: a line printed twice by the server (the
	// same stream, time and line) is printed twice by us too, as long as it was not seen before.
	var avail map[string]int
	if pg.haveBoundary && len(pg.seen) > 0 {
		avail = make(map[string]int, len(pg.seen))
		for k, n := range pg.seen {
			avail[k] = n
		}
	}
	last := entries[len(entries)-1].ts
	sameBoundary := pg.haveBoundary && last == pg.boundary
	if !sameBoundary {
		clear(pg.seen)
	}
	printed := 0
	for _, e := range entries {
		if avail != nil && e.ts == pg.boundary {
			k := entryKey(keys[e.stream], e.line)
			if avail[k] > 0 {
				avail[k]--
				continue
			}
		}
		if max > 0 && printed >= max {
			break
		}
		if err := pg.out.FormatAndPrintln(pg.w, time.Unix(0, e.ts), e.display, maxLabelsLen, e.line); err != nil {
			return printed, fmt.Errorf("write output: %w", err)
		}
		printed++
		if e.ts == last {
			pg.seen[entryKey(keys[e.stream], e.line)]++
		}
	}
	if !sameBoundary {
		// Lines at the new boundary that were skipped as already seen cannot exist (their time
		// differs from the old boundary), so seen now holds every line of the page at last.
		pg.boundary, pg.haveBoundary = last, true
	}
	if pg.progress != nil {
		pg.progress.add(printed)
	}
	return printed, nil
}

func (pg *pager) clearBoundary() {
	pg.haveBoundary = false
	clear(pg.seen)
}

// ErrTooManyAtOneTime is returned when more lines share one timestamp than the server lets a
// single request return, so paging cannot get past them.
var ErrTooManyAtOneTime = errors.New("too many lines share one timestamp")

// download pages through [start, end) with query_range, printing up to limit lines (0: all).
// Each request asks for at most q.BatchSize lines. The next request keeps the same start (forward:
// the same end) and moves the other bound to the last timestamp printed, inclusive, so no line
// sharing that timestamp is lost; the lines already printed there are dropped. If more lines share
// one timestamp than a batch holds, the pager asks for that single nanosecond with a growing limit
// until it has them all, then moves past it.
func (pg *pager) download(ctx context.Context, c *Client, start, end time.Time, limit int) (int, error) {
	q := pg.q
	batch := q.BatchSize
	if batch <= 0 {
		batch = DefaultBatchSize
	}
	total := 0
	for limit == 0 || total < limit {
		if !start.Before(end) {
			break
		}
		req := batch
		remaining := 0
		if limit > 0 {
			remaining = limit - total
			// Ask for what is still missing plus the lines we expect to drop again.
			if overlap := pg.seenCount(); remaining+overlap < batch {
				req = remaining + overlap
			}
		}
		resp, err := c.QueryRange(ctx, RangeParams{
			Query: q.QueryString, Limit: req, Start: start, End: end,
			Direction: q.direction(), Step: q.Step, Interval: q.Interval,
		})
		if err != nil {
			return total, fmt.Errorf("query failed: %w", err)
		}
		if pg.p.Stats {
			printStats(pg.p, resp.Data.Stats)
		}
		if resp.Data.ResultType != ResultStreams {
			// A metric query: one response, printed whole; no paging.
			return total, printMetric(pg.w, &resp.Data)
		}
		streams, err := resp.Data.Streams()
		if err != nil {
			return total, err
		}
		n := 0
		for _, s := range streams {
			n += len(s.Entries)
		}
		printed, err := pg.printPage(streams, remaining)
		total += printed
		if err != nil {
			return total, err
		}
		if err := pg.w.Flush(); err != nil {
			return total, fmt.Errorf("write output: %w", err)
		}
		if n < req {
			break // the server had no more than this
		}
		if printed == 0 {
			// The whole page was lines already printed at one timestamp: more of them than a
			// batch holds. Fetch that nanosecond whole, then step past it.
			more, err := pg.drainBoundary(ctx, c, 2*req, limitLeft(limit, total))
			total += more
			if err != nil {
				return total, err
			}
			if q.Forward {
				start = time.Unix(0, pg.boundary+1)
			} else {
				end = time.Unix(0, pg.boundary)
			}
			pg.clearBoundary()
			continue
		}
		if q.Forward {
			start = time.Unix(0, pg.boundary)
		} else {
			// end is exclusive: move it just past the boundary so its lines come back.
			end = time.Unix(0, pg.boundary+1)
		}
	}
	return total, nil
}

func limitLeft(limit, total int) int {
	if limit == 0 {
		return 0
	}
	return limit - total
}

func (pg *pager) seenCount() int {
	n := 0
	for _, c := range pg.seen {
		n += c
	}
	return n
}

// drainBoundary fetches every line at the boundary timestamp, doubling the request's limit from
// first until the server returns fewer than asked, and prints those not printed yet.
func (pg *pager) drainBoundary(ctx context.Context, c *Client, first, max int) (int, error) {
	q := pg.q
	from := time.Unix(0, pg.boundary)
	to := time.Unix(0, pg.boundary+1)
	for limit := first; ; limit *= 2 {
		resp, err := c.QueryRange(ctx, RangeParams{
			Query: q.QueryString, Limit: limit, Start: from, End: to, Direction: q.direction(),
		})
		if err != nil {
			return 0, fmt.Errorf("%w: more than %d lines at %s and the server refused a larger request: %w",
				ErrTooManyAtOneTime, limit/2, from.UTC().Format(time.RFC3339Nano), err)
		}
		if resp.Data.ResultType != ResultStreams {
			return 0, fmt.Errorf("query failed: page of a log query returned %q", resp.Data.ResultType)
		}
		streams, err := resp.Data.Streams()
		if err != nil {
			return 0, err
		}
		n := 0
		for _, s := range streams {
			n += len(s.Entries)
		}
		if n >= limit {
			continue
		}
		printed, err := pg.printPage(streams, max)
		if err != nil {
			return printed, err
		}
		return printed, pg.w.Flush()
	}
}
