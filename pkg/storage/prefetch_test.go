package storage_test

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/index"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql"
	"github.com/sluicelog/sluice/pkg/storage"
)

// TestFilteredScanInParallel checks that a filtered scan over many series, which decodes
// them on several goroutines, returns what a filter applied to the full scan returns, in
// order, in both directions, also with the filter's substring as Needle (blocks without it
// are skipped); and that closing it early leaves no goroutine behind.
func TestFilteredScanInParallel(t *testing.T) {
	s := storage.NewStore(storage.NewMemory(), openIndex(t))
	ctx := context.Background()
	for i := 0; i < 12; i++ {
		lbls := labels.FromStrings("app", fmt.Sprintf("a%02d", i))
		// Two chunks per series, the second overlapping the first, 1,500 entries each.
		for _, start := range []int64{day0 + int64(i)*1e6, day0 + 700_500_000_000 + int64(i)*1e6} {
			if err := s.PutChunk(ctx, makeChunk(t, lbls, start, 1500)); err != nil {
				t.Fatal(err)
			}
		}
	}
	m := labels.MustNewMatcher(labels.MatchRegexp, "app", ".+")
	filter := func(line []byte) bool { return bytes.Contains(line, []byte("7 of")) }
	scan := func(dir logproto.Direction, f func([]byte) bool, needle []byte) []string {
		it, err := s.SelectLogs(ctx, tenant, logql.SelectLogParams{Matchers: []*labels.Matcher{m}, Start: day0, End: day0 + index.DayNanos, Direction: dir, LineFilter: f, Needle: needle})
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		var out []string
		for it.Next() {
			e := it.At()
			out = append(out, fmt.Sprintf("%d %s %s", e.Timestamp, it.Labels(), e.Line))
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	// "7 of" is in every block; the other needle in one series' chunks only, so the others'
	// blocks are skipped once their lines are searched.
	for _, sub := range []string{"7 of", `line 1234 of {app="a03"}`} {
		f := func(line []byte) bool { return bytes.Contains(line, []byte(sub)) }
		for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
			var want []string
			for _, l := range scan(dir, nil, nil) {
				if strings.Contains(l, sub) {
					want = append(want, l)
				}
			}
			for _, needle := range [][]byte{nil, []byte(sub)} {
				got := scan(dir, f, needle)
				for i := range min(len(got), len(want)) {
					if got[i] != want[i] {
						t.Logf("first difference at %d: got %q want %q", i, got[i], want[i])
						break
					}
				}
				if len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("%q %v, needle %q: parallel filtered scan returned %d entries, want the %d of the sequential one, in order", sub, dir, needle, len(got), len(want))
				}
			}
		}
	}

	before := runtime.NumGoroutine()
	it, err := s.SelectLogs(ctx, tenant, logql.SelectLogParams{Matchers: []*labels.Matcher{m}, Start: day0, End: day0 + index.DayNanos, Direction: logproto.Forward, LineFilter: filter})
	if err != nil {
		t.Fatal(err)
	}
	if !it.Next() {
		t.Fatal("no entry")
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after Close, %d before", n, before)
	}
}
