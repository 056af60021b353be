package ingester

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql"
	"github.com/sluicelog/sluice/pkg/storage"
)

// SelectUnflushed leaves out flushed chunks (kept in memory for chunk_retain_period), gives each
// entry once, and leaves out the lines, when the caller reads none, of streams from a lone
// source in time order only: a stream written out of order keeps them for its de-duplication.
func TestSelectUnflushed(t *testing.T) {
	store := &batchMemStore{committed: map[*storage.Chunk]bool{}}
	ing := newIngesterWith(t, store, func(c *Config) { c.ChunkRetainPeriod = RetainFor(time.Hour); c.ChunkBlockSize = 256 })
	ctx := context.Background()
	base := time.Now().Add(-time.Minute).UnixNano()
	push := func(stream string, from, n int, tag string) {
		var es []logproto.Entry
		for i := from; i < from+n; i++ {
			es = append(es, logproto.Entry{Timestamp: base + int64(i)*1e6, Line: fmt.Sprintf("%s %d %s", tag, i, "padding to cut blocks soon")})
		}
		if err := ing.Push(ctx, "t", []logproto.Stream{{Labels: stream, Entries: es}}); err != nil {
			t.Fatal(err)
		}
	}
	push(`{app="in-order"}`, 0, 20, "flushed")
	push(`{app="late"}`, 0, 20, "flushed")
	if err := ing.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	push(`{app="in-order"}`, 20, 30, "new")
	push(`{app="late"}`, 30, 30, "new")
	push(`{app="late"}`, 25, 5, "late") // older than blocks already cut: the head is out of order
	push(`{app="late"}`, 40, 1, "new")  // a resend, after its block was cut
	got := selectUnflushed(t, ing, true)
	var lines, empty int
	for _, e := range got {
		if e[len(e)-1] == '|' {
			empty++
		} else {
			lines++
		}
	}
	// in-order: 30 new entries without lines; late: 35 entries with their lines.
	if len(got) != 65 || empty != 30 || lines != 35 {
		t.Errorf("got %d entries, %d without lines and %d with; want 65, 30 and 35:\n%q", len(got), empty, lines, got)
	}
}

func selectUnflushed(t *testing.T, ing *Ingester, noLines bool) []string {
	t.Helper()
	p := logql.SelectLogParams{
		Matchers: []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "app", ".+")},
		Start:    0, End: 1 << 62, Direction: logproto.Forward,
	}
	var out []string
	for _, u := range ing.SelectUnflushed(context.Background(), "t", p) {
		if noLines {
			u.WithoutLines()
		}
		var minT int64 = 1 << 62
		for u.It.Next() {
			e := u.It.At()
			minT = min(minT, e.Timestamp)
			out = append(out, fmt.Sprintf("%s %d |%s", u.Labels, e.Timestamp, e.Line))
		}
		if err := u.It.Err(); err != nil {
			t.Fatal(err)
		}
		u.It.Close()
		if minT < u.MinT {
			t.Errorf("%s: an entry at %d, before MinT %d", u.Labels, minT, u.MinT)
		}
	}
	return out
}
