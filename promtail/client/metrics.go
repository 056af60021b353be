package client

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the client counters promtail exposes, labelled by destination host.
type Metrics struct {
	EncodedBytes   *prometheus.CounterVec
	SentBytes      *prometheus.CounterVec
	SentEntries    *prometheus.CounterVec
	DroppedBytes   *prometheus.CounterVec
	DroppedEntries *prometheus.CounterVec
	Retries        *prometheus.CounterVec
	RequestSeconds *prometheus.HistogramVec
}

// NewMetrics registers the client metrics with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		EncodedBytes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "promtail", Name: "encoded_bytes_total",
			Help: "Number of bytes encoded and ready to send."}, []string{"host"}),
		SentBytes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "promtail", Name: "sent_bytes_total",
			Help: "Number of bytes sent."}, []string{"host"}),
		SentEntries: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "promtail", Name: "sent_entries_total",
			Help: "Number of log entries sent to the ingester."}, []string{"host"}),
		DroppedBytes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "promtail", Name: "dropped_bytes_total",
			Help: "Number of bytes dropped because failed to be sent to the ingester after all retries."}, []string{"host", "reason"}),
		DroppedEntries: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "promtail", Name: "dropped_entries_total",
			Help: "Number of log entries dropped because failed to be sent to the ingester after all retries."}, []string{"host", "reason"}),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "promtail", Name: "batch_retries_total",
			Help: "Number of times batches has had to be retried."}, []string{"host"}),
		RequestSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "promtail", Name: "request_duration_seconds",
			Help: "Duration of send requests.", Buckets: prometheus.DefBuckets}, []string{"status_code", "host"}),
	}
	if reg != nil {
		reg.MustRegister(m.EncodedBytes, m.SentBytes, m.SentEntries, m.DroppedBytes, m.DroppedEntries, m.Retries, m.RequestSeconds)
	}
	return m
}
