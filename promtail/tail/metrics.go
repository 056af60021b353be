package tail

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the reader counters promtail exposes.
type Metrics struct {
	ReadBytes   *prometheus.CounterVec
	ReadLines   *prometheus.CounterVec
	FileBytes   *prometheus.GaugeVec
	FilesActive prometheus.Gauge
}

// NewMetrics registers the reader metrics with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		ReadBytes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "promtail", Name: "read_bytes_total",
			Help: "Number of bytes read."}, []string{"path"}),
		ReadLines: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "promtail", Name: "read_lines_total",
			Help: "Number of lines read."}, []string{"path"}),
		FileBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "promtail", Name: "file_bytes_total",
			Help: "Number of bytes total."}, []string{"path"}),
		FilesActive: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "promtail", Name: "files_active_total",
			Help: "Number of active files."}),
	}
	if reg != nil {
		reg.MustRegister(m.ReadBytes, m.ReadLines, m.FileBytes, m.FilesActive)
	}
	return m
}

func (m *Metrics) forget(path string) {
	m.ReadBytes.DeleteLabelValues(path)
	m.ReadLines.DeleteLabelValues(path)
	m.FileBytes.DeleteLabelValues(path)
}
