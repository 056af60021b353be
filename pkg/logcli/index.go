package logcli

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"
)

// StatsQuery is the stats command: index statistics of a selector.
type StatsQuery struct {
	QueryString string
	Start, End  time.Time
}

// Do prints the statistics as Loki's logcli does:
//
//	{
//	  bytes: 1.2 MB
//	  chunks: 3
//	  streams: 2
//	  entries: 1000
//	}
func (q *StatsQuery) Do(ctx context.Context, c *Client, w io.Writer) error {
	s, err := c.IndexStats(ctx, q.QueryString, q.Start, q.End)
	if err != nil {
		return fmt.Errorf("query failed: %w", err)
	}
	_, err = fmt.Fprintf(w, "{\n  bytes: %s\n  chunks: %d\n  streams: %d\n  entries: %d\n}\n",
		humanBytes(s.Bytes), s.Chunks, s.Streams, s.Entries)
	return err
}

// humanBytes writes n in SI units with one decimal below 10 ("1.2 kB", "42 MB", "7 B"), the way
// Loki's logcli shows byte counts.
func humanBytes(n uint64) string {
	if n < 10 {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"B", "kB", "MB", "GB", "TB", "PB", "EB"}
	e := math.Floor(math.Log(float64(n)) / math.Log(1000))
	if int(e) >= len(units) {
		e = float64(len(units) - 1)
	}
	val := math.Floor(float64(n)/math.Pow(1000, e)*10+0.5) / 10
	if val < 10 {
		return fmt.Sprintf("%.1f %s", val, units[int(e)])
	}
	return fmt.Sprintf("%.0f %s", val, units[int(e)])
}

// VolumeQuery is the volume and volume_range commands.
type VolumeQuery struct {
	VolumeParams
	Range bool // volume_range: a matrix over Step buckets
}

// Do prints the result as indented JSON, as query prints a vector or matrix.
func (q *VolumeQuery) Do(ctx context.Context, c *Client, w io.Writer) error {
	resp, err := c.Volume(ctx, q.VolumeParams, q.Range)
	if err != nil {
		return fmt.Errorf("query failed: %w", err)
	}
	return printMetric(w, &resp.Data)
}
