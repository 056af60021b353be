package deletion

import (
	"errors"
	"fmt"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logql"
	"github.com/sluicelog/sluice/pkg/logql/log"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
)

// Statuses of a Request, as Loki reports them.
const (
	StatusReceived  = "received"
	StatusProcessed = "processed"
)

// Request is one delete request.
type Request struct {
	RequestID string `json:"request_id"`
	Tenant    string `json:"tenant"`
	Query     string `json:"query"`
	// Start and End are the range of deleted entries, Unix milliseconds, both inclusive.
	Start     int64  `json:"start_ms"`
	End       int64  `json:"end_ms"`
	Status    string `json:"status"`
	CreatedAt int64  `json:"created_at_ms"`

	sel *selector
}

// selector is a request's parsed query.
type selector struct {
	matchers []*labels.Matcher
	// filter passes the lines the request deletes; nil deletes every line of the range.
	filter log.Filterer
}

// errInvalidQuery starts the message of a query a delete request cannot take.
var errInvalidQuery = errors.New("invalid query expression")

// parseQuery parses a delete request's query: a stream selector followed only by line filters.
func parseQuery(q string) (*selector, error) {
	ls, err := syntax.ParseLogSelector(q)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalidQuery, err)
	}
	ms, err := ls.LabelMatchers()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalidQuery, err)
	}
	sel := &selector{matchers: ms}
	var fs []log.Filterer
	for _, st := range ls.Stages {
		lf, ok := st.(*syntax.LineFilter)
		if !ok {
			return nil, fmt.Errorf("%w: only line filters may follow the stream selector of a delete request, not %s", errInvalidQuery, st)
		}
		f, err := logql.NewLineFilter(lf)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", errInvalidQuery, lf, err)
		}
		fs = append(fs, f)
	}
	if len(fs) > 0 {
		sel.filter = log.ChainFilters(fs...)
	}
	return sel, nil
}

// parse fills r.sel from r.Query.
func (r *Request) parse() error {
	sel, err := parseQuery(r.Query)
	if err != nil {
		return err
	}
	r.sel = sel
	return nil
}

// HasFilter reports whether the request has line filters, so that it deletes only some lines
// of its range.
func (r *Request) HasFilter() bool { return r.sel != nil && r.sel.filter != nil }

// MatchesStream reports whether the request selects the stream lbls.
func (r *Request) MatchesStream(lbls labels.Labels) bool {
	if r.sel == nil {
		return false
	}
	for _, m := range r.sel.matchers {
		if !m.Matches(lbls.Get(m.Name)) {
			return false
		}
	}
	return true
}

// startNanos and endNanos are the request's range in Unix nanoseconds, inclusive. An entry a
// fraction of a millisecond after End is after it, as in Loki.
func (r *Request) startNanos() int64 { return r.Start * 1e6 }
func (r *Request) endNanos() int64   { return r.End * 1e6 }

// Overlaps reports whether the request's range shares a nanosecond with [from, through] (Unix
// ns, inclusive).
func (r *Request) Overlaps(from, through int64) bool {
	return from <= r.endNanos() && r.startNanos() <= through
}

// Covers reports whether the request deletes every entry of a chunk of a stream it selects
// spanning [from, through]: no line filter, and a range holding the chunk's.
func (r *Request) Covers(from, through int64) bool {
	return !r.HasFilter() && r.startNanos() <= from && through <= r.endNanos()
}

// Deletes reports whether the request deletes the entry at ts (Unix ns) with line, of a stream
// it selects.
func (r *Request) Deletes(ts int64, line []byte) bool {
	if ts < r.startNanos() || ts > r.endNanos() {
		return false
	}
	return r.sel.filter == nil || r.sel.filter.Filter(line)
}

// EntryFilter returns a function reporting whether any of reqs deletes an entry of the stream
// lbls, or nil when none of them selects the stream.
func EntryFilter(reqs []*Request, lbls labels.Labels) func(ts int64, line []byte) bool {
	var mine []*Request
	for _, r := range reqs {
		if r.MatchesStream(lbls) {
			mine = append(mine, r)
		}
	}
	if len(mine) == 0 {
		return nil
	}
	return func(ts int64, line []byte) bool {
		for _, r := range mine {
			if r.Deletes(ts, line) {
				return true
			}
		}
		return false
	}
}
