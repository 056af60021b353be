package index

import (
	"sync"

	bolt "go.etcd.io/bbolt"
)

// commitQueue groups concurrent writes to one table into one transaction (group commit): a
// bbolt commit costs one or two fsyncs whatever its size, and an ingester flushes many streams at
// once. Unlike bbolt's DB.Batch it never waits for company: a lone writer commits at once, and
// writers that arrive while a commit runs go into the next one.
type commitQueue struct {
	mu      sync.Mutex
	pending []*pendingAdd
	running bool // a leader is committing
}

// pendingAdd is one caller's batch waiting in the queue.
type pendingAdd struct {
	batch []tableSeries
	done  chan error    // the batch's result
	lead  chan struct{} // the caller is to commit the queue
}

// add records batch in the table, in a transaction shared with concurrent callers.
func (t *Table) add(batch []tableSeries) error {
	q := &t.commits
	p := &pendingAdd{batch: batch, done: make(chan error, 1), lead: make(chan struct{}, 1)}
	q.mu.Lock()
	q.pending = append(q.pending, p)
	if q.running {
		q.mu.Unlock()
		select {
		case err := <-p.done:
			return err
		case <-p.lead:
		}
	} else {
		q.running = true
		q.mu.Unlock()
	}
	// This caller leads: it commits everything queued, itself included (only a leader empties the
	// queue, and a new leader is the first waiting caller).
	q.mu.Lock()
	group := q.pending
	q.pending = nil
	q.mu.Unlock()

	t.commitGroup(group)

	// Hand over to the first caller that arrived meanwhile, so no caller leads for long.
	q.mu.Lock()
	if len(q.pending) > 0 {
		q.pending[0].lead <- struct{}{}
	} else {
		q.running = false
	}
	q.mu.Unlock()
	return <-p.done
}

// commitGroup writes the batches of group in one transaction. If that fails, it writes each batch
// in a transaction of its own, so that one caller's failure is not another's; adds are idempotent.
func (t *Table) commitGroup(group []*pendingAdd) {
	err := t.update(func(tx *bolt.Tx) error {
		for _, p := range group {
			if err := t.addTx(tx, p.batch); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(group) == 1 {
		for _, p := range group {
			p.done <- err
		}
		return
	}
	for _, p := range group {
		p.done <- t.update(func(tx *bolt.Tx) error { return t.addTx(tx, p.batch) })
	}
}
