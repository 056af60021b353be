package distributor

import (
	"sync"
	"time"
)

// tokenBucket is a rate limiter in bytes: rate per second, up to burst banked. It is small
// enough that a dependency would buy nothing.
type tokenBucket struct {
	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// allow takes n tokens if the bucket holds them at time now.
func (b *tokenBucket) allow(now time.Time, n, rate, burst float64) bool {
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
