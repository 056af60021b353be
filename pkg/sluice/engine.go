package sluice

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sluicelog/sluice/pkg/api"
	"github.com/sluicelog/sluice/pkg/logql"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
	"github.com/sluicelog/sluice/pkg/querier"
	"github.com/sluicelog/sluice/pkg/querystats"
	"github.com/sluicelog/sluice/pkg/tenant"
	"github.com/sluicelog/sluice/pkg/validation"
)

// engine adapts the LogQL engine to the API: it applies the tenant's query limits and turns
// the engine's results and errors into the API's.
type engine struct {
	q      logql.Querier
	limits *validation.Overrides
}

func newEngine(q logql.Querier, limits *validation.Overrides) *engine {
	return &engine{q: q, limits: limits}
}

// statusError is an error the API answers with its status code.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string   { return e.msg }
func (e *statusError) StatusCode() int { return e.status }

func badRequest(err error) error { return &statusError{http.StatusBadRequest, err.Error()} }

func (e *engine) Query(ctx context.Context, q api.QueryRequest) (*api.QueryResult, error) {
	id, err := tenant.From(ctx)
	if err != nil {
		return nil, err
	}
	lim := e.limits.For(id)
	if max := lim.MaxEntriesLimitPerQuery; max > 0 && q.Limit > max {
		return nil, badRequest(fmt.Errorf("max entries limit per query exceeded, limit > max_entries_limit_per_query (%d > %d)", q.Limit, max))
	}
	if lb := lim.MaxQueryLookback.D(); lb > 0 {
		// As Loki: nothing older than now - max_query_lookback is read.
		oldest := time.Now().Add(-lb)
		if q.End.Before(oldest) {
			return emptyResult(q)
		}
		if q.Start.Before(oldest) {
			q.Start = oldest
		}
	}
	if max := lim.MaxQueryLength.D(); max > 0 && q.End.Sub(q.Start) > max {
		return nil, badRequest(fmt.Errorf("the query time range exceeds the limit (query length: %s, limit: %s)", q.End.Sub(q.Start), lim.MaxQueryLength))
	}
	if t := lim.QueryTimeout.D(); t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	p := logql.Params{
		Query: q.Query, Start: q.Start.UnixNano(), End: q.End.UnixNano(), Step: q.Step, Interval: q.Interval,
		Direction: q.Direction, Limit: uint32(q.Limit), CategorizeLabels: q.CategorizeLabels,
	}
	if q.Instant {
		p.Step = 0
	}
	ctx, st := querystats.With(ctx)
	res, err := logql.NewEngine(e.q, logql.Options{MaxSeries: lim.MaxQuerySeries}).Query(ctx, p)
	if err != nil {
		var pe *syntax.ParseError
		var ple *logql.PipelineError
		var sle *logql.SeriesLimitError
		var cle *querier.ChunkLimitError
		if errors.As(err, &cle) {
			return nil, badRequest(cle) // Loki's message, without the engine's context
		}
		if errors.As(err, &pe) || errors.As(err, &ple) || errors.As(err, &sle) || errors.Is(err, logql.ErrBadParams) {
			return nil, badRequest(err)
		}
		return nil, err
	}
	// As Loki counts them, lines and bytes processed are everything decoded, from chunks in
	// the store and in the ingesters, before line filters; post-filter lines are what reached
	// the rest of the pipeline.
	decoded := st.DecompressedLines.Load() + st.HeadChunkLines.Load()
	decodedBytes := st.DecompressedBytes.Load() + st.HeadChunkBytes.Load()
	out := &api.QueryResult{Stats: api.Stats{
		ExecTime:             res.Stats.ExecTime,
		TotalBytesProcessed:  max(decodedBytes, res.Stats.BytesProcessed),
		TotalLinesProcessed:  max(decoded, res.Stats.LinesProcessed),
		TotalEntriesReturned: res.Stats.EntriesReturned,
		PostFilterLines:      res.Stats.LinesProcessed,
		ChunksRef:            st.ChunksRef.Load(),
		ChunksDownloaded:     st.ChunksDownloaded.Load(),
		CompressedBytes:      st.CompressedBytes.Load(),
		DecompressedLines:    st.DecompressedLines.Load(),
		DecompressedBytes:    st.DecompressedBytes.Load(),
		HeadChunkLines:       st.HeadChunkLines.Load(),
		HeadChunkBytes:       st.HeadChunkBytes.Load(),
	}}
	switch v := res.Data.(type) {
	case logql.Streams:
		out.Type = api.ResultStreams
		out.Streams = make([]api.Stream, len(v))
		for i, s := range v {
			ls, err := syntax.ParseLabels(s.Labels)
			if err != nil {
				return nil, fmt.Errorf("result stream labels %s: %w", s.Labels, err)
			}
			st := api.Stream{Labels: ls, Entries: make([]api.Entry, len(s.Entries))}
			for j, e := range s.Entries {
				st.Entries[j] = api.Entry{Timestamp: e.Timestamp, Line: e.Line, StructuredMetadata: e.StructuredMetadata, Parsed: e.Parsed}
			}
			out.Streams[i] = st
		}
	case logql.Matrix:
		out.Type = api.ResultMatrix
		out.Matrix = make([]api.Series, len(v))
		for i, s := range v {
			pts := make([]api.Point, len(s.Points))
			for j, p := range s.Points {
				pts[j] = api.Point{T: p.T, V: p.V}
			}
			out.Matrix[i] = api.Series{Metric: s.Metric, Points: pts}
		}
	case logql.Vector:
		out.Type = api.ResultVector
		out.Vector = make([]api.Sample, len(v))
		for i, s := range v {
			out.Vector[i] = api.Sample{Metric: s.Metric, Point: api.Point{T: s.T, V: s.V}}
		}
	case logql.Scalar:
		out.Type = api.ResultScalar
		out.Scalar = api.Point{T: v.T, V: v.V}
	default:
		return nil, fmt.Errorf("engine returned %T (bug)", res.Data)
	}
	return out, nil
}

// emptyResult is the result of a query that reads nothing, of the type it would have had.
func emptyResult(q api.QueryRequest) (*api.QueryResult, error) {
	expr, err := syntax.ParseExpr(q.Query)
	if err != nil {
		return nil, badRequest(err)
	}
	switch {
	case isLogQuery(expr):
		return &api.QueryResult{Type: api.ResultStreams}, nil
	case q.Instant:
		return &api.QueryResult{Type: api.ResultVector}, nil
	}
	return &api.QueryResult{Type: api.ResultMatrix}, nil
}

func isLogQuery(e syntax.Expr) bool {
	_, ok := e.(*syntax.LogSelector)
	return ok
}
