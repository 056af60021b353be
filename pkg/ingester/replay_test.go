package ingester

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/chunk"
	"github.com/sluicelog/sluice/pkg/flagext"
	"github.com/sluicelog/sluice/pkg/logproto"
)

// TestReplayMemoryCeiling: a replay that passes replay_memory_ceiling flushes what it has
// replayed and drops it from memory before going on, so the ingester holds at most about the
// ceiling once ready, and every entry is either in the store or in memory, once. The same WAL
// replayed under the default ceiling flushes nothing.
func TestReplayMemoryCeiling(t *testing.T) {
	dir := t.TempDir()
	walOn := func(ceiling flagext.ByteSize) func(*Config) {
		return func(c *Config) {
			c.WAL.Enabled, c.WAL.Dir = true, dir
			if ceiling > 0 {
				c.WAL.ReplayMemoryCeiling = ceiling
			}
		}
	}
	ing := newIngesterWith(t, &memStore{}, walOn(0))
	const perPush, pushes = 100, 42
	line := strings.Repeat("x", 200)
	var want []string
	for p := range pushes {
		var entries []logproto.Entry
		for k := range perPush {
			n := p*perPush + k
			e := logproto.Entry{Timestamp: int64(n) + 1, Line: fmt.Sprintf("%05d %s", n, line)}
			entries = append(entries, e)
			want = append(want, fmt.Sprintf("%d:%s", e.Timestamp, e.Line))
		}
		if err := ing.Push(context.Background(), "t", streamOf(entries...)); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(want)
	total := len(want) * (6 + len(line)) // about 870 KB
	crash := func(ing *Ingester) {
		t.Helper()
		if err := ing.wal.Close(); err != nil { // no flush, no checkpoint
			t.Fatal(err)
		}
	}
	crash(ing)

	// Under the default ceiling (4 GiB) the replay keeps everything in memory.
	roomy := &memStore{}
	again := newIngesterWith(t, roomy, walOn(0))
	if n := metricValue(t, again.metrics.replayFlushes); n != 0 || len(roomy.chunks) != 0 {
		t.Fatalf("default ceiling: %v flushes, %d chunks in the store", n, len(roomy.chunks))
	}
	if got := selectAll(t, again, logproto.Forward); len(got) != len(want) {
		t.Fatalf("default ceiling: %d entries in memory, want %d", len(got), len(want))
	}
	if got := metricValue(t, again.metrics.replayBytes); got != float64(total) {
		t.Fatalf("recovered bytes = %v, want %d", got, total)
	}
	crash(again)

	// Under a ceiling of a tenth of that, the replay flushes as it goes.
	const ceiling = 80 << 10
	tight := &memStore{}
	third := newIngesterWith(t, tight, walOn(ceiling))
	defer third.Stop(context.Background())
	flushes := metricValue(t, third.metrics.replayFlushes)
	if flushes < float64(total/ceiling)-1 {
		t.Fatalf("%v flushes for %d bytes under a ceiling of %d", flushes, total, ceiling)
	}
	inMemory := selectAll(t, third, logproto.Forward)
	if held := len(inMemory) * (6 + len(line)); held > ceiling {
		t.Fatalf("after the replay %d bytes are held in memory, over the ceiling of %d", held, ceiling)
	}
	var stored []string
	for _, sc := range tight.chunks {
		c, err := chunk.Decode(sc.Data)
		if err != nil {
			t.Fatal(err)
		}
		it := c.Iterator(labels.FromStrings("app", "a"), 0, 1<<62, logproto.Forward, nil)
		for it.Next() {
			stored = append(stored, fmt.Sprintf("%d:%s", it.At().Timestamp, it.At().Line))
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		it.Close()
	}
	got := append(stored, inMemory...)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("store (%d) and memory (%d) hold %d entries; want each of the %d once", len(stored), len(inMemory), len(got), len(want))
	}
}
