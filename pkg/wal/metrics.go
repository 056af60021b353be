package wal

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the WAL's Prometheus metrics. The names follow Loki's ingester WAL metrics with
// the sluice_ prefix, so existing dashboards translate by renaming.
type Metrics struct {
	RecordsLogged      prometheus.Counter
	BytesLogged        prometheus.Counter
	Fsyncs             prometheus.Counter
	FsyncDuration      prometheus.Histogram
	BatchRecords       prometheus.Histogram
	Segment            prometheus.Gauge
	Checkpoints        prometheus.Counter
	CheckpointFailures prometheus.Counter
	CheckpointDuration prometheus.Histogram
	ReplayRecords      prometheus.Counter
	TornTails          prometheus.Counter
	Corruptions        prometheus.Counter
}

// NewMetrics builds the WAL metrics and registers them with reg; a nil reg leaves them
// unregistered (tests, or a caller that only reads them). Like promauto, it panics if the
// names are already registered with reg: build one Metrics per process and share it.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		RecordsLogged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_ingester_wal_records_logged_total",
			Help: "Records written to the WAL and synced.",
		}),
		BytesLogged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_ingester_wal_logged_bytes_total",
			Help: "Bytes written to WAL segments, framing included.",
		}),
		Fsyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_ingester_wal_fsyncs_total",
			Help: "fsync calls on WAL segments; records_logged/fsyncs is the group commit factor.",
		}),
		FsyncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sluice_ingester_wal_fsync_duration_seconds",
			Help:    "Time spent in fsync of a WAL segment.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 9),
		}),
		BatchRecords: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sluice_ingester_wal_batch_records",
			Help:    "Records made durable by one group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
		Segment: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sluice_ingester_wal_segment_current",
			Help: "Number of the WAL segment being written.",
		}),
		Checkpoints: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_ingester_checkpoint_creations_total",
			Help: "Checkpoints written successfully.",
		}),
		CheckpointFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_ingester_checkpoint_creations_failed_total",
			Help: "Checkpoints that failed; the WAL segments they would have replaced are kept.",
		}),
		CheckpointDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sluice_ingester_checkpoint_duration_seconds",
			Help:    "Time taken to write a checkpoint.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 8),
		}),
		ReplayRecords: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_ingester_wal_replay_records_total",
			Help: "Records read back from checkpoints and segments at start-up.",
		}),
		TornTails: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_ingester_wal_torn_tails_total",
			Help: "Incomplete or damaged tails of the newest segment that were truncated (a crash during a write).",
		}),
		Corruptions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_ingester_wal_corruptions_total",
			Help: "Damaged WAL files found during replay whose remainder was skipped.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.RecordsLogged, m.BytesLogged, m.Fsyncs, m.FsyncDuration, m.BatchRecords,
			m.Segment, m.Checkpoints, m.CheckpointFailures, m.CheckpointDuration, m.ReplayRecords,
			m.TornTails, m.Corruptions)
	}
	return m
}
