// Package ratelimit holds the token bucket behind Sluice's ingestion limits (per tenant in the
// distributor, per stream in the ingester).
package ratelimit

import (
	"sync"
	"time"
)

// Bucket is a rate limiter in bytes: rate per second, with up to burst banked. The rate and
// burst are passed on every call, so a reload of the limits applies at once. The zero value
// starts full. It is safe for concurrent use.
type Bucket struct {
	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// Allow takes n tokens if the bucket holds them at time now, and reports whether it did.
func (b *Bucket) Allow(now time.Time, n, rate, burst float64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last.IsZero() {
		b.tokens = burst
	} else if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens += el * rate
	}
	if b.tokens > burst {
		b.tokens = burst
	}
	b.last = now
	if n > b.tokens {
		return false
	}
	b.tokens -= n
	return true
}
