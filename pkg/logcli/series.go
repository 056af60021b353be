package logcli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"
)

// SeriesQuery is the series command.
type SeriesQuery struct {
	Matcher       string
	Start, End    time.Time
	AnalyzeLabels bool
}

// Do prints each stream's label set, or with AnalyzeLabels a cardinality summary.
func (q *SeriesQuery) Do(ctx context.Context, c *Client, w io.Writer) error {
	series, err := c.Series(ctx, []string{q.Matcher}, q.Start, q.End)
	if err != nil {
		return fmt.Errorf("query failed: %w", err)
	}
	if !q.AnalyzeLabels {
		for _, s := range series {
			if _, err := fmt.Fprintln(w, s.String()); err != nil {
				return err
			}
		}
		return nil
	}
	return analyzeLabels(w, series)
}

type labelDetail struct {
	name    string
	values  map[string]struct{}
	streams int
}

// analyzeLabels prints how many streams and distinct values each label name has, most values
// first: the quick way to find a high-cardinality label.
func analyzeLabels(w io.Writer, series []LabelSet) error {
	byName := map[string]*labelDetail{}
	for _, s := range series {
		for k, v := range s {
			d := byName[k]
			if d == nil {
				d = &labelDetail{name: k, values: map[string]struct{}{}}
				byName[k] = d
			}
			d.values[v] = struct{}{}
			d.streams++
		}
	}
	details := make([]*labelDetail, 0, len(byName))
	for _, d := range byName {
		details = append(details, d)
	}
	slices.SortFunc(details, func(a, b *labelDetail) int {
		if c := cmp.Compare(len(b.values), len(a.values)); c != 0 {
			return c
		}
		return cmp.Compare(a.name, b.name)
	})
	fmt.Fprintln(w, "Total Streams: ", len(series))
	fmt.Fprintln(w, "Unique Labels: ", len(byName))
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Label Name\tUnique Values\tFound In Streams")
	for _, d := range details {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", d.name, len(d.values), d.streams)
	}
	return tw.Flush()
}
