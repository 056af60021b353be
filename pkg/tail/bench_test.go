package tail

import (
	"fmt"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/logproto"
)

// benchBatch is one push: 10 streams of 100 JSON lines.
func benchBatch() ([]logproto.Stream, int) {
	var streams []logproto.Stream
	size := 0
	for s := range 10 {
		st := logproto.Stream{Labels: fmt.Sprintf(`{app="app-%d", env="prod"}`, s)}
		for i := range 100 {
			level := "info"
			if i%10 == 0 {
				level = "error"
			}
			line := fmt.Sprintf(`{"level":"%s","user":"user=%d","msg":"request served","path":"/api/v1/items/%d","took":"%dms"}`, level, i*7, i, i%50)
			st.Entries = append(st.Entries, logproto.Entry{Timestamp: int64(s*1000 + i), Line: line})
			size += len(line)
		}
		streams = append(streams, st)
	}
	return streams, size
}

// benchTails opens 100 tails of tenant "t": a quarter each of a one-stream selector, a line
// filter, a json parser with a label filter, and a regexp filter.
// With distinct, every tail's query differs (by a label filter that passes everything), so
// that none share a pipeline.
func benchTails(b *testing.B, r *Registry, distinct bool) []*Subscription {
	var subs []*Subscription
	for i := range 100 {
		var q string
		switch i % 4 {
		case 0:
			q = fmt.Sprintf(`{app="app-%d"}`, i%10)
		case 1:
			q = `{env="prod"} |= "error"`
		case 2:
			q = `{env="prod"} | json | level="error"`
		default:
			q = `{env="prod"} |~ "user=[0-9]+5\""`
		}
		if distinct {
			q += fmt.Sprintf(` | tail!="%d"`, i)
		}
		subs = append(subs, subscribe(b, r, "t", q, 0))
	}
	return subs
}

// BenchmarkFanout measures the matching side: one push of 1000 entries run through 100
// tails' selectors and pipelines, and the readers taking what they got. "shared" has 13
// different queries among the 100 tails, "distinct" 100.
func BenchmarkFanout(b *testing.B) {
	b.Run("shared", func(b *testing.B) { benchFanout(b, false) })
	b.Run("distinct", func(b *testing.B) { benchFanout(b, true) })
}

func benchFanout(b *testing.B, distinct bool) {
	r := New(Config{BufferEntries: 1 << 20, BufferBytes: 1 << 30}, nil)
	subs := benchTails(b, r, distinct)
	batch, size := benchBatch()
	r.mu.RLock()
	h := r.hubs["t"]
	r.mu.RUnlock()
	buf := make([]Entry, 0, 1000)
	delivered := 0
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		// The hub's goroutine idles (nothing is pushed), so calling match here is safe.
		h.match(batch)
		for _, s := range subs {
			es, _, _ := s.Take(time.Now().Add(time.Hour), 1<<20, buf[:0])
			delivered += len(es)
		}
	}
	b.ReportMetric(float64(delivered)/float64(b.N), "delivered/op")
}

// BenchmarkPush measures what a push costs the ingester with 100 tails open: the copy and
// the queueing. The hub's goroutine is stopped and the benchmark takes the queued push off
// itself, so that the matching (BenchmarkFanout) is not counted.
func BenchmarkPush(b *testing.B) {
	r := New(Config{}, nil)
	benchTails(b, r, true)
	r.mu.RLock()
	h := r.hubs["t"]
	r.mu.RUnlock()
	close(h.stop)
	<-h.done
	h.stop = make(chan struct{}) // Close will stop it again
	h.done = make(chan struct{})
	close(h.done)
	batch, size := benchBatch()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r.Push("t", batch)
		// Take the push off the queue as the hub's goroutine does, bytes included: the hub
		// drops a push that would take its queued bytes past QueueBytes.
		select {
		case q := <-h.queue:
			h.queued.Add(-int64(q.size))
		default:
			b.Fatal("the push was not queued")
		}
	}
}

// BenchmarkPushNoTails is the cost of the hook when nobody tails.
func BenchmarkPushNoTails(b *testing.B) {
	r := New(Config{}, nil)
	batch, size := benchBatch()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r.Push("t", batch)
	}
}
