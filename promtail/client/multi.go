package client

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/sluicelog/sluice/promtail/config"
	"github.com/sluicelog/sluice/promtail/entry"
)

// Sender is what readers and pipelines hand entries to.
type Sender interface {
	// Send hands e over; it blocks while the destinations are busy (back-pressure) and returns
	// ctx's error if ctx ends first.
	Send(ctx context.Context, e entry.Entry) error
}

// Multi fans entries out to every configured client. Each client finishes the entry's Ack
// once, so trackers must be created with Len clients.
type Multi struct {
	clients []*Client
	mu      sync.RWMutex
	stopped bool
}

// NewMulti builds one client per config.
func NewMulti(cfgs []config.ClientConfig, m *Metrics, log *slog.Logger) (*Multi, error) {
	mc := &Multi{}
	for i, cfg := range cfgs {
		c, err := New(cfg, m, log)
		if err != nil {
			mc.Stop(context.Background())
			return nil, fmt.Errorf("clients[%d]: %w", i, err)
		}
		mc.clients = append(mc.clients, c)
	}
	return mc, nil
}

// AfterBatch sets f on every client; see Client.AfterBatch.
func (mc *Multi) AfterBatch(f func()) {
	for _, c := range mc.clients {
		c.AfterBatch(f)
	}
}

// Len is the number of destinations.
func (mc *Multi) Len() int { return len(mc.clients) }

// Send implements Sender.
func (mc *Multi) Send(ctx context.Context, e entry.Entry) error {
	mc.mu.RLock()
	defer mc.mu.RUnlock()
	if mc.stopped {
		return fmt.Errorf("send entry: clients stopped")
	}
	// Each client keeps a shallow copy of e in its batch: labels are shared read-only.
	for _, c := range mc.clients {
		select {
		case c.Chan() <- e:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Stop flushes and stops every client within ctx.
func (mc *Multi) Stop(ctx context.Context) {
	mc.mu.Lock()
	mc.stopped = true
	mc.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range mc.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Stop(ctx)
		}()
	}
	wg.Wait()
}
