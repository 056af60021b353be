package wal

import (
	"fmt"
	"log/slog"
)

// Options tunes a WAL. The zero value gives the defaults.
type Options struct {
	// SegmentSize is the size at which the writer starts a new segment file. A record never
	// spans two segments: a record larger than SegmentSize gets a segment of its own.
	// Default 128 MiB.
	SegmentSize int64
	// MaxPendingBytes bounds the framed records waiting for the writer while it syncs the
	// previous batch; past it, Log waits for room. A single record larger than the bound is
	// still accepted when nothing else is waiting. Default 64 MiB.
	MaxPendingBytes int
	// Logger receives repairs (torn tails), corruption reports and checkpoint results.
	// Default: discard.
	Logger *slog.Logger
	// Metrics receives the WAL's counters. Build it once with NewMetrics and share it between
	// Replay and Open. Default: metrics that are not registered anywhere.
	Metrics *Metrics
}

const (
	defaultSegmentSize     = 128 << 20
	defaultMaxPendingBytes = 64 << 20
)

func (o Options) withDefaults() (Options, error) {
	if o.SegmentSize < 0 || o.MaxPendingBytes < 0 {
		return o, fmt.Errorf("wal options: negative segment size %d or pending bytes %d", o.SegmentSize, o.MaxPendingBytes)
	}
	if o.SegmentSize == 0 {
		o.SegmentSize = defaultSegmentSize
	}
	if o.MaxPendingBytes == 0 {
		o.MaxPendingBytes = defaultMaxPendingBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	return o, nil
}
