package logcli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"
)

// DeleteQuery is the delete command and its create, list and cancel subcommands.
type DeleteQuery struct {
	QueryString string
	Start, End  time.Time
	MaxInterval string
	Quiet       bool
}

// Create submits a delete request.
func (q *DeleteQuery) Create(ctx context.Context, c *Client, w io.Writer) error {
	if err := c.CreateDelete(ctx, q.QueryString, q.Start, q.End, q.MaxInterval); err != nil {
		return fmt.Errorf("create delete request: %w", err)
	}
	if !q.Quiet {
		fmt.Fprintln(w, "Delete request created successfully")
	}
	return nil
}

// List prints the tenant's delete requests, as text or (asJSON) as an indented JSON array.
func (q *DeleteQuery) List(ctx context.Context, c *Client, w io.Writer, asJSON bool) error {
	reqs, err := c.ListDeletes(ctx)
	if err != nil {
		return fmt.Errorf("list delete requests: %w", err)
	}
	if asJSON {
		if reqs == nil {
			reqs = []DeleteRequest{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(reqs)
	}
	if !q.Quiet {
		fmt.Fprintf(w, "Found %d delete requests:\n", len(reqs))
	}
	for _, r := range reqs {
		fmt.Fprintf(w, "Request ID: %s\n", r.RequestID)
		fmt.Fprintf(w, "Query: %s\n", r.Query)
		fmt.Fprintf(w, "Start Time: %s\n", unixSeconds(r.StartTime).Format(time.RFC3339))
		fmt.Fprintf(w, "End Time: %s\n", unixSeconds(r.EndTime).Format(time.RFC3339))
		fmt.Fprintf(w, "Status: %s\n", r.Status)
		fmt.Fprintln(w, "---")
	}
	return nil
}

func unixSeconds(s float64) time.Time {
	sec, frac := math.Modf(s)
	return time.Unix(int64(sec), int64(frac*1e9))
}

// Cancel cancels request id.
func (q *DeleteQuery) Cancel(ctx context.Context, c *Client, w io.Writer, id string, force bool) error {
	if err := c.CancelDelete(ctx, id, force); err != nil {
		return fmt.Errorf("cancel delete request: %w", err)
	}
	if !q.Quiet {
		fmt.Fprintf(w, "Delete request %s cancelled successfully\n", id)
	}
	return nil
}
