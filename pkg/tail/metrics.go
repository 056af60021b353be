package tail

import "github.com/prometheus/client_golang/prometheus"

// Reasons an entry did not reach a tail, the label of dropped entries.
const (
	reasonSlowClient = "slow_client" // the subscription's buffer was full
	reasonQueueFull  = "queue_full"  // the tenant's push queue was full
)

type metrics struct {
	active  prometheus.Gauge
	entries prometheus.Counter
	dropped *prometheus.CounterVec
	pushes  *prometheus.CounterVec

	// The children used on every push, looked up once.
	pushesQueued, pushesDropped   prometheus.Counter
	droppedSlow, droppedQueueFull prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "loki_querier_tail_active", Help: "Live tails open.",
		}),
		entries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_tail_entries_total", Help: "Entries handed to live tails.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_tail_dropped_entries_total", Help: "Entries a live tail missed, per reason.",
		}, []string{"reason"}),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_tail_pushes_total", Help: "Pushes offered to tenants with live tails, by whether they were queued.",
		}, []string{"result"}),
	}
	if reg != nil {
		reg.MustRegister(m.active, m.entries, m.dropped, m.pushes)
	}
	m.pushesQueued = m.pushes.WithLabelValues("queued")
	m.pushesDropped = m.pushes.WithLabelValues("dropped")
	m.droppedSlow = m.dropped.WithLabelValues(reasonSlowClient)
	m.droppedQueueFull = m.dropped.WithLabelValues(reasonQueueFull)
	return m
}
