package tail

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
	"github.com/sluicelog/sluice/pkg/unsafestr"
)

// maxCachedStreams bounds the hub's cache of parsed stream labels; past it the cache starts
// over (a tenant with more streams than this pays a parse per stream and push).
const maxCachedStreams = 100_000

// hub matches one tenant's pushes against its subscriptions, on its own goroutine, so that
// the pushing goroutine only copies and queues.
type hub struct {
	r      *Registry
	tenant string
	queue  chan queued
	queued atomic.Int64                    // bytes in queue
	subs   atomic.Pointer[[]*Subscription] // replaced, never modified, under r.mu
	groups atomic.Pointer[[]*group]        // subs by shared pipeline, replaced with subs

	lostMu   sync.Mutex
	lost     []lostStream // pushes that found the queue full
	lostN    int          // entries in lost
	lostWake chan struct{}

	stop chan struct{}
	done chan struct{}

	streams map[string]labels.Labels // parsed stream labels by key; hub goroutine only
}

// group is the subscriptions that share one pipeline: tails of the same query (without a
// stateful stage) cost one evaluation per entry however many readers they have.
type group struct {
	matchers []*labels.Matcher
	pipeline *sharedPipeline
	subs     []*Subscription
}

// queued is a copied push waiting in the queue.
type queued struct {
	streams []logproto.Stream
	size    int
}

// lostStream is what is kept of a push that could not be queued: enough for dropped_entries.
type lostStream struct {
	key string
	ts  []int64
}

func newHub(r *Registry, tenant string) *hub {
	h := &hub{
		r: r, tenant: tenant,
		queue:    make(chan queued, r.cfg.QueueSize),
		lostWake: make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		streams:  map[string]labels.Labels{},
	}
	h.setSubs(nil)
	go h.run()
	return h
}

// setSubs replaces the subscriptions and regroups them; called with r.mu held.
func (h *hub) setSubs(subs []*Subscription) {
	var groups []*group
	byPipe := map[*sharedPipeline]*group{}
	for _, s := range subs {
		g := byPipe[s.pipeline]
		if g == nil {
			g = &group{matchers: s.matchers, pipeline: s.pipeline}
			byPipe[s.pipeline] = g
			groups = append(groups, g)
		}
		g.subs = append(g.subs, s)
	}
	h.subs.Store(&subs)
	h.groups.Store(&groups)
}

// sharedPipeline returns the pipeline of a subscription to the query key, if one exists and
// may be shared; called with r.mu held.
func (h *hub) sharedPipeline(key string) *sharedPipeline {
	for _, s := range *h.subs.Load() {
		if s.pipeline.key != "" && s.pipeline.key == key {
			return s.pipeline
		}
	}
	return nil
}

// shutdown stops the goroutine; called once, with r.mu held, when the last subscription left.
func (h *hub) shutdown() { close(h.stop) }

// offer queues a copy of streams, or records them as lost when the queue is full.
func (h *hub) offer(streams []logproto.Stream) {
	size := streamsSize(streams)
	if q := h.queued.Load(); len(h.queue) < cap(h.queue) && (q == 0 || q+int64(size) <= int64(h.r.cfg.QueueBytes)) {
		h.queued.Add(int64(size))
		select {
		case h.queue <- queued{cloneStreams(streams, size), size}:
			h.r.metrics.pushesQueued.Inc()
			return
		default:
			h.queued.Add(-int64(size))
		}
	}
	h.r.metrics.pushesDropped.Inc()
	h.lostMu.Lock()
	for _, s := range streams {
		if h.lostN >= maxDropped {
			break
		}
		n := min(len(s.Entries), maxDropped-h.lostN)
		ls := lostStream{key: strings.Clone(s.Labels), ts: make([]int64, n)}
		for i := range n {
			ls.ts[i] = s.Entries[i].Timestamp
		}
		h.lost = append(h.lost, ls)
		h.lostN += n
	}
	h.lostMu.Unlock()
	select {
	case h.lostWake <- struct{}{}:
	default:
	}
}

