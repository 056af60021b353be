package compactor

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/flagext"
	"github.com/sluicelog/sluice/pkg/validation"
)

func TestRunLoop(t *testing.T) {
	e := newEnv(t, validation.Limits{RetentionPeriod: days(7)})
	e.cfg.CompactionInterval = flagext.Duration(10 * time.Millisecond)
	e.cfg.RetentionDeleteDelay = 0
	e.restart()
	old := e.put("fake", labels.FromStrings("app", "api"), start.Add(-8*day), "old")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.c.Run(ctx)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for len(e.keys("fake")) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("old chunk %s still stored after 10s of the loop", old)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if got := counterValue(e.c.m.runs.WithLabelValues("success")); got < 1 {
		t.Fatalf("successful runs = %v, want at least 1", got)
	}
}

func TestConfig(t *testing.T) {
	c := DefaultConfig()
	if c.CompactionInterval.D() != 10*time.Minute || c.RetentionEnabled || c.RetentionDeleteDelay.D() != 2*time.Hour ||
		c.DeleteRequestCancelPeriod.D() != 24*time.Hour || c.RetentionDeleteWorkerCount != 150 {
		t.Fatalf("DefaultConfig() = %+v, want Loki's defaults", c)
	}
	if err := c.Validate(); err == nil {
		t.Fatal("Validate() without a working directory = nil, want an error")
	}
	c.WorkingDirectory = t.TempDir()
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	c.CompactionInterval = 0
	c.RetentionDeleteWorkerCount = 0
	if err := c.Validate(); err == nil {
		t.Fatal("Validate() with a zero interval = nil, want an error")
	}
}
