package queryrange

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicelog/sluice/pkg/api"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
	"github.com/sluicelog/sluice/pkg/tenant"
	"github.com/sluicelog/sluice/pkg/validation"
)

// Limits gives each tenant's query limits; *validation.Overrides is one.
type Limits interface {
	For(tenant string) *validation.Limits
}

// Frontend is an api.Engine that splits, caches and merges queries for the engine it wraps.
// It is safe for concurrent use.
type Frontend struct {
	next   api.Engine
	cfg    Config
	limits Limits
	cache  *resultsCache // nil when caching is off
	now    func() time.Time
	// cacheGen, when set, returns a tenant's cache generation: it changes when the tenant's
	// delete requests change, so cached results that still count deleted lines are not used.
	cacheGen func(tenant string) int64
	// instantPieces, when not 0, replaces parallelism as the most pieces an instant query is
	// split into (tests use it to exercise many pieces on a small machine).
	instantPieces int
	// stats, when set, estimates a query's size for max_query_bytes_read and
	// max_querier_bytes_read (size.go).
	stats IndexStats

	subQueries prometheus.Counter
	blocked    *prometheus.CounterVec
}

var _ api.Engine = (*Frontend)(nil)

// New returns a frontend in front of next. Metrics are registered with reg when it is not nil.
func New(cfg Config, next api.Engine, limits Limits, reg prometheus.Registerer) *Frontend {
	f := &Frontend{next: next, cfg: cfg, limits: limits, now: time.Now}
	f.subQueries = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "sluice_frontend_sub_queries_total",
		Help: "Sub-queries the query frontend ran or answered from its cache.",
	})
	f.blocked = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "loki_blocked_queries",
		Help: "Queries refused by the tenant's blocked_queries.",
	}, []string{"user"})
	if reg != nil {
		reg.MustRegister(f.subQueries, f.blocked)
	}
	if n := cfg.cacheBytes(); n > 0 {
		f.cache = newResultsCache(n, cfg.ResultsCache.Cache.EmbeddedCache.TTL.D(), func() time.Time { return f.now() }, newCacheMetrics(reg))
	}
	return f
}

// parallelism is how many sub-queries of one query run at once: the tenant's
// max_query_parallelism, but no more than the process can run — the role of Loki's
// querier.max_concurrent, since here the querier shares the process. More would only hold
// more decoded blocks in memory at once (a 24h range query at 32 splits peaked at 0.9 GB).
func (f *Frontend) parallelism(lim *validation.Limits) int {
	return max(1, min(lim.MaxQueryParallelism, 2*runtime.GOMAXPROCS(0)))
}

// SetCacheGeneration makes the results cache keyed by gen(tenant) too, as Loki's cache
// generation numbers do for delete requests. Call it before the first query.
func (f *Frontend) SetCacheGeneration(gen func(tenant string) int64) { f.cacheGen = gen }

// badRequestError is an error the API answers with 400.
type badRequestError struct{ err error }

func (e *badRequestError) Error() string   { return e.err.Error() }
func (e *badRequestError) Unwrap() error   { return e.err }
func (e *badRequestError) StatusCode() int { return http.StatusBadRequest }

// Query answers q, splitting it when it is a range query longer than the tenant's
// split_queries_by_interval, or an instant query over a range aggregation whose range is
// longer than split_instant_metric_queries_by_interval and whose pieces merge exactly (see
// planInstant). Queries the frontend cannot split (queries that do not parse, log queries
// with an interval, most instant queries) go to the wrapped engine as they are, which also
// reports their errors. A query that parses is first checked against the tenant's limits on
// its text (checkQuery), instant or not.
func (f *Frontend) Query(ctx context.Context, q api.QueryRequest) (*api.QueryResult, error) {
	id, err := tenant.From(ctx)
	if err != nil {
		return nil, err
	}
	expr, err := syntax.ParseExpr(q.Query)
	if err != nil {
		return f.next.Query(ctx, q)
	}
	lim := f.limits.For(id)
	if f.isBlocked(id, q, expr, lim) {
		return nil, &badRequestError{errBlocked}
	}
	if err := checkQuery(expr, lim); err != nil {
		return nil, &badRequestError{err}
	}
	ctx, err = f.checkQueryBytes(ctx, expr, q, lim)
	if err != nil {
		return nil, err
	}
	if q.Instant {
		return f.queryInstant(ctx, q, expr, lim)
	}
	if q.End.Before(q.Start) {
		return f.next.Query(ctx, q)
	}
	// The engine checks these too, but on each sub-query, where a long range no longer shows.
	if max := lim.MaxQueryLength.D(); max > 0 && q.End.Sub(q.Start) > max {
		return nil, &badRequestError{fmt.Errorf("the query time range exceeds the limit (query length: %s, limit: %s)", q.End.Sub(q.Start), lim.MaxQueryLength)}
	}
	if t := lim.QueryTimeout.D(); t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	began := f.now()
	var res *api.QueryResult
	switch expr.(type) {
	case *syntax.LogSelector:
		if max := lim.MaxEntriesLimitPerQuery; max > 0 && q.Limit > max {
			return nil, &badRequestError{fmt.Errorf("max entries limit per query exceeded, limit > max_entries_limit_per_query (%d > %d)", q.Limit, max)}
		}
		res, err = f.queryLogs(ctx, expr, q, lim)
	case syntax.SampleExpr:
		if q.Step <= 0 {
			return f.next.Query(ctx, q)
		}
		res, err = f.queryMetric(ctx, id, expr, q, lim)
	default:
		return f.run(ctx, expr, q, lim)
	}
	if err != nil {
		return nil, err
	}
	// The sub-queries' figures add up, but their times overlap: the query took wall time.
	res.Stats.ExecTime = f.now().Sub(began)
	return res, nil
}

