package shipper

import "github.com/prometheus/client_golang/prometheus"

// metrics are the shipper's Prometheus metrics.
type metrics struct {
	uploads, uploadFailures, uploadBytes       prometheus.Counter
	downloads, downloadFailures, downloadBytes prometheus.Counter
	corruptTables                              prometheus.Counter
	cachedTables                               prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_shipper_" + name, Help: help})
	}
	m := &metrics{
		uploads:          c("uploads_total", "Index tables uploaded to the object store."),
		uploadFailures:   c("upload_failures_total", "Index table uploads that failed (retried at the next upload)."),
		uploadBytes:      c("upload_bytes_total", "Bytes of index tables uploaded."),
		downloads:        c("downloads_total", "Index tables downloaded from the object store."),
		downloadFailures: c("download_failures_total", "Index table downloads or listings that failed."),
		downloadBytes:    c("download_bytes_total", "Bytes of index tables downloaded."),
		corruptTables:    c("corrupt_tables_total", "Shipped index tables found damaged and skipped."),
		cachedTables: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sluice_shipper_cached_tables", Help: "Downloaded index tables in the cache directory.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.uploads, m.uploadFailures, m.uploadBytes, m.downloads, m.downloadFailures,
			m.downloadBytes, m.corruptTables, m.cachedTables)
	}
	return m
}
