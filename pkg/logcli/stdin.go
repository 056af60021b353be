package logcli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sluicelog/sluice/pkg/iter"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
)

// stdinLabels are the labels of the one stream --stdin reads.
const stdinLabels = `{source="logcli"}`

// ErrStdinMetric is returned for a metric query with --stdin: the lines have no real
// timestamps, so, as in Loki's logcli, only log queries are supported.
var ErrStdinMetric = errors.New("--stdin supports log queries only, not metric queries")

// RunStdin runs the log query q over the lines of r with Sluice's LogQL engine and prints the
// result (--stdin). The stream selector is optional and, since the lines have no labels,
// matches them whatever it says: '|= "x"' and '{app="y"} |= "x"' are the same query. Lines
// are kept in input order (given increasing timestamps), and --limit and the time flags do not
// apply.
func RunStdin(ctx context.Context, q *Query, r io.Reader, p *Printer) error {
	query := strings.TrimSpace(q.QueryString)
	expr, err := syntax.ParseExpr(query)
	if err != nil && !strings.HasPrefix(query, "{") {
		// A pipeline without a selector: give it the stdin stream's.
		query = stdinLabels + " " + query
		expr, err = syntax.ParseExpr(query)
	}
	if err != nil {
		return fmt.Errorf("parse query: %w", err)
	}
	if _, ok := expr.(*syntax.LogSelector); !ok {
		return ErrStdinMetric
	}

	var entries []logproto.Entry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	// Timestamps count up from a fixed point in nanoseconds so that the engine keeps the input
	// order; printed times are therefore not meaningful, as in Loki's logcli.
	start := time.Now().Add(-time.Hour).UnixNano()
	for sc.Scan() {
		line := bytes.TrimRight(sc.Bytes(), "\r")
		entries = append(entries, logproto.Entry{Timestamp: start + int64(len(entries)), Line: string(line)})
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read stdin: %w", err)
	}
	if len(entries) == 0 {
		return nil
	}
	mem, err := logql.NewMemQuerier([]logproto.Stream{{Labels: stdinLabels, Entries: entries}})
	if err != nil {
		return fmt.Errorf("load stdin: %w", err)
	}
	eng := logql.NewEngine(anySelector{mem}, logql.Options{})
	res, err := eng.Query(ctx, logql.Params{
		Query:     query,
		Start:     start,
		End:       start + int64(len(entries)),
		Direction: logproto.Forward,
	})
	if err != nil {
		return fmt.Errorf("run query: %w", err)
	}
	result, ok := res.Data.(logql.Streams)
	if !ok {
		return ErrStdinMetric
	}
	streams := make([]Stream, 0, len(result))
	for _, s := range result {
		ls, err := syntax.ParseLabels(s.Labels)
		if err != nil {
			return fmt.Errorf("parse result labels %q: %w", s.Labels, err)
		}
		out := Stream{Labels: LabelSet(ls.Map()), Entries: make([]Entry, len(s.Entries))}
		for i, e := range s.Entries {
			out.Entries[i] = Entry{Timestamp: e.Timestamp, Line: e.Line}
		}
		streams = append(streams, out)
	}
	sq := *q
	sq.Forward = true
	w := bufio.NewWriterSize(p.Stdout, 64<<10)
	if _, err := newPager(&sq, p, w).printPage(streams, 0); err != nil {
		return err
	}
	return w.Flush()
}

// anySelector drops the stream matchers: stdin has one stream, which every selector selects.
type anySelector struct{ q logql.Querier }

func (a anySelector) SelectLogs(ctx context.Context, p logql.SelectLogParams) (iter.EntryIterator, error) {
	p.Matchers = nil
	return a.q.SelectLogs(ctx, p)
}
