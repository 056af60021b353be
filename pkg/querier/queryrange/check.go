package queryrange

import (
	"fmt"
	"slices"
	"strings"

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
