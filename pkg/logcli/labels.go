package logcli

import (
	"context"
	"fmt"
	"io"
	"time"
)

// LabelQuery is the labels command: label names, or the values of one label.
type LabelQuery struct {
	LabelName  string // empty: list names
	Start, End time.Time
}

// Do prints one name (or value) per line.
func (q *LabelQuery) Do(ctx context.Context, c *Client, w io.Writer) error {
	var vals []string
	var err error
	if q.LabelName == "" {
		vals, err = c.Labels(ctx, q.Start, q.End, "")
	} else {
		vals, err = c.LabelValues(ctx, q.LabelName, q.Start, q.End, "")
	}
	if err != nil {
		return fmt.Errorf("query failed: %w", err)
	}
	for _, v := range vals {
		if _, err := fmt.Fprintln(w, v); err != nil {
			return err
		}
	}
	return nil
}
