package storage

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

// SetIndexReader makes the store answer look-ups from r instead of its own index, for example
// the Union of the local index and the tables shipped by other ingesters. PutChunk still writes
// to the store's own index. Call it before the store is used.
func (s *Store) SetIndexReader(r IndexReader) { s.reader = r }

// OnCorruptChunk makes the store call fn for every chunk it skips because its bytes do not match
// their checksum or do not decode (errors wrapping chunk.ErrCorrupt). A query goes on without
// that chunk rather than failing. Call it before the store is used.
func (s *Store) OnCorruptChunk(fn func(key string, err error)) { s.onCorrupt = fn }

// reportCorrupt tells the hook of a damaged chunk and drops it from the object cache, so the
// next read fetches it again (it may have been repaired).
func (s *Store) reportCorrupt(key string, err error) {
	if inv, ok := s.objects.(invalidator); ok {
		inv.Invalidate(key)
	}
	if s.onCorrupt != nil {
		s.onCorrupt(key, err)
	}
}

// CorruptChunkReporter returns an OnCorruptChunk hook that logs each damaged chunk and counts
// it in sluice_store_corrupt_chunks_total, registered in reg.
func CorruptChunkReporter(logger *slog.Logger, reg prometheus.Registerer) func(key string, err error) {
	corrupt := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "sluice_store_corrupt_chunks_total",
		Help: "Chunks skipped by queries because their bytes failed the checksum or did not decode.",
	})
	if reg != nil {
		reg.MustRegister(corrupt)
	}
	return func(key string, err error) {
		corrupt.Inc()
		logger.Error("chunk is corrupt; skipping it", "key", key, "err", err)
	}
}
