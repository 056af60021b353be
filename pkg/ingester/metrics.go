package ingester

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	streams       prometheus.Gauge
	chunks        prometheus.Gauge
	chunksFlushed prometheus.Counter
	flushFailures prometheus.Counter
	flushDuration prometheus.Histogram
	duplicates    *prometheus.CounterVec
	discarded     *prometheus.CounterVec
	releasedEarly prometheus.Counter
	retainedBytes prometheus.GaugeFunc
	replayBytes   prometheus.Counter
	replayFlushes prometheus.Counter
}

// newMetrics registers the ingester's metrics with reg (none when nil); retained reads the
// compressed bytes of the flushed chunks kept for chunk_retain_period.
func newMetrics(reg prometheus.Registerer, retained func() float64) *metrics {
	m := &metrics{
		streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "loki_ingester_memory_streams", Help: "Streams held in memory.",
		}),
		chunks: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "loki_ingester_memory_chunks", Help: "Chunks held in memory: open, waiting for their flush, or flushed and retained for chunk_retain_period.",
		}),
		chunksFlushed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loki_ingester_chunks_flushed_total", Help: "Chunks flushed to the store.",
		}),
		flushFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loki_ingester_chunks_flush_failures_total", Help: "Chunk flushes that failed and will be retried.",
		}),
		flushDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "loki_ingester_chunk_flush_duration_seconds", Help: "Time to write one chunk to the store.",
			Buckets: prometheus.DefBuckets,
		}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loki_ingester_duplicate_entries_total", Help: "Entries dropped because they repeat one already stored.",
		}, []string{"tenant"}),
		discarded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loki_ingester_discarded_samples_total", Help: "Entries the ingester rejected, per reason.",
		}, []string{"reason", "tenant"}),
		releasedEarly: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_ingester_retained_chunks_released_early_total",
			Help: "Flushed chunks released before chunk_retain_period ended, to stay within chunk_retain_max_bytes or, in a WAL replay, replay_memory_ceiling; read processes miss their lines until they next sync the index.",
		}),
		retainedBytes: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sluice_ingester_retained_chunk_bytes",
			Help: "Compressed bytes of the flushed chunks kept in memory for chunk_retain_period (bounded by chunk_retain_max_bytes).",
		}, retained),
		replayBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loki_ingester_wal_recovered_bytes_total", Help: "Bytes of log lines and structured metadata replayed from the WAL.",
		}),
		replayFlushes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_ingester_wal_replay_flushes_total",
			Help: "Times a WAL replay reached replay_memory_ceiling and flushed what it had replayed before going on.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.streams, m.chunks, m.chunksFlushed, m.flushFailures, m.flushDuration, m.duplicates, m.discarded, m.releasedEarly, m.retainedBytes, m.replayBytes, m.replayFlushes)
	}
	return m
}