func (h *hub) run() {
	defer close(h.done)
	for {
		select {
		case <-h.stop:
			return
		case b := <-h.queue:
			h.match(b.streams)
			h.queued.Add(-int64(b.size))
		case <-h.lostWake:
		}
		h.reportLost()
	}
}

// match runs one push through every subscription.
func (h *hub) match(streams []logproto.Stream) {
	groups := *h.groups.Load()
	arrival := time.Now().UnixNano()
	cfg := &h.r.cfg
	for _, st := range streams {
		ls, ok := h.labels(st.Labels)
		if !ok {
			continue
		}
		for _, g := range groups {
			if !matches(g.matchers, ls) {
				continue
			}
			sp := g.pipeline.p.ForStream(ls)
			out := g.pipeline.scratch[:0]
			for _, e := range st.Entries {
				line, res, keep := sp.ProcessString(e.Timestamp, e.Line, e.StructuredMetadata)
				if keep {
					out = append(out, Entry{Timestamp: e.Timestamp, Line: line, Labels: res})
				}
			}
			if len(out) == 0 {
				continue
			}
			for _, s := range g.subs {
				if n := s.deliver(out, arrival, cfg.BufferEntries, cfg.BufferBytes); n > 0 {
					h.r.metrics.droppedSlow.Add(float64(n))
				}
			}
			h.r.metrics.entries.Add(float64(len(out) * len(g.subs)))
			clear(out) // let the lines go
			g.pipeline.scratch = out[:0]
		}
	}
}

// reportLost hands the entries of pushes that found the queue full to the subscriptions
// whose selector they match, as dropped entries.
func (h *hub) reportLost() {
	h.lostMu.Lock()
	lost := h.lost
	h.lost, h.lostN = nil, 0
	h.lostMu.Unlock()
	if len(lost) == 0 {
		return
	}
	subs := *h.subs.Load()
	for _, l := range lost {
		ls, ok := h.labels(l.key)
		if !ok {
			continue
		}
		for _, s := range subs {
			if matches(s.matchers, ls) {
				s.lose(ls, l.ts)
				h.r.metrics.droppedQueueFull.Add(float64(len(l.ts)))
			}
		}
	}
}

// labels returns the parsed labels of a stream key.
func (h *hub) labels(key string) (labels.Labels, bool) {
	if ls, ok := h.streams[key]; ok {
		return ls, true
	}
	ls, err := syntax.ParseLabels(key)
	if err != nil {
		return labels.EmptyLabels(), false // the ingester only stores parsed keys: not reached
	}
	if len(h.streams) >= maxCachedStreams {
		clear(h.streams)
	}
	h.streams[strings.Clone(key)] = ls
	return ls, true
}

// streamsSize is the bytes of the labels and lines of streams.
func streamsSize(streams []logproto.Stream) int {
	size := 0
	for _, s := range streams {
		size += len(s.Labels)
		for _, e := range s.Entries {
			size += len(e.Line)
		}
	}
	return size
}

// cloneStreams deep-copies streams, whose streamsSize is size, with one allocation for all
// strings, so that the pusher may reuse its buffers as soon as Push returns.
func cloneStreams(streams []logproto.Stream, size int) []logproto.Stream {
	n := 0
	for _, s := range streams {
		n += len(s.Entries)
	}
	arena := make([]byte, 0, size)
	str := func(s string) string {
		start := len(arena)
		arena = append(arena, s...) // never grows: size is exact
		return unsafestr.String(arena[start:len(arena):len(arena)])
	}
	out := make([]logproto.Stream, len(streams))
	entries := make([]logproto.Entry, n)
	for i, s := range streams {
		es := entries[:len(s.Entries):len(s.Entries)]
		entries = entries[len(s.Entries):]
		for j, e := range s.Entries {
			es[j] = logproto.Entry{Timestamp: e.Timestamp, Line: str(e.Line)}
			if !e.StructuredMetadata.IsEmpty() {
				es[j].StructuredMetadata = e.StructuredMetadata.Copy()
			}
		}
		out[i] = logproto.Stream{Labels: str(s.Labels), Entries: es}
	}
	return out
}
