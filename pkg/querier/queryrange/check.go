package queryrange

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sluicelog/sluice/pkg/api"
	"github.com/sluicelog/sluice/pkg/flagext"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
	"github.com/sluicelog/sluice/pkg/validation"
)

// checkQuery refuses a query whose text breaks the tenant's limits, with Loki's messages: a
// stream selector without a label of required_labels, with fewer matchers than
// minimum_labels_number or more than max_streams_matchers_per_query, or a range aggregation
// over more than max_query_range. A query with several selectors (a binary operation) must
// pass with each.
func checkQuery(expr syntax.Expr, lim *validation.Limits) error {
	var err error
	walkQuery(expr,
		func(sel *syntax.LogSelector) {
			if err == nil {
				err = checkSelector(sel, lim)
			}
		},
		func(r *syntax.LogRange) {
			if max := lim.MaxQueryRange; err == nil && max > 0 && r.Interval > max.D() {
				err = fmt.Errorf("[interval] value exceeds limit: [%s] > [%s]", flagext.Duration(r.Interval), max)
			}
		})
	return err
}

// checkSelector applies the limits on one stream selector, in Loki's order: the required
// labels first, so that a user does not add matchers to reach the minimum and then find they
// are not the required ones.
func checkSelector(sel *syntax.LogSelector, lim *validation.Limits) error {
	present := make([]string, len(sel.Matchers))
	for i, m := range sel.Matchers {
		present[i] = m.Name
	}
	var missing []string
	for _, name := range lim.RequiredLabels {
		if !slices.Contains(present, name) {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("stream selector is missing required matchers [%s], labels present in the query were [%s]",
			strings.Join(missing, ", "), strings.Join(present, ", "))
	}
	if n := lim.RequiredNumberLabels; n > 0 && len(present) < n {
		return fmt.Errorf("stream selector has less label matchers than required: (present: [%s], number_present: %d, required_number_label_matchers: %d)",
			strings.Join(present, ", "), len(present), n)
	}
	if max := lim.MaxStreamsMatchersPerQuery; len(present) > max {
		return fmt.Errorf("max streams matchers per query exceeded, matchers-count > limit (%d > %d)", len(present), max)
	}
	return nil
}

// walkQuery calls sel for every stream selector of expr and rng for every range of a range
// aggregation, left to right.
func walkQuery(expr syntax.Expr, sel func(*syntax.LogSelector), rng func(*syntax.LogRange)) {
	switch e := expr.(type) {
	case *syntax.LogSelector:
		sel(e)
	case *syntax.RangeAggregation:
		rng(e.Left)
		sel(e.Left.Left)
	case *syntax.VectorAggregation:
		walkQuery(e.Left, sel, rng)
	case *syntax.BinOp:
		walkQuery(e.Left, sel, rng)
		walkQuery(e.Right, sel, rng)
	case *syntax.LabelReplace:
		walkQuery(e.Left, sel, rng)
	}
}

// errBlocked is Loki's answer to a query one of the tenant's blocked_queries matches.
var errBlocked = errors.New("query blocked by policy")

// isBlocked reports whether one of the tenant's blocked_queries matches q, whose text parsed
// as expr, and counts it in loki_blocked_queries if so.
func (f *Frontend) isBlocked(tenant string, q api.QueryRequest, expr syntax.Expr, lim *validation.Limits) bool {
	if len(lim.BlockedQueries) == 0 {
		return false
	}
	typ, tags := queryType(expr), validation.ParseQueryTags(q.QueryTags)
	for i := range lim.BlockedQueries {
		if lim.BlockedQueries[i].Blocks(q.Query, typ, tags) {
			f.blocked.WithLabelValues(tenant).Inc()
			return true
		}
	}
	return false
}

// queryType classifies a query as Loki does for blocked_queries: metric (any sample
// expression), filter (a log query with a line or label filter) or limited (a log query
// without one).
func queryType(expr syntax.Expr) string {
	sel, ok := expr.(*syntax.LogSelector)
	if !ok {
		return validation.QueryTypeMetric
	}
	for _, st := range sel.Stages {
		switch st.(type) {
		case *syntax.LineFilter, *syntax.LabelFilter:
			return validation.QueryTypeFilter
		}
	}
	return validation.QueryTypeLimited
}
