package queryrange

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/api"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
	"github.com/sluicelog/sluice/pkg/tenant"
	"github.com/sluicelog/sluice/pkg/validation"
)

// day0 is the start of the test data, 2024-03-01T00:00:00Z.
var day0 = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return day0.Add(d) }

// testLimits returns overrides with Loki's defaults and the given split and parallelism.
func testLimits(split time.Duration, parallelism int) *validation.Overrides {
	var l validation.Limits
	l.RegisterFlags(flag.NewFlagSet("limits", flag.ContinueOnError))
	l.SplitQueriesByInterval.Set(split.String())
	l.MaxQueryParallelism = parallelism
	return validation.NewOverrides(l)
}

func tenantCtx() context.Context { return tenant.With(context.Background(), "team-a") }

// memEngine is the real LogQL engine over in-memory streams, adapted to api.Engine as the
// server adapts it.
type memEngine struct {
	e     *logql.Engine
	calls atomic.Int64
}

func newMemEngine(t testing.TB, streams []logproto.Stream) *memEngine {
	return newMemEngineWith(t, streams, logql.Options{})
}

// newMemEngineWith is newMemEngine with engine options (a series limit).
func newMemEngineWith(t testing.TB, streams []logproto.Stream, opts logql.Options) *memEngine {
	t.Helper()
	q, err := logql.NewMemQuerier(streams)
	if err != nil {
		t.Fatal(err)
	}
	return &memEngine{e: logql.NewEngine(q, opts)}
}

func (m *memEngine) Query(ctx context.Context, q api.QueryRequest) (*api.QueryResult, error) {
	m.calls.Add(1)
	p := logql.Params{Query: q.Query, Start: q.Start.UnixNano(), End: q.End.UnixNano(), Step: q.Step,
		Interval: q.Interval, Direction: q.Direction, Limit: uint32(q.Limit)}
	if q.Instant {
		p.Step = 0
	}
	res, err := m.e.Query(ctx, p)
	if err != nil {
		return nil, err
	}
	out := &api.QueryResult{Stats: api.Stats{TotalLinesProcessed: res.Stats.LinesProcessed, TotalBytesProcessed: res.Stats.BytesProcessed}}
	switch v := res.Data.(type) {
	case logql.Streams:
		out.Type = api.ResultStreams
		for _, s := range v {
			ls, err := syntax.ParseLabels(s.Labels)
			if err != nil {
				return nil, err
			}
			st := api.Stream{Labels: ls}
			for _, e := range s.Entries {
				st.Entries = append(st.Entries, api.Entry{Timestamp: e.Timestamp, Line: e.Line})
			}
			out.Streams = append(out.Streams, st)
		}
	case logql.Matrix:
		out.Type = api.ResultMatrix
		for _, s := range v {
			sr := api.Series{Metric: s.Metric}
			for _, p := range s.Points {
				sr.Points = append(sr.Points, api.Point{T: p.T, V: p.V})
			}
			out.Matrix = append(out.Matrix, sr)
		}
	case logql.Vector:
		out.Type = api.ResultVector
		for _, s := range v {
			out.Vector = append(out.Vector, api.Sample{Metric: s.Metric, Point: api.Point{T: s.T, V: s.V}})
		}
	case logql.Scalar:
		out.Type = api.ResultScalar
		out.Scalar = api.Point{T: v.T, V: v.V}
	}
	return out, nil
}

// testStreams is six hours of data from day0: three streams at different rates, with levels.
func testStreams() []logproto.Stream {
	var a, b, c []logproto.Entry
	levels := []string{"info", "warn", "error"}
	for i := range 6 * 360 { // every 10s for 6h
		ts := at(time.Duration(i) * 10 * time.Second).UnixNano()
		a = append(a, logproto.Entry{Timestamp: ts, Line: fmt.Sprintf("level=%s n=%d latency=%d", levels[i%3], i, i%17*10)})
		if i%3 == 0 {
			b = append(b, logproto.Entry{Timestamp: ts + int64(time.Second), Line: fmt.Sprintf("level=%s n=%d latency=%d", levels[i%2], i, i%5*100)})
		}
		if i%50 == 0 {
			c = append(c, logproto.Entry{Timestamp: ts + 2*int64(time.Second), Line: fmt.Sprintf("level=error job=%d", i)})
		}
	}
	return []logproto.Stream{
		{Labels: `{app="api", pod="api-1"}`, Entries: a},
		{Labels: `{app="api", pod="api-2"}`, Entries: b},
		{Labels: `{app="cron"}`, Entries: c},
	}
}

// fakeEngine answers every query with data derived from its range, and records the calls.
// A metric range query yields one series with the evaluation time (s) as value; a log query
// yields one entry per minute in [start, end), in the query's direction, up to the limit; an
// instant query yields one sample of value 1.
type fakeEngine struct {
	mu       sync.Mutex
	calls    []api.QueryRequest
	inFlight atomic.Int64
	maxSeen  atomic.Int64
	// before, when set, runs at the start of each call (to block, count or fail).
	before func(ctx context.Context) error
}

func (f *fakeEngine) Query(ctx context.Context, q api.QueryRequest) (*api.QueryResult, error) {
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		m := f.maxSeen.Load()
		if n <= m || f.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	f.mu.Lock()
	f.calls = append(f.calls, q)
	f.mu.Unlock()
	if f.before != nil {
		if err := f.before(ctx); err != nil {
			return nil, err
		}
	}
	if q.Instant {
		s := api.Sample{Metric: labels.FromStrings("app", "x"), Point: api.Point{T: q.End.UnixNano() / 1e6, V: 1}}
		return &api.QueryResult{Type: api.ResultVector, Vector: []api.Sample{s}, Stats: api.Stats{TotalLinesProcessed: 1}}, nil
	}
	if q.Step > 0 && q.Query != `{app="x"}` {
		s := api.Series{Metric: labels.FromStrings("app", "x")}
		for t := q.Start.UnixNano(); t <= q.End.UnixNano(); t += int64(q.Step) {
			s.Points = append(s.Points, api.Point{T: t / 1e6, V: float64(t / 1e9)})
		}
		return &api.QueryResult{Type: api.ResultMatrix, Matrix: []api.Series{s}, Stats: api.Stats{TotalLinesProcessed: 1}}, nil
	}
	st := api.Stream{Labels: labels.FromStrings("app", "x")}
	first := (q.Start.UnixNano() + int64(time.Minute) - 1) / int64(time.Minute) * int64(time.Minute)
	var ts []int64
	for t := first; t < q.End.UnixNano(); t += int64(time.Minute) {
		ts = append(ts, t)
	}
	if q.Direction == logproto.Backward {
		for i, j := 0, len(ts)-1; i < j; i, j = i+1, j-1 {
			ts[i], ts[j] = ts[j], ts[i]
		}
	}
	if q.Limit > 0 && len(ts) > q.Limit {
		ts = ts[:q.Limit]
	}
	for _, t := range ts {
		st.Entries = append(st.Entries, api.Entry{Timestamp: t, Line: "line"})
	}
	return &api.QueryResult{Type: api.ResultStreams, Streams: []api.Stream{st}, Stats: api.Stats{TotalLinesProcessed: int64(len(ts))}}, nil
}

func (f *fakeEngine) requests() []api.QueryRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]api.QueryRequest(nil), f.calls...)
}

// noCache is a configuration with the results cache off.
func noCache() Config {
	c := DefaultConfig()
	c.CacheResults = false
	return c
}

func tenantWith(ctx context.Context, id string) context.Context { return tenant.With(ctx, id) }
