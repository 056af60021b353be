package logql

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
)

// MaxPoints bounds the steps of a range query: (End-Start)/Step may not exceed it, as in Loki.
const MaxPoints = 11000

// DefaultMaxSeries is Loki's default max_query_series.
const DefaultMaxSeries = 500

// Options tune an Engine.
type Options struct {
	// MaxSeries is the most series a metric query may return; 0 means DefaultMaxSeries.
	MaxSeries int
}

// Engine runs LogQL queries over a Querier.
type Engine struct {
	q    Querier
	opts Options
	// allLabels turns off the extraction of only the labels a grouped range aggregation
	// needs (log.WithRequiredLabels); tests set it to compare results with and without.
	allLabels bool
}

// NewEngine returns an engine that reads entries from q.
func NewEngine(q Querier, opts Options) *Engine {
	if opts.MaxSeries <= 0 {
		opts.MaxSeries = DefaultMaxSeries
	}
	return &Engine{q: q, opts: opts}
}

// Params describe one query.
//
// Start and End are Unix nanoseconds. A log query returns entries with Start <= ts < End. A
// metric query is an instant query when Start == End and Step == 0 (evaluated once, at End) and
// a range query otherwise, evaluated at Start, Start+Step, ... up to End inclusive.
type Params struct {
	Query string
	Start int64
	End   int64
	// Step is the resolution of a metric range query.
	Step time.Duration
	// Interval, for log queries, keeps at most one entry per stream per Interval (Loki's
	// interval parameter); 0 keeps all.
	Interval  time.Duration
	Direction logproto.Direction
	// Limit caps the entries of a log query (0: no cap).
	Limit uint32
	// CategorizeLabels keys streams by their stream labels only and returns each entry's
	// structured metadata and parsed labels with it (Loki's categorize-labels encoding flag).
	CategorizeLabels bool
}

// IsInstant reports whether p describes an instant query.
func (p Params) IsInstant() bool { return p.Start == p.End && p.Step == 0 }

// Result is a query's value and statistics.
type Result struct {
	Data  Value
	Stats Stats
}

// ErrInstantLogQuery is Loki's message for a log query run as an instant query.
const ErrInstantLogQuery = "log queries are not supported as an instant query type, please change your query to a range query type"

// ErrBadParams matches (errors.Is) every error that is the request's fault but not a parse
// error: invalid Params, and queries that fail at evaluation such as many-to-many matching.
var ErrBadParams = errors.New("invalid query parameters")

// Query parses and runs p.Query. Errors the caller should answer with 400 are
// *syntax.ParseError, *PipelineError, *SeriesLimitError and errors matching ErrBadParams;
// others (the Querier failing, a cancelled context) are the server's.
func (e *Engine) Query(ctx context.Context, p Params) (Result, error) {
	began := time.Now()
	expr, err := syntax.ParseExpr(p.Query)
	if err != nil {
		return Result{}, err
	}
	if p.End < p.Start {
		return Result{}, fmt.Errorf("%w: end (%d) before start (%d)", ErrBadParams, p.End, p.Start)
	}
	c := &counters{}
	var res Result
	switch expr := expr.(type) {
	case *syntax.LogSelector:
		if p.IsInstant() {
			// Loki refuses these too: an instant has no range to read entries from.
			return Result{}, fmt.Errorf("%w: %s", ErrBadParams, ErrInstantLogQuery)
		}
		res.Data, err = e.execLogs(ctx, expr, p, c)
	case syntax.SampleExpr:
		if !p.IsInstant() && p.Step <= 0 {
			return Result{}, fmt.Errorf("%w: a range query needs a positive step", ErrBadParams)
		}
		if !p.IsInstant() && (p.End-p.Start)/int64(p.Step) > MaxPoints {
			return Result{}, fmt.Errorf("%w: exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)", ErrBadParams)
		}
		res.Data, err = e.execSamples(ctx, expr, p, c)
	default:
		err = fmt.Errorf("run query: unexpected expression %T (engine bug)", expr)
	}
	if err != nil {
		return Result{}, err
	}
	res.Stats = Stats{
		LinesProcessed:  c.lines.Load(),
		BytesProcessed:  c.bytes.Load(),
		EntriesReturned: countEntries(res.Data),
		ExecTime:        time.Since(began),
	}
	return res, nil
}

func countEntries(v Value) int64 {
	var n int64
	switch v := v.(type) {
	case Streams:
		for _, s := range v {
			n += int64(len(s.Entries))
		}
	case Matrix:
		for _, s := range v {
			n += int64(len(s.Points))
		}
	case Vector:
		n = int64(len(v))
	case Scalar:
		n = 1
	}
	return n
}
