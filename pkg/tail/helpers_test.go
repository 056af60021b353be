package tail

import (
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/logproto"
)

// stream builds a pushed stream of lines stamped ts0, ts0+1ns, ...
func stream(labels string, ts0 int64, lines ...string) logproto.Stream {
	s := logproto.Stream{Labels: labels}
	for i, l := range lines {
		s.Entries = append(s.Entries, logproto.Entry{Timestamp: ts0 + int64(i), Line: l})
	}
	return s
}

// collect takes from s until it holds want entries (or drops make up the rest), waiting up
// to a few seconds, and returns what it got.
func collect(tb testing.TB, s *Subscription, want int) (entries []Entry, dropped []Dropped) {
	tb.Helper()
	deadline := time.After(5 * time.Second)
	for len(entries)+len(dropped) < want {
		es, ds, _ := s.Take(time.Now().Add(time.Hour), 1<<20, nil)
		entries = append(entries, es...)
		dropped = append(dropped, ds...)
		if len(entries)+len(dropped) >= want {
			break
		}
		select {
		case <-s.Wake():
		case <-deadline:
			tb.Fatalf("got %d entries and %d drops, want %d in all", len(entries), len(dropped), want)
		}
	}
	return entries, dropped
}

// quiet checks that s receives nothing for a short while.
func quiet(tb testing.TB, s *Subscription) {
	tb.Helper()
	time.Sleep(50 * time.Millisecond)
	if es, ds, _ := s.Take(time.Now().Add(time.Hour), 1<<20, nil); len(es)+len(ds) > 0 {
		tb.Fatalf("got %d entries and %d drops, want none", len(es), len(ds))
	}
}

func lines(es []Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Line
	}
	return out
}

func subscribe(tb testing.TB, r *Registry, tenant, query string, delay time.Duration) *Subscription {
	tb.Helper()
	s, err := r.Subscribe(tenant, query, delay)
	if err != nil {
		tb.Fatalf("Subscribe(%q): %v", query, err)
	}
	tb.Cleanup(s.Close)
	return s
}
