package queryrange

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/api"
	"github.com/sluicelog/sluice/pkg/flagext"
	"github.com/sluicelog/sluice/pkg/index"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
	"github.com/sluicelog/sluice/pkg/validation"
)

// Loki's messages for a query, and a sub-query, the index says would read too much.
const (
	tooManyBytesQuery   = "the query would read too many bytes (query: %s, limit: %s); consider adding more specific stream selectors or reduce the time range of the query"
	tooManyBytesQuerier = "query too large to execute on a single querier: (query: %s, limit: %s); consider adding more specific stream selectors, reduce the time range of the query, or adjust parallelization settings"
)

// IndexStats answers what the index knows of a selector over [from, through] (Unix ns,
// inclusive): the figures of /loki/api/v1/index/stats. *querier.Querier's ReadEstimate is one.
type IndexStats func(ctx context.Context, from, through int64, ms []*labels.Matcher) (index.Stats, error)

// SetIndexStats gives the frontend the index statistics it estimates a query's size from, to
// enforce the tenant's max_query_bytes_read and max_querier_bytes_read. Call it before the
// first query; without it neither limit is enforced.
func (f *Frontend) SetIndexStats(stats IndexStats) { f.stats = stats }

// bytesRead estimates the bytes q (whose parsed text is expr) would read: for each stream
// selector, the uncompressed bytes the index holds for it over the range the engine reads it,
// summed over the selectors as Loki does (a selector used twice counts twice). A log query
// reads [start, end); a range aggregation evaluated from start to end reads
// (start-offset-range, end-offset].
func (f *Frontend) bytesRead(ctx context.Context, expr syntax.Expr, q api.QueryRequest) (uint64, error) {
	type selection struct {
		sel         *syntax.LogSelector
		rng, offset time.Duration
	}
	var sels []selection
	walkQuery(expr,
		func(sel *syntax.LogSelector) {
			if len(sels) > 0 && sels[len(sels)-1].sel == sel {
				return // the selector of the range just seen
			}
			sels = append(sels, selection{sel: sel})
		},
		func(r *syntax.LogRange) { sels = append(sels, selection{r.Left, r.Interval, r.Offset}) })
	start, end := q.Start.UnixNano(), q.End.UnixNano()
	var total uint64
	for _, s := range sels {
		from, through := start, end-1
		if s.rng > 0 {
			from, through = start-int64(s.offset)-int64(s.rng)+1, end-int64(s.offset)
		}
		if through < from {
			continue
		}
		ms, err := s.sel.LabelMatchers()
		if err != nil {
			return 0, err
		}
		st, err := f.stats(ctx, from, through, ms)
		if err != nil {
			return 0, err
		}
		total += st.Bytes
	}
	return total, nil
}

// estimate is bytesRead for the checks: expr is q's parsed text, or nil to parse it here (a
// query that does not parse is left to the engine to report: ok false), and an index that
// cannot be read is Loki's server error.
func (f *Frontend) estimate(ctx context.Context, expr syntax.Expr, q api.QueryRequest) (n uint64, ok bool, err error) {
	if expr == nil {
		if expr, err = syntax.ParseExpr(q.Query); err != nil {
			return 0, false, nil
		}
	}
	n, err = f.bytesRead(ctx, expr, q)
	if err != nil {
		return 0, false, fmt.Errorf("Failed to get bytes read stats for query: %w", err)
	}
	return n, true, nil
}

// tooManyBytes is Loki's refusal (msg) of a query estimated at n bytes over the limit max; nil
// when max is 0 (no limit) or n fits.
func tooManyBytes(n uint64, max flagext.ByteSize, msg string) error {
	if max == 0 || n <= uint64(max) {
		return nil
	}
	return &badRequestError{fmt.Errorf(msg, iBytes(n), iBytes(uint64(max)))}
}

// checkQueryBytes estimates the whole query once, when either limit is set, and refuses it
// above max_query_bytes_read. A sub-query reads a part of what the whole reads, so when the
// whole fits in max_querier_bytes_read every sub-query does, and the returned context tells
// run not to estimate each (an index look-up per sub-query otherwise: with Loki's default of
// 150GB, on every query).
func (f *Frontend) checkQueryBytes(ctx context.Context, expr syntax.Expr, q api.QueryRequest, lim *validation.Limits) (context.Context, error) {
	if f.stats == nil || (lim.MaxQueryBytesRead == 0 && lim.MaxQuerierBytesRead == 0) {
		return ctx, nil
	}
	n, ok, err := f.estimate(ctx, expr, q)
	if !ok {
		return ctx, err
	}
	if err := tooManyBytes(n, lim.MaxQueryBytesRead, tooManyBytesQuery); err != nil {
		return ctx, err
	}
	if tooManyBytes(n, lim.MaxQuerierBytesRead, tooManyBytesQuerier) == nil {
		ctx = context.WithValue(ctx, subqueriesFitKey{}, true)
	}
	return ctx, nil
}

// subqueriesFitKey marks a context whose query is known to fit max_querier_bytes_read whole.
type subqueriesFitKey struct{}

// run runs one sub-query, or a query the frontend does not split, on the wrapped engine,
// after refusing it when it is larger than the tenant's max_querier_bytes_read (Loki checks
// this limit on what each querier is handed). expr is q's parsed text, or nil.
func (f *Frontend) run(ctx context.Context, expr syntax.Expr, q api.QueryRequest, lim *validation.Limits) (*api.QueryResult, error) {
	if fit, _ := ctx.Value(subqueriesFitKey{}).(bool); !fit && f.stats != nil && lim.MaxQuerierBytesRead > 0 {
		n, ok, err := f.estimate(ctx, expr, q)
		if err != nil {
			return nil, err
		}
		if ok {
			if err := tooManyBytes(n, lim.MaxQuerierBytesRead, tooManyBytesQuerier); err != nil {
				return nil, err
			}
		}
	}
	return f.next.Query(ctx, q)
}

// iBytes renders n as Loki does in these messages: in powers of 1024, rounded to one decimal
// below 10 and to a whole number above ("9 B", "1.5 KiB", "49 MiB", "150 GiB").
func iBytes(n uint64) string {
	if n < 10 {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v, u := float64(n), 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	v = float64(int64(v*10+0.5)) / 10
	if v < 10 {
		return fmt.Sprintf("%.1f %s", v, units[u])
	}
	return fmt.Sprintf("%.0f %s", v, units[u])
}
