package sluice

import (
	"strings"
	"testing"
	"time"
)

// TestChunkRetainPeriod: ingester.chunk_retain_period, Loki's key and flag. Not given, it is 7m
// in a process whose ingester only other processes' queriers read (-target=write): longer than
// such a querier can take to see a flushed chunk in the shipped index (the write process's upload
// interval plus the read process's resync interval, at their defaults), so that no flushed line
// is missing from its answers in between; and 0 where the process's own querier reads the index
// as it is written (-target=all). Given, it is what was given, whatever the target.
func TestChunkRetainPeriod(t *testing.T) {
	s3 := []string{"-s3.buckets=logs", "-s3.endpoint=127.0.0.1:9000"}
	for _, c := range []struct {
		name string
		yaml string
		args []string
		want time.Duration
	}{
		{name: "write", args: append([]string{"-target=write"}, s3...), want: 7 * time.Minute},
		{name: "ingester and distributor", args: append([]string{"-target=distributor,ingester"}, s3...), want: 7 * time.Minute},
		{name: "all", want: 0},
		{name: "write,read", args: append([]string{"-target=write,read"}, s3...), want: 0},
		{name: "given in yaml to write", yaml: "ingester:\n  chunk_retain_period: 30s\n", args: append([]string{"-target=write"}, s3...), want: 30 * time.Second},
		{name: "given 0s to write", args: append([]string{"-target=write", "-ingester.chunks-retain-period=0s"}, s3...), want: 0},
		{name: "given to all", args: []string{"-ingester.chunks-retain-period=15m"}, want: 15 * time.Minute},
		{name: "flag over yaml", yaml: "ingester:\n  chunk_retain_period: 30s\n", args: []string{"-ingester.chunks-retain-period=1h"}, want: time.Hour},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := loadYAML(t, c.yaml, c.args...)
			if err != nil {
				t.Fatal(err)
			}
			m, err := parseTarget(cfg.Target)
			if err != nil {
				t.Fatal(err)
			}
			r := cfg.chunkRetainPeriod(m)
			if !r.Given() || r.D() != c.want {
				t.Fatalf("chunk_retain_period = %s (given %v), want %s", r.D(), r.Given(), c.want)
			}
			cfg.Ingester.ChunkRetainPeriod = r
			y, err := cfg.YAML()
			if err != nil {
				t.Fatal(err)
			}
			if want := "chunk_retain_period: " + r.String() + "\n"; !strings.Contains(string(y), want) {
				t.Fatalf("/config does not show %q:\n%s", want, y)
			}
		})
	}

	cfg, err := loadYAML(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if delay := cfg.indexShippingDelay(); delay != 6*time.Minute || cfg.Ingester.ChunkRetainPeriod.D() <= delay {
		t.Fatalf("default chunk_retain_period %s, index shipping delay %s with the default intervals; want the delay 6m (1m upload, 5m resync) and the period above it",
			cfg.Ingester.ChunkRetainPeriod.D(), delay)
	}
	// The delay follows the configured intervals, 0 meaning their defaults as in the shipper.
	cfg, err = loadYAML(t, "storage_config:\n  boltdb_shipper:\n    upload_interval: 30s\n    resync_interval: 0s\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.indexShippingDelay(); got != 30*time.Second+5*time.Minute {
		t.Fatalf("indexShippingDelay with upload 30s, resync 0s = %s, want 5m30s", got)
	}
}

// TestReplayMemoryCeilingConfig: Loki's ingester.wal.replay_memory_ceiling loads from YAML in
// Loki's size form, its flag wins over it, the default is Loki's 4GB, and 0 is refused by name.
func TestReplayMemoryCeilingConfig(t *testing.T) {
	for _, c := range []struct {
		yaml string
		args []string
		want uint64
	}{
		{want: 4 << 30},
		{yaml: "ingester:\n  wal:\n    replay_memory_ceiling: 2GB\n", want: 2 << 30},
		{yaml: "ingester:\n  wal:\n    replay_memory_ceiling: 2GB\n", args: []string{"-ingester.wal-replay-memory-ceiling=512MB"}, want: 512 << 20},
	} {
		cfg, err := loadYAML(t, c.yaml, c.args...)
		if err != nil {
			t.Fatal(err)
		}
		if got := uint64(cfg.Ingester.WAL.ReplayMemoryCeiling); got != c.want {
			t.Errorf("%q %v: replay_memory_ceiling = %d, want %d", c.yaml, c.args, got, c.want)
		}
	}
	_, err := loadYAML(t, "ingester:\n  wal:\n    replay_memory_ceiling: 0\n")
	if err == nil || !strings.Contains(err.Error(), "ingester.wal.replay_memory_ceiling: must be positive") {
		t.Fatalf("a ceiling of 0: err = %v", err)
	}
}