// queryLogs runs a log query split by interval, newest sub-range first for a backward query,
// and stops once the limit is reached.
func (f *Frontend) queryLogs(ctx context.Context, expr syntax.Expr, q api.QueryRequest, lim *validation.Limits) (*api.QueryResult, error) {
	interval := lim.SplitQueriesByInterval.D()
	if q.Interval > 0 {
		// The engine keeps one entry per Interval counting from the previous one kept, a
		// chain a split would restart at each boundary.
		interval = 0
	}
	spans := splitLogs(q.Start.UnixNano(), q.End.UnixNano(), interval)
	if q.Direction == logproto.Backward {
		slices.Reverse(spans)
	}
	m := newLogMerger(q.Limit, q.Direction)
	out := &api.QueryResult{Type: api.ResultStreams}
	err := runOrdered(ctx, len(spans), f.parallelism(lim),
		func(ctx context.Context, i int) (*api.QueryResult, error) {
			f.subQueries.Inc()
			sub := q
			sub.Start, sub.End = time.Unix(0, spans[i].start), time.Unix(0, spans[i].end)
			return f.run(ctx, expr, sub, lim)
		},
		func(i int, r *api.QueryResult) (bool, error) {
			if r.Type != api.ResultStreams {
				return false, fmt.Errorf("log sub-query returned %s, want streams (bug)", r.Type)
			}
			m.add(r.Streams)
			addStats(&out.Stats, r.Stats)
			out.Stats.Splits++
			return !m.full(), nil
		})
	if err != nil {
		return nil, err
	}
	out.Streams = m.result()
	out.Stats.TotalEntriesReturned = int64(m.n)
	return out, nil
}

// subResult is a metric sub-query's result and whether it came from the cache.
type subResult struct {
	res    *api.QueryResult
	cached bool
}

// queryMetric runs a metric range query split at step-aligned interval boundaries, answering
// closed sub-ranges from the cache when it can.
func (f *Frontend) queryMetric(ctx context.Context, id string, expr syntax.Expr, q api.QueryRequest, lim *validation.Limits) (*api.QueryResult, error) {
	step := int64(q.Step)
	start, end := q.Start.UnixNano(), q.End.UnixNano()
	if f.cfg.AlignQueriesWithStep {
		start, end = alignDown(start, step), alignDown(end, step)
	}
	interval := lim.SplitQueriesByInterval.D()
	if interval > 0 {
		// As Loki's splitter: every sub-query's evaluation times are multiples of the step, so
		// the same sub-range recurs across requests and its cached result can be reused.
		start, end = alignDown(start, step), alignUp(end, step)
	}
	spans := splitMetric(start, end, q.Step, interval)
	freshUntil := f.now().Add(-lim.MaxCacheFreshness.D()).UnixNano()
	m := newMatrixMerger()
	out := &api.QueryResult{Type: api.ResultMatrix}
	err := runOrdered(ctx, len(spans), f.parallelism(lim),
		func(ctx context.Context, i int) (subResult, error) {
			f.subQueries.Inc()
			sp := spans[i]
			var key string
			cacheable := f.cache != nil && sp.end <= freshUntil
			if cacheable {
				key = cacheKey(id, q.Query, q.Step, sp)
				if f.cacheGen != nil {
					key = strconv.FormatInt(f.cacheGen(id), 10) + ":" + key
				}
				if r := f.cache.get(key); r != nil {
					return subResult{r, true}, nil
				}
			}
			sub := q
			sub.Start, sub.End = time.Unix(0, sp.start), time.Unix(0, sp.end)
			r, err := f.run(ctx, expr, sub, lim)
			if err != nil {
				return subResult{}, err
			}
			if cacheable && r.Type == api.ResultMatrix {
				f.cache.put(key, r)
			}
			return subResult{r, false}, nil
		},
		func(i int, r subResult) (bool, error) {
			if r.res.Type != api.ResultMatrix {
				return false, fmt.Errorf("metric range sub-query returned %s, want matrix (bug)", r.res.Type)
			}
			m.add(r.res.Matrix)
			if max := lim.MaxQuerySeries; max > 0 && m.len() > max {
				return false, &badRequestError{&logql.SeriesLimitError{Limit: max}}
			}
			if !r.cached {
				addStats(&out.Stats, r.res.Stats)
			}
			out.Stats.Splits++
			return true, nil
		})
	if err != nil {
		return nil, err
	}
	out.Matrix = m.result()
	for _, s := range out.Matrix {
		out.Stats.TotalEntriesReturned += int64(len(s.Points))
	}
	return out, nil
}

// cacheKey names a metric sub-query's result: tenant, query text, step and evaluation range.
func cacheKey(id, query string, step time.Duration, sp span) string {
	b := make([]byte, 0, len(id)+len(query)+64)
	b = append(b, id...)
	b = append(b, 0)
	b = append(b, query...)
	b = append(b, 0)
	b = strconv.AppendInt(b, int64(step), 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, sp.start, 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, sp.end, 10)
	return string(b)
}
