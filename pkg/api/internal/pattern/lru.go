package pattern

// link puts a cluster on an lru list. A cluster has two: one on its stream's list, one on the
// Detector's list of all clusters.
type link struct {
	prev, next *link
	c          *cluster
}

// lru is a list of clusters, the most recently matched first, so that the one to evict is at
// the back. It must not be copied after init.
type lru struct{ root link }

func (l *lru) init() { l.root.prev, l.root.next = &l.root, &l.root }

func (l *lru) pushFront(e *link) {
	e.prev, e.next = &l.root, l.root.next
	e.prev.next, e.next.prev = e, e
}

func (l *lru) remove(e *link) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

func (l *lru) moveToFront(e *link) {
	if l.root.next == e {
		return
	}
	l.remove(e)
	l.pushFront(e)
}

// back returns the least recently matched cluster, or nil when the list is empty.
func (l *lru) back() *cluster {
	if l.root.prev == &l.root {
		return nil
	}
	return l.root.prev.c
}

// each calls f on every cluster, the most recently matched first. f must not change the list.
func (l *lru) each(f func(*cluster)) {
	for e := l.root.next; e != &l.root; e = e.next {
		f(e.c)
	}
}
