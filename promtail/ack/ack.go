// Package ack tracks which lines of a file the server has acknowledged, so that a file's saved
// position only ever moves past lines that are safely stored.
//
// A reader registers every line it reads with its file's Tracker (Add returns the line's
// sequence number), and the line travels through the pipeline and the clients carrying an Ack.
// Each client calls Done once the batch holding the line was answered 2xx (or given up on);
// a stage that filters the line out calls Drop. Committed reports the end offset of the longest
// prefix of lines that are all finished: the position it is safe to save.
//
// A Tracker expects every line to be finished Clients times (once per push destination).
package ack

import "sync"

// Tracker follows the lines read from one file (one inode).
type Tracker struct {
	mu        sync.Mutex
	clients   int32
	base      uint64 // sequence number of items[head]
	head      int
	items     []item
	committed int64
	read      int64
	onCommit  func()
}

// OnCommit sets f to be called, outside the tracker's lock, each time Committed advances.
// Set it before the first Add.
func (t *Tracker) OnCommit(f func()) { t.onCommit = f }

type item struct {
	end       int64
	remaining int32
}

// NewTracker starts tracking a file read from offset start, whose lines each go to clients
// destinations (at least 1).
func NewTracker(start int64, clients int) *Tracker {
	if clients < 1 {
		clients = 1
	}
	return &Tracker{clients: int32(clients), committed: start, read: start}
}

// Add registers a line ending at offset end and returns its Ack.
func (t *Tracker) Add(end int64) Ack {
	t.mu.Lock()
	seq := t.base + uint64(len(t.items)-t.head)
	t.items = append(t.items, item{end: end, remaining: t.clients})
	t.read = end
	t.mu.Unlock()
	return Ack{t: t, first: seq, last: seq}
}

// Committed returns the offset up to which every line is finished.
func (t *Tracker) Committed() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.committed
}

// Pending returns the number of lines read but not yet finished.
func (t *Tracker) Pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.items) - t.head
}

// Skip moves the committed offset to end when nothing is pending; a reader uses it for bytes
// it consumed without producing a line (a truncated tail it gave up on). It reports whether it
// could.
func (t *Tracker) Skip(end int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.items) != t.head {
		return false
	}
	t.committed, t.read = end, end
	return true
}

// finish lowers the remaining count of lines first..last by one (to zero with all).
func (t *Tracker) finish(first, last uint64, all bool) {
	if t.advance(first, last, all) && t.onCommit != nil {
		t.onCommit()
	}
}

// advance does finish's work under the lock and reports whether Committed moved.
func (t *Tracker) advance(first, last uint64, all bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	before := t.committed
	for s := first; s <= last; s++ {
		if s < t.base {
			continue // already popped: a bug in the caller, finished twice.
		}
		i := t.head + int(s-t.base)
		if i >= len(t.items) {
			break
		}
		if all {
			t.items[i].remaining = 0
		} else if t.items[i].remaining > 0 {
			t.items[i].remaining--
		}
	}
	for t.head < len(t.items) && t.items[t.head].remaining == 0 {
		t.committed = t.items[t.head].end
		t.head++
		t.base++
	}
	// Compact once the finished prefix dominates, so memory follows the pending lines only.
	if t.head > 64 && t.head*2 >= len(t.items) {
		n := copy(t.items, t.items[t.head:])
		t.items = t.items[:n]
		t.head = 0
	}
	return t.committed != before
}

// Ack stands for one or more lines of one or more files. The zero Ack stands for nothing.
type Ack struct {
	t           *Tracker
	first, last uint64
	more        []Ack // lines not contiguous with first..last (rare: merged entries).
}

// Done reports that one destination has finished with the lines (acknowledged or given up).
func (a Ack) Done() {
	if a.t != nil {
		a.t.finish(a.first, a.last, false)
	}
	for _, m := range a.more {
		m.Done()
	}
}

// Drop reports that the lines will never be sent anywhere (a stage filtered them out).
func (a Ack) Drop() {
	if a.t != nil {
		a.t.finish(a.first, a.last, true)
	}
	for _, m := range a.more {
		m.Drop()
	}
}

// IsZero reports whether a stands for no line.
func (a Ack) IsZero() bool { return a.t == nil && len(a.more) == 0 }

// Merge returns an Ack standing for the lines of both a and b, for an entry joined from
// several lines (multiline, CRI partial lines).
func (a Ack) Merge(b Ack) Ack {
	switch {
	case b.IsZero():
		return a
	case a.IsZero():
		return b
	case a.t == b.t && len(b.more) == 0 && b.first == a.last+1:
		a.last = b.last
		return a
	}
	more := make([]Ack, len(a.more), len(a.more)+1)
	copy(more, a.more)
	a.more = append(more, b)
	return a
}
