// Package validation holds Loki's per-tenant limits (limits_config) with Loki's names and
// defaults, the per-tenant overrides, and the reasons for which data is discarded.
package validation

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/sluicelog/sluice/pkg/flagext"
)

// Limits are the limits of one tenant. The YAML names and defaults are Loki's.
type Limits struct {
	IngestionRateMB              float64          `yaml:"ingestion_rate_mb"`
	IngestionBurstSizeMB         float64          `yaml:"ingestion_burst_size_mb"`
	MaxLabelNameLength           int              `yaml:"max_label_name_length"`
	MaxLabelValueLength          int              `yaml:"max_label_value_length"`
	MaxLabelNamesPerSeries       int              `yaml:"max_label_names_per_series"`
	RejectOldSamples             bool             `yaml:"reject_old_samples"`
	RejectOldSamplesMaxAge       flagext.Duration `yaml:"reject_old_samples_max_age"`
	CreationGracePeriod          flagext.Duration `yaml:"creation_grace_period"`
	MaxLineSize                  flagext.ByteSize `yaml:"max_line_size"`
	MaxLineSizeTruncate          bool             `yaml:"max_line_size_truncate"`
	MaxStreamsPerUser            int              `yaml:"max_streams_per_user"`
	MaxGlobalStreamsPerUser      int              `yaml:"max_global_streams_per_user"`
	PerStreamRateLimit           flagext.ByteSize `yaml:"per_stream_rate_limit"`
	PerStreamRateLimitBurst      flagext.ByteSize `yaml:"per_stream_rate_limit_burst"`
	AllowStructuredMetadata      bool             `yaml:"allow_structured_metadata"`
	MaxStructuredMetadataSize    flagext.ByteSize `yaml:"max_structured_metadata_size"`
	MaxStructuredMetadataEntries int              `yaml:"max_structured_metadata_entries_count"`

	// DiscoverServiceName lists the labels whose value a stream without service_name gets as
	// its service_name (unknown_service when it has none of them); empty turns this off.
	DiscoverServiceName flagext.Strings `yaml:"discover_service_name"`
	// DiscoverLogLevels adds a detected_level structured metadata to entries that have none,
	// read from LogLevelFields in the labels, structured metadata or line, or from keywords.
	DiscoverLogLevels        bool            `yaml:"discover_log_levels"`
	LogLevelFields           flagext.Strings `yaml:"log_level_fields"`
	LogLevelFromJSONMaxDepth int             `yaml:"log_level_from_json_max_depth"`

	// OTLPConfig says how the OTLP endpoint stores attributes (otlp.go).
	OTLPConfig OTLPConfig `yaml:"otlp_config"`

	MaxEntriesLimitPerQuery int `yaml:"max_entries_limit_per_query"`
	// MaxConcurrentTailRequests is the number of live tails the tenant may have open, when
	// positive. Loki keeps this limit here; Sluice's default for every tenant is
	// querier.max_concurrent_tail_requests (-querier.max-concurrent-tail-requests), which a
	// positive value here replaces for the tenant, in limits_config or its runtime overrides.
	MaxConcurrentTailRequests int              `yaml:"max_concurrent_tail_requests"`
	MaxQuerySeries            int              `yaml:"max_query_series"`
	MaxQueryLength            flagext.Duration `yaml:"max_query_length"`
	MaxQueryLookback          flagext.Duration `yaml:"max_query_lookback"`
	QueryTimeout              flagext.Duration `yaml:"query_timeout"`
	MaxQueryParallelism       int              `yaml:"max_query_parallelism"`
	SplitQueriesByInterval    flagext.Duration `yaml:"split_queries_by_interval"`
	// SplitInstantMetricQueriesByInterval is the length of the pieces the query frontend cuts
	// the range of an instant metric query into (count_over_time({...}[24h]) at time T becomes
	// 24 one-hour pieces run in parallel); 0 disables it.
	SplitInstantMetricQueriesByInterval flagext.Duration `yaml:"split_instant_metric_queries_by_interval"`

	// MetricAggregationEnabled is Loki's switch for its pattern ingester's aggregated
	// metrics; Sluice accepts it and ignores it (it computes patterns at query time).
	MetricAggregationEnabled bool `yaml:"metric_aggregation_enabled,omitempty"`

	RetentionPeriod flagext.Duration  `yaml:"retention_period"`
	RetentionStream []StreamRetention `yaml:"retention_stream"`
}

