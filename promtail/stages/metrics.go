package stages

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// metricsStage updates counters, gauges and histograms labelled by the entry's labels.
type metricsStage struct {
	metrics []*metric
}

type metric struct {
	name, typ, source, desc string
	value                   *string
	re                      *regexp.Regexp
	action                  string
	matchAll, countBytes    bool
	buckets                 []float64

	mu     sync.Mutex
	series map[string]*series
}

type series struct {
	names, values []string
	v             float64
	counts        []uint64
	sum           float64
	n             uint64
}

func newMetrics(n *yaml.Node, o Options) (Stage, error) {
	var c map[string]struct {
		Type        string  `yaml:"type"`
		Description string  `yaml:"description"`
		Source      string  `yaml:"source"`
		Prefix      *string `yaml:"prefix"`
		Config      struct {
			Value           *string   `yaml:"value"`
			Action          string    `yaml:"action"`
			MatchAll        bool      `yaml:"match_all"`
			CountEntryBytes bool      `yaml:"count_entry_bytes"`
			Buckets         []float64 `yaml:"buckets"`
		} `yaml:"config"`
	}
	if err := decode(n, &c); err != nil {
		return nil, err
	}
	s := &metricsStage{}
	names := make([]string, 0, len(c))
	for k := range c {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		mc := c[k]
		prefix := "promtail_custom_"
		if mc.Prefix != nil {
			prefix = *mc.Prefix
		}
		m := &metric{name: prefix + k, typ: mc.Type, source: mc.Source, desc: mc.Description, value: mc.Config.Value,
			action: mc.Config.Action, matchAll: mc.Config.MatchAll, countBytes: mc.Config.CountEntryBytes,
			buckets: mc.Config.Buckets, series: map[string]*series{}}
		if m.source == "" {
			m.source = k
		}
		if m.desc == "" {
			m.desc = k
		}
		switch m.typ {
		case "Counter", "counter":
			m.typ = "counter"
			if m.action != "inc" && m.action != "add" {
				return nil, fmt.Errorf("metric %s: counter action %q: want inc or add", k, m.action)
			}
		case "Gauge", "gauge":
			m.typ = "gauge"
			switch m.action {
			case "set", "inc", "dec", "add", "sub":
			default:
				return nil, fmt.Errorf("metric %s: gauge action %q: want set, inc, dec, add or sub", k, m.action)
			}
		case "Histogram", "histogram":
			m.typ = "histogram"
			if len(m.buckets) == 0 {
				m.buckets = prometheus.DefBuckets
			}
		default:
			return nil, fmt.Errorf("metric %s: unknown type %q", k, mc.Type)
		}
		if !model.IsValidLegacyMetricName(m.name) {
			return nil, fmt.Errorf("metric %s: invalid name %q", k, m.name)
		}
		s.metrics = append(s.metrics, m)
	}
	if o.Registerer != nil {
		if err := o.Registerer.Register(s); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return s, nil
}

// Describe implements prometheus.Collector (unchecked: label sets vary).
func (s *metricsStage) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (s *metricsStage) Collect(ch chan<- prometheus.Metric) {
	for _, m := range s.metrics {
		m.mu.Lock()
		for _, se := range m.series {
			d := prometheus.NewDesc(m.name, m.desc, se.names, nil)
			var pm prometheus.Metric
			var err error
			switch m.typ {
			case "counter":
				pm, err = prometheus.NewConstMetric(d, prometheus.CounterValue, se.v, se.values...)
			case "gauge":
				pm, err = prometheus.NewConstMetric(d, prometheus.GaugeValue, se.v, se.values...)
			default:
				b := map[float64]uint64{}
				for i, ub := range m.buckets {
					b[ub] = se.counts[i]
				}
				pm, err = prometheus.NewConstHistogram(d, se.n, se.sum, b, se.values...)
			}
			if err == nil {
				ch <- pm
			}
		}
		m.mu.Unlock()
	}
}

func (s *metricsStage) Process(ctx context.Context, it Item, next Emit) error {
	for _, m := range s.metrics {
		m.observe(&it)
	}
	return next(ctx, it)
}

func (m *metric) observe(it *Item) {
	var str string
	if m.matchAll {
		str = it.Line
	} else {
		v, ok := it.Extracted[m.source]
		if !ok {
			return
		}
		str = toString(v)
	}
	if m.value != nil && str != *m.value {
		return
	}
	var f float64
	switch {
	case m.countBytes:
		f = float64(len(it.Line))
	case m.action == "inc" || m.action == "dec":
		f = 1
	default:
		x, err := strconv.ParseFloat(str, 64)
		if err != nil {
			return
		}
		f = x
	}
	key := it.Key()
	m.mu.Lock()
	defer m.mu.Unlock()
	se := m.series[key]
	if se == nil {
		se = &series{}
		for k, v := range it.Labels() {
			if len(k) > 1 && k[0] == '_' && k[1] == '_' {
				continue
			}
			se.names = append(se.names, string(k))
			se.values = append(se.values, string(v))
		}
		if m.typ == "histogram" {
			se.counts = make([]uint64, len(m.buckets))
		}
		m.series[key] = se
	}
	switch {
	case m.typ == "histogram":
		for i, ub := range m.buckets {
			if f <= ub {
				se.counts[i]++
			}
		}
		se.sum += f
		se.n++
	case m.action == "set":
		se.v = f
	case m.action == "dec" || m.action == "sub":
		se.v -= f
	default:
		se.v += f
	}
}
