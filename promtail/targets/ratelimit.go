package targets

import (
	"context"
	"sync"
	"time"
)

// RateLimiter is limits_config's readline rate: a token bucket shared by every file.
type RateLimiter struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
	drop   bool
}

// NewRateLimiter allows rate lines per second with bursts of burst; with drop, lines over the
// limit are dropped, otherwise reading waits.
func NewRateLimiter(rate float64, burst int, drop bool) *RateLimiter {
	if burst < 1 {
		burst = 1
	}
	return &RateLimiter{rate: rate, burst: float64(burst), tokens: float64(burst), last: time.Now(), drop: drop}
}

// Allow takes a token, waiting for one unless the limiter drops; it reports whether the line
// may go on (false: drop it, or ctx ended).
func (r *RateLimiter) Allow(ctx context.Context) bool {
	for {
		r.mu.Lock()
		now := time.Now()
		r.tokens = min(r.burst, r.tokens+now.Sub(r.last).Seconds()*r.rate)
		r.last = now
		if r.tokens >= 1 {
			r.tokens--
			r.mu.Unlock()
			return true
		}
		wait := time.Duration((1 - r.tokens) / r.rate * float64(time.Second))
		r.mu.Unlock()
		if r.drop {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
	}
}
