package logcli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
)

// DetectedFieldsQuery is the detected-fields command.
type DetectedFieldsQuery struct {
	DetectedFieldsParams
	// FieldName, when set, lists that field's values instead of the fields.
	FieldName string
	// Bold makes names and numbers bold (stdout is a terminal).
	Bold bool
}

// Do prints one "label: x\t\ttype: y\t\tcardinality: n" line per field, sorted, or one value per
// line when FieldName is set.
func (q *DetectedFieldsQuery) Do(ctx context.Context, c *Client, w io.Writer) error {
	if q.FieldName != "" {
		resp, err := c.DetectedFieldValues(ctx, q.FieldName, q.DetectedFieldsParams)
		if err != nil {
			return fmt.Errorf("query failed: %w", err)
		}
		for _, v := range resp.Values {
			if _, err := fmt.Fprintln(w, v); err != nil {
				return err
			}
		}
		return nil
	}
	resp, err := c.DetectedFields(ctx, q.DetectedFieldsParams)
	if err != nil {
		return fmt.Errorf("query failed: %w", err)
	}
	bold := func(s string) string {
		if q.Bold {
			return "\x1b[1m" + s + "\x1b[0m"
		}
		return s
	}
	out := make([]string, len(resp.Fields))
	for i, f := range resp.Fields {
		out[i] = fmt.Sprintf("label: %s\t\ttype: %s\t\tcardinality: %s",
			bold(f.Label), bold(f.Type), bold(fmt.Sprint(f.Cardinality)))
	}
	slices.Sort(out)
	_, err = fmt.Fprintln(w, strings.Join(out, "\n"))
	return err
}
