package tail

import (
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logql/log"
)

// maxDropped is the number of dropped entries remembered between two reads, as in Loki's
// querier; drops past it are only counted.
const maxDropped = 1000

// Entry is one entry of a tail, as the subscription's pipeline left it.
type Entry struct {
	Timestamp int64 // Unix ns
	Line      string
	// Labels are the entry's labels after the pipeline: stream labels, structured metadata
	// and parsed labels, each kind also available apart. Immutable; may be shared between
	// entries.
	Labels log.LabelsResult
}

// Dropped is an entry a tail missed: its reader was too slow, or the tenant's queue was full.
type Dropped struct {
	Timestamp int64 // Unix ns
	// Labels are the entry's labels after the pipeline when the entry was dropped from a full
	// buffer, the stream's labels when it never reached the pipeline (full queue).
	Labels labels.Labels
}

// Subscription is one live tail: the entries of one tenant that one log query selects,
// from the moment it was opened.
//
// Take, Wake, Done, Err and Close are safe for concurrent use; the matching side (the hub)
// is the only user of the pipeline.
type Subscription struct {
	reg      *Registry
	tenant   string
	delay    time.Duration
	matchers []*labels.Matcher
	pipeline *sharedPipeline

	mu      sync.Mutex
	pending entryHeap
	bytes   int // line bytes in pending
	seq     uint64
	dropped []Dropped
	err     error

	wake     chan struct{} // signalled (never closed) when entries or drops arrive
	done     chan struct{} // closed when the subscription ends
	timer    *time.Timer   // ends the subscription after MaxDuration; under mu
	finished sync.Once
}

// pendingEntry is an entry waiting for its reader, with the time it becomes due.
type pendingEntry struct {
	Entry
	due int64  // Unix ns
	seq uint64 // arrival order, to keep equal timestamps in push order
}

// entryHeap is a min-heap of pending entries by (timestamp, seq). It is written out rather
// than built on container/heap, whose Push and Pop box every entry in an interface: two
// allocations per entry on the fan-out path.
type entryHeap []pendingEntry

func (h entryHeap) less(i, j int) bool {
	if h[i].Timestamp != h[j].Timestamp {
		return h[i].Timestamp < h[j].Timestamp
	}
	return h[i].seq < h[j].seq
}

func (h *entryHeap) push(e pendingEntry) {
	*h = append(*h, e)
	q := *h
	for i := len(q) - 1; i > 0; {
		parent := (i - 1) / 2
		if !q.less(i, parent) {
			break
		}
		q[i], q[parent] = q[parent], q[i]
		i = parent
	}
}

func (h *entryHeap) pop() pendingEntry {
	q := *h
	top := q[0]
	last := len(q) - 1
	q[0] = q[last]
	q[last] = pendingEntry{}
	q = q[:last]
	for i := 0; ; {
		smallest, l, r := i, 2*i+1, 2*i+2
		if l < len(q) && q.less(l, smallest) {
			smallest = l
		}
		if r < len(q) && q.less(r, smallest) {
			smallest = r
		}
		if smallest == i {
			break
		}
		q[i], q[smallest] = q[smallest], q[i]
		i = smallest
	}
	*h = q
	return top
}

// Wake is signalled when entries or drops arrive. It is never closed: select on Done too.
func (s *Subscription) Wake() <-chan struct{} { return s.wake }

// Done is closed when the subscription ends: by Close, after the maximum duration, or
// when the registry closes. Err then tells why.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err is why the subscription ended: nil after Close, ErrMaxDuration or ErrClosed.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the subscription and releases it. Calling it more than once is fine.
func (s *Subscription) Close() { s.finish(nil) }

func (s *Subscription) finish(err error) {
	s.finished.Do(func() {
		// Unregister first, so that a reader woken by Done sees the tail gone.
		s.reg.remove(s)
		s.mu.Lock()
		s.err = err
		s.pending = nil
		s.dropped = nil
		timer := s.timer
		s.mu.Unlock()
		if timer != nil {
			timer.Stop()
		}
		close(s.done)
	})
}

// Take returns, in timestamp order, up to max entries that are due at now, appended to dst,
// and the entries dropped since the last call. An entry is due delay_for after its timestamp
// or after it arrived, whichever is earlier, so that late entries can still be put in order
// without holding entries stamped in the future for longer than delay_for.
//
// wait tells when to call again: 0 when more entries are due now, the time until the next
// one is due, or -1 when nothing is pending.
func (s *Subscription) Take(now time.Time, max int, dst []Entry) (entries []Entry, dropped []Dropped, wait time.Duration) {
	nowNs := now.UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	entries = dst
	for len(s.pending) > 0 && len(entries)-len(dst) < max {
		top := &s.pending[0]
		if top.due > nowNs {
			break
		}
		e := s.pending.pop()
		s.bytes -= len(e.Line)
		entries = append(entries, e.Entry)
	}
	dropped, s.dropped = s.dropped, nil
	switch {
	case len(s.pending) == 0:
		wait = -1
	case s.pending[0].due <= nowNs:
		wait = 0
	default:
		wait = time.Duration(s.pending[0].due - nowNs)
	}
	return entries, dropped, wait
}

// sharedPipeline is a query's pipeline, used by the hub's goroutine only, for one or more
// subscriptions.
type sharedPipeline struct {
	key     string // the query in canonical form; "" when the pipeline has state (distinct)
	p       log.Pipeline
	scratch []Entry
}

// matches reports whether the stream labels ls are selected by ms.
func matches(ms []*labels.Matcher, ls labels.Labels) bool {
	for _, m := range ms {
		if !m.Matches(ls.Get(m.Name)) {
			return false
		}
	}
	return true
}

// deliver buffers entries that arrived at arrival, dropping what does not fit, and wakes the
// reader. It reports how many entries it dropped.
func (s *Subscription) deliver(entries []Entry, arrival int64, maxEntries, maxBytes int) (dropped int) {
	s.mu.Lock()
	if s.err != nil || isClosed(s.done) {
		s.mu.Unlock()
		return 0
	}
	delay := s.delay.Nanoseconds()
	for _, e := range entries {
		if len(s.pending) >= maxEntries || s.bytes+len(e.Line) > maxBytes {
			dropped++
			if len(s.dropped) < maxDropped {
				s.dropped = append(s.dropped, Dropped{Timestamp: e.Timestamp, Labels: e.Labels.Labels()})
			}
			continue
		}
		s.seq++
		s.pending.push(pendingEntry{Entry: e, due: min(e.Timestamp, arrival) + delay, seq: s.seq})
		s.bytes += len(e.Line)
	}
	s.mu.Unlock()
	s.signal()
	return dropped
}

// lose records entries that never reached the pipeline.
func (s *Subscription) lose(ls labels.Labels, ts []int64) {
	s.mu.Lock()
	for _, t := range ts {
		if len(s.dropped) >= maxDropped {
			break
		}
		s.dropped = append(s.dropped, Dropped{Timestamp: t, Labels: ls})
	}
	s.mu.Unlock()
	s.signal()
}

func (s *Subscription) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