// RegisterFlags sets Loki's defaults and registers a flag for each limit.
func (l *Limits) RegisterFlags(fs *flag.FlagSet) {
	fs.Float64Var(&l.IngestionRateMB, "distributor.ingestion-rate-limit-mb", 4, "Per-tenant ingestion rate limit in MB/s.")
	fs.Float64Var(&l.IngestionBurstSizeMB, "distributor.ingestion-burst-size-mb", 6, "Per-tenant ingestion burst size in MB.")
	fs.IntVar(&l.MaxLabelNameLength, "validation.max-length-label-name", 1024, "Maximum length of a label name.")
	fs.IntVar(&l.MaxLabelValueLength, "validation.max-length-label-value", 2048, "Maximum length of a label value.")
	fs.IntVar(&l.MaxLabelNamesPerSeries, "validation.max-label-names-per-series", 15, "Maximum number of label names per stream.")
	fs.BoolVar(&l.RejectOldSamples, "validation.reject-old-samples", true, "Reject entries older than reject_old_samples_max_age.")
	l.RejectOldSamplesMaxAge = flagext.Duration(7 * 24 * time.Hour)
	fs.Var(&l.RejectOldSamplesMaxAge, "validation.reject-old-samples.max-age", "Maximum accepted age of an entry.")
	l.CreationGracePeriod = flagext.Duration(10 * time.Minute)
	fs.Var(&l.CreationGracePeriod, "validation.create-grace-period", "How far in the future an entry's timestamp may be.")
	l.MaxLineSize = 256 << 10
	fs.Var(&l.MaxLineSize, "distributor.max-line-size", "Maximum size of a log line (e.g. 256KB); 0 for no limit.")
	fs.BoolVar(&l.MaxLineSizeTruncate, "distributor.max-line-size-truncate", false, "Truncate lines longer than max_line_size instead of rejecting them.")
	fs.IntVar(&l.MaxStreamsPerUser, "ingester.max-streams-per-user", 0, "Maximum active streams per tenant per ingester; 0 for no limit.")
	fs.IntVar(&l.MaxGlobalStreamsPerUser, "ingester.max-global-streams-per-user", 5000, "Maximum active streams per tenant across the cluster; 0 for no limit.")
	l.PerStreamRateLimit = 3 << 20
	fs.Var(&l.PerStreamRateLimit, "ingester.per-stream-rate-limit", "Maximum ingestion rate of one stream per second (e.g. 3MB).")
	l.PerStreamRateLimitBurst = 15 << 20
	fs.Var(&l.PerStreamRateLimitBurst, "ingester.per-stream-rate-limit-burst", "Maximum burst of one stream (e.g. 15MB).")
	fs.BoolVar(&l.AllowStructuredMetadata, "validation.allow-structured-metadata", true, "Accept structured metadata.")
	l.MaxStructuredMetadataSize = 64 << 10
	fs.Var(&l.MaxStructuredMetadataSize, "limits.max-structured-metadata-size", "Maximum size of an entry's structured metadata (e.g. 64KB).")
	fs.IntVar(&l.MaxStructuredMetadataEntries, "limits.max-structured-metadata-entries-count", 128, "Maximum number of structured metadata entries per entry.")
	l.registerDiscoveryFlags(fs)
	fs.IntVar(&l.MaxEntriesLimitPerQuery, "validation.max-entries-limit", 5000, "Maximum number of log entries a query may return.")
	fs.IntVar(&l.MaxQuerySeries, "querier.max-query-series", 500, "Maximum number of series a metric query may return.")
	l.MaxQueryLength = flagext.Duration(721 * time.Hour)
	fs.Var(&l.MaxQueryLength, "store.max-query-length", "Maximum time range of a query; 0 for no limit.")
	fs.Var(&l.MaxQueryLookback, "querier.max-query-lookback", "How far back queries may look; 0 for no limit.")
	l.QueryTimeout = flagext.Duration(time.Minute)
	fs.Var(&l.QueryTimeout, "querier.query-timeout", "Timeout of a query.")
	fs.IntVar(&l.MaxQueryParallelism, "querier.max-query-parallelism", 32, "Maximum number of split queries run in parallel.")
	l.SplitQueriesByInterval = flagext.Duration(time.Hour)
	fs.Var(&l.SplitQueriesByInterval, "querier.split-queries-by-interval", "Split queries by this interval and run them in parallel; 0 disables.")
	l.SplitInstantMetricQueriesByInterval = flagext.Duration(time.Hour)
	fs.Var(&l.SplitInstantMetricQueriesByInterval, "querier.split-instant-metric-queries-by-interval", "Split the range of instant metric queries by this interval and run the pieces in parallel; 0 disables.")
	fs.Var(&l.RetentionPeriod, "store.retention", "How long to keep logs; 0 keeps them forever.")
}

// Validate checks that the limits make sense.
func (l *Limits) Validate() error {
	var errs []error
	if l.IngestionRateMB < 0 || l.IngestionBurstSizeMB < 0 {
		errs = append(errs, errors.New("limits_config: ingestion rates must not be negative"))
	}
	if l.MaxLabelNameLength <= 0 || l.MaxLabelValueLength <= 0 || l.MaxLabelNamesPerSeries <= 0 {
		errs = append(errs, errors.New("limits_config: label length and count limits must be positive"))
	}
	if l.MaxConcurrentTailRequests < 0 {
		errs = append(errs, fmt.Errorf("limits_config.max_concurrent_tail_requests: must not be negative, got %d", l.MaxConcurrentTailRequests))
	}
	if l.MaxEntriesLimitPerQuery < 0 {
		errs = append(errs, fmt.Errorf("limits_config.max_entries_limit_per_query: must not be negative, got %d", l.MaxEntriesLimitPerQuery))
	}
	if l.SplitInstantMetricQueriesByInterval < 0 {
		errs = append(errs, fmt.Errorf("limits_config.split_instant_metric_queries_by_interval: must not be negative, got %s", l.SplitInstantMetricQueriesByInterval))
	}
	if err := l.OTLPConfig.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
