package ratelimit

import (
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	var b Bucket
	now := time.Unix(0, 0)
	if !b.Allow(now, 10, 5, 10) {
		t.Fatal("a full bucket refused its burst")
	}
	if b.Allow(now, 1, 5, 10) {
		t.Fatal("an empty bucket allowed more")
	}
	now = now.Add(time.Second) // refills 5
	if !b.Allow(now, 5, 5, 10) || b.Allow(now, 1, 5, 10) {
		t.Fatal("refill after one second is not the rate")
	}
	now = now.Add(time.Hour) // refill is capped at the burst
	if !b.Allow(now, 10, 5, 10) || b.Allow(now, 1, 5, 10) {
		t.Fatal("refill is not capped at the burst")
	}
}
