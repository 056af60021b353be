package compactor

import "github.com/prometheus/client_golang/prometheus"

// metrics are the compactor's loki_compactor_* series.
type metrics struct {
	running           prometheus.Gauge
	runs              *prometheus.CounterVec
	lastSuccess       prometheus.Gauge
	marked            prometheus.Counter
	deletedChunks     *prometheus.CounterVec
	rewritten         prometheus.Counter
	deletedLines      *prometheus.CounterVec
	swept             prometheus.Counter
	skippedReferenced prometheus.Counter
	markerFiles       prometheus.Gauge
	requestsProcessed *prometheus.CounterVec
	pendingRequests   prometheus.Gauge
	errors            *prometheus.CounterVec
	shippedMerged     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "loki_compactor_running", Help: "Value will be 1 if compactor is currently running on this instance.",
		}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loki_compactor_apply_retention_operation_total", Help: "Total number of retention and deletion runs, by status.",
		}, []string{"status"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "loki_compactor_apply_retention_last_successful_run_timestamp_seconds", Help: "Unix time of the last successful retention and deletion run.",
		}),
		marked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loki_compactor_retention_marker_count_total", Help: "Total number of chunks marked for deletion.",
		}),
		deletedChunks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loki_compactor_deleted_chunks_total", Help: "Total number of chunks removed from the index, by reason (retention, delete_request).",
		}, []string{"reason"}),
		rewritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loki_compactor_rewritten_chunks_total", Help: "Total number of chunks rewritten without the lines of delete requests.",
		}),
		deletedLines: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loki_compactor_deleted_lines", Help: "Number of lines deleted by delete requests, per user.",
		}, []string{"user"}),
		swept: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loki_compactor_retention_sweeper_chunks_deleted_total", Help: "Total number of chunk objects deleted by the sweeper.",
		}),
		skippedReferenced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loki_compactor_retention_sweeper_chunks_still_referenced_total", Help: "Total number of marked chunks the sweeper kept because the index still references them.",
		}),
		markerFiles: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "loki_compactor_retention_sweeper_marker_files_current", Help: "Number of marker files waiting to be swept.",
		}),
		requestsProcessed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loki_compactor_delete_requests_processed_total", Help: "Number of delete requests processed per user.",
		}, []string{"user"}),
		pendingRequests: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "loki_compactor_pending_delete_requests_count", Help: "Number of delete requests past their cancel period waiting to be processed.",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loki_compactor_errors_total", Help: "Total number of compactor errors, by operation (table, sweep).",
		}, []string{"op"}),
		shippedMerged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loki_compactor_shipped_tables_merged_total", Help: "Total number of merged index tables uploaded in place of the shipped tables of a tenant and day.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.running, m.runs, m.lastSuccess, m.marked, m.deletedChunks, m.rewritten, m.deletedLines,
			m.swept, m.skippedReferenced, m.markerFiles, m.requestsProcessed, m.pendingRequests, m.errors, m.shippedMerged)
	}
	return m
}
