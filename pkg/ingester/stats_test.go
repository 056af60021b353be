package ingester

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
)

func TestUnflushedStats(t *testing.T) {
	ing := newTestIngester(t, "", &memStore{})
	now := time.Now().UnixNano()
	push := func(key string, ts ...int64) {
		t.Helper()
		var es []logproto.Entry
		for _, x := range ts {
			es = append(es, logproto.Entry{Timestamp: now + x, Line: "0123456789"})
		}
		if err := ing.Push(context.Background(), "t", []logproto.Stream{{Labels: key, Entries: es}}); err != nil {
			t.Fatal(err)
		}
	}
	push(`{app="a"}`, 0, 10, 20)
	push(`{app="b"}`, 5)
	app := func(v string) []*labels.Matcher {
		return []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "app", v)}
	}
	ctx := context.Background()
	cases := []struct {
		name          string
		from, through int64
		ms            []*labels.Matcher
		want          []StreamStats
	}{
		{"whole range", now, now + 20, app("a"), []StreamStats{{Labels: labels.FromStrings("app", "a"), Chunks: 1, Bytes: 30, Entries: 3}}},
		{"both streams", now - 100, now + 100, app(".+"), []StreamStats{
			{Labels: labels.FromStrings("app", "a"), Chunks: 1, Bytes: 30, Entries: 3},
			{Labels: labels.FromStrings("app", "b"), Chunks: 1, Bytes: 10, Entries: 1},
		}},
		// [now, now+9] is 10 of the chunk's 21 ns: the share is prorated.
		{"part of a chunk", now, now + 9, app("a"), []StreamStats{{Labels: labels.FromStrings("app", "a"), Chunks: 1, Bytes: 14, Entries: 1}}},
		{"outside", now + 21, now + 100, app("a"), nil},
		{"no match", now, now + 100, app("c"), nil},
	}
	for _, c := range cases {
		got := ing.UnflushedStats(ctx, "t", c.from, c.through, c.ms)
		if len(got) != len(c.want) {
			t.Errorf("%s: UnflushedStats = %+v, want %+v", c.name, got, c.want)
			continue
		}
		for i := range got {
			if !labels.Equal(got[i].Labels, c.want[i].Labels) || got[i].Chunks != c.want[i].Chunks || got[i].Bytes != c.want[i].Bytes || got[i].Entries != c.want[i].Entries {
				t.Errorf("%s: UnflushedStats[%d] = %+v, want %+v", c.name, i, got[i], c.want[i])
			}
		}
	}
	if got := ing.UnflushedStats(ctx, "other", 0, 1<<62, nil); got != nil {
		t.Errorf("UnflushedStats of an unknown tenant = %+v, want nil", got)
	}
	// After a flush nothing is left to count in memory: the store has it.
	if err := ing.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ing.UnflushedStats(ctx, "t", 0, 1<<62, app(".+")); len(got) != 0 {
		t.Errorf("UnflushedStats after flush = %+v, want nothing", got)
	}
}
