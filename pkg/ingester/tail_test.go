package ingester

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/logproto"
)

// recordingTailer keeps what the ingester hands to live tails.
type recordingTailer struct{ lines []string }

func (r *recordingTailer) Push(tenant string, streams []logproto.Stream) {
	for _, s := range streams {
		for _, e := range s.Entries {
			r.lines = append(r.lines, tenant+" "+s.Labels+" "+e.Line)
		}
	}
}

func TestTailerGetsOnlyAcceptedEntries(t *testing.T) {
	for _, withWAL := range []bool{false, true} {
		dir := ""
		if withWAL {
			dir = t.TempDir()
		}
		ing := newTestIngester(t, dir, &memStore{})
		rec := &recordingTailer{}
		ing.SetTailer(rec)
		base := time.Now().UnixNano()
		ctx := context.Background()
		push := func(entries ...logproto.Entry) { _ = ing.Push(ctx, "t", streamOf(entries...)) }
		push(logproto.Entry{Timestamp: base + 10, Line: "a"}, logproto.Entry{Timestamp: base + 20, Line: "b"})
		push(logproto.Entry{Timestamp: base + 10, Line: "a"}) // a duplicate is not new
		push(logproto.Entry{Timestamp: base - int64(2*time.Hour), Line: "too late"}, logproto.Entry{Timestamp: base + 30, Line: "c"})
		want := []string{`t {app="a"} a`, `t {app="a"} b`, `t {app="a"} c`}
		if !slices.Equal(rec.lines, want) {
			t.Errorf("wal=%v: tailer got %q, want %q", withWAL, rec.lines, want)
		}
		if err := ing.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
