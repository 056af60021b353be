// Package querystats collects what one query cost in the store — chunks referenced and
// fetched, bytes and lines decompressed — for the statistics Loki returns with every query
// (data.stats). The collector travels in the query's context; readers add to it, and the API
// layer reads it when the query is done. Without a collector in the context, adding is a no-op.
package querystats

import (
	"context"
	"sync/atomic"
)

// Stats are one query's store figures. Readers on several goroutines add to it.
type Stats struct {
	ChunksRef         atomic.Int64
	ChunksDownloaded  atomic.Int64
	CompressedBytes   atomic.Int64
	DecompressedLines atomic.Int64
	DecompressedBytes atomic.Int64
	// HeadChunkLines and HeadChunkBytes are decoded from the ingesters' unflushed data.
	HeadChunkLines atomic.Int64
	HeadChunkBytes atomic.Int64
}

type key struct{}

// With returns ctx carrying a new collector, and the collector.
func With(ctx context.Context) (context.Context, *Stats) {
	s := &Stats{}
	return context.WithValue(ctx, key{}, s), s
}

// From returns the collector in ctx, or nil.
func From(ctx context.Context) *Stats {
	s, _ := ctx.Value(key{}).(*Stats)
	return s
}
