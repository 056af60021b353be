package syslog

import "github.com/prometheus/client_golang/prometheus"

// Metrics are promtail's syslog target counters, shared by every syslog scrape config.
type Metrics struct {
	entries       prometheus.Counter
	parsingErrors prometheus.Counter
	emptyMessages prometheus.Counter
}

// NewMetrics registers the counters with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		entries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "promtail_syslog_target_entries_total",
			Help: "Syslog messages received and handed to the pipeline.",
		}),
		parsingErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "promtail_syslog_target_parsing_errors_total",
			Help: "Syslog messages (or connections) that could not be parsed.",
		}),
		emptyMessages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "promtail_syslog_empty_messages_total",
			Help: "Syslog messages without a MSG part, skipped.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.entries, m.parsingErrors, m.emptyMessages)
	}
	return m
}
