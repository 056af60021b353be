package api

import (
	"bufio"
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/iter"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
	"github.com/sluicelog/sluice/pkg/push"
	"github.com/sluicelog/sluice/pkg/tenant"
)

// IngesterReader is what this process's ingester holds in memory, served to the queriers of
// other processes on the internal /ingester/select_logs and /ingester/series routes.
type IngesterReader interface {
	SelectLogs(ctx context.Context, tenant string, p logql.SelectLogParams) (iter.EntryIterator, error)
	Series(ctx context.Context, tenant string, from, through int64, ms []*labels.Matcher) []labels.Labels
}

// frameBytes is about the size of the lines and labels one select_logs frame carries: large
// enough that framing costs nothing, small enough that neither side holds much of an answer.
const frameBytes = 1 << 20

// parseNanos reads a Unix nanosecond timestamp, the only form the internal routes take.
func parseNanos(name, value string) (int64, error) {
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return 0, badParam("%s: %q is not a Unix timestamp in nanoseconds", name, value)
	}
	return n, nil
}

func parseNanoRange(r *http.Request) (start, end int64, err error) {
	if start, err = parseNanos("start", r.Form.Get("start")); err != nil {
		return
	}
	if end, err = parseNanos("end", r.Form.Get("end")); err != nil {
		return
	}
	if end < start {
		err = badParam("end %d is before start %d", end, start)
	}
	return
}

// ingesterSelectLogs answers POST /ingester/select_logs: the entries of the streams selector
// matches in [start, end), in direction order, as a frame sequence of push bodies (see
// push.FrameWriter). Only needle is applied: the querier applies the query's other filters.
func (a *API) ingesterSelectLogs(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		a.writeError(w, badParam("%v", err))
		return
	}
	ms, err := syntax.ParseMatchers(r.Form.Get("selector"))
	if err != nil {
		a.writeError(w, badParam("selector: %v", err))
		return
	}
	start, end, err := parseNanoRange(r)
	if err != nil {
		a.writeError(w, err)
		return
	}
	dir, err := parseDirection(r.Form.Get("direction"))
	if err != nil {
		a.writeError(w, err)
		return
	}
	p := logql.SelectLogParams{Matchers: ms, Start: start, End: end, Direction: dir}
	if n := r.Form.Get("needle"); n != "" {
		p.Needle = []byte(n)
	}
	id, _ := tenant.From(r.Context())
	it, err := a.d.Ingester.SelectLogs(r.Context(), id, p)
	if err != nil {
		a.writeError(w, err)
		return
	}
	defer it.Close()
	// The status goes out at once: a rare needle may take a while to find, and the querier
	// waits for the status only so long. A failure from here on ends the frame sequence.
	w.Header().Set("Content-Type", push.ContentTypeFrames)
	w.WriteHeader(http.StatusOK)
	_ = http.NewResponseController(w).Flush()
	bw := bufio.NewWriterSize(w, 64<<10)
	fw := push.NewFrameWriter(bw)
	var b frameBuilder
	for it.Next() {
		b.add(it.Labels(), it.StreamHash(), it.At())
		if b.bytes >= frameBytes {
			if err := fw.Write(&b.req); err != nil {
				return // the querier went away
			}
			b.reset()
		}
	}
	if err := fw.Write(&b.req); err != nil {
		return
	}
	if err := fw.End(it.Err()); err != nil {
		return
	}
	_ = bw.Flush()
}

// frameBuilder gathers consecutive entries into one push request with one stream per label
// set. It copies what it keeps: an iterator's entries are valid only until its next call.
type frameBuilder struct {
	req     logproto.PushRequest
	streams map[uint64]int // stream hash → index in req.Streams
	bytes   int
}

func (b *frameBuilder) add(ls labels.Labels, hash uint64, e *logproto.Entry) {
	if b.streams == nil {
		b.streams = map[uint64]int{}
	}
	i, ok := b.streams[hash]
	if !ok {
		i = len(b.req.Streams)
		b.streams[hash] = i
		b.req.Streams = append(b.req.Streams, logproto.Stream{Labels: ls.String()})
		b.bytes += ls.Len() * 16
	}
	kept := logproto.Entry{Timestamp: e.Timestamp, Line: strings.Clone(e.Line)}
	if !e.StructuredMetadata.IsEmpty() {
		kept.StructuredMetadata = e.StructuredMetadata.Copy()
		b.bytes += int(e.StructuredMetadata.ByteSize())
	}
	b.req.Streams[i].Entries = append(b.req.Streams[i].Entries, kept)
	b.bytes += len(e.Line) + 16
}

func (b *frameBuilder) reset() {
	b.req.Streams = b.req.Streams[:0]
	clear(b.streams)
	b.bytes = 0
}

// ingesterSeries answers POST /ingester/series: the label sets, as JSON objects, of the
// in-memory streams with entries in [start, end) that match any match[] selector (every stream
// without one), sorted and without duplicates.
func (a *API) ingesterSeries(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		a.writeError(w, badParam("%v", err))
		return
	}
	start, end, err := parseNanoRange(r)
	if err != nil {
		a.writeError(w, err)
		return
	}
	var sets [][]*labels.Matcher
	for _, sel := range r.Form["match[]"] {
		ms, err := syntax.ParseMatchers(sel)
		if err != nil {
			a.writeError(w, badParam("match[]: %v", err))
			return
		}
		sets = append(sets, ms)
	}
	if len(sets) == 0 {
		sets = append(sets, nil)
	}
	id, _ := tenant.From(r.Context())
	var out []labels.Labels
	for _, ms := range sets {
		out = append(out, a.d.Ingester.Series(r.Context(), id, start, end, ms)...)
	}
	slices.SortFunc(out, labels.Compare)
	out = slices.CompactFunc(out, labels.Equal)
	if out == nil {
		out = []labels.Labels{}
	}
	writeJSON(w, out)
}
