// Package validation holds Loki's per-tenant limits (limits_config) with Loki's names and
// defaults, the per-tenant overrides, and the reasons for which data is discarded.
//
// Every key of Loki 3's limits_config loads. The ones Sluice acts on are fields of Limits; the
// others are kept as written in Limits.Loki, checked for type against Loki's (loki.go), and
// either ignored, with a reason IgnoredLokiSettings gives for the start-up warning, or refused
// by Validate when their value promises something about the data Sluice cannot keep.
package validation

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sluicelog/sluice/pkg/flagext"
)

// Limits are the limits of one tenant. The YAML names and defaults are Loki's.
type Limits struct {
	IngestionRateMB        float64          `yaml:"ingestion_rate_mb"`
	IngestionBurstSizeMB   float64          `yaml:"ingestion_burst_size_mb"`
	MaxLabelNameLength     int              `yaml:"max_label_name_length"`
	MaxLabelValueLength    int              `yaml:"max_label_value_length"`
	MaxLabelNamesPerSeries int              `yaml:"max_label_names_per_series"`
	RejectOldSamples       bool             `yaml:"reject_old_samples"`
	RejectOldSamplesMaxAge flagext.Duration `yaml:"reject_old_samples_max_age"`
	CreationGracePeriod    flagext.Duration `yaml:"creation_grace_period"`
	MaxLineSize            flagext.ByteSize `yaml:"max_line_size"`
	MaxLineSizeTruncate    bool             `yaml:"max_line_size_truncate"`
	// IncrementDuplicateTimestamp moves an entry one nanosecond after the previous entry of its
	// stream in the same push when it has that entry's timestamp but another line, so that
	// lines logged in the same instant keep their order (distributor).
	IncrementDuplicateTimestamp  bool             `yaml:"increment_duplicate_timestamp"`
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
	// MaxCacheFreshness: a metric sub-query whose last evaluation time is within this of now
	// is not cached by the query frontend, since late data may still change it.
	MaxCacheFreshness flagext.Duration `yaml:"max_cache_freshness_per_query"`
	// MaxChunksPerQuery is the most stored chunks one selection of the querier (a stream
	// selector over a sub-query's range) may read; 0 for no limit.
	MaxChunksPerQuery int `yaml:"max_chunks_per_query"`
	// MaxQueryBytesRead is the most bytes the index estimates a whole query would read before
	// the query frontend refuses it; 0 for no limit.
	MaxQueryBytesRead flagext.ByteSize `yaml:"max_query_bytes_read"`
	// MaxQuerierBytesRead is the same for each sub-query the frontend runs after splitting;
	// 0 for no limit.
	MaxQuerierBytesRead flagext.ByteSize `yaml:"max_querier_bytes_read"`
	// MaxStreamsMatchersPerQuery is the most label matchers a stream selector of a query may
	// have. As in Loki, 0 refuses every query that has a selector.
	MaxStreamsMatchersPerQuery int `yaml:"max_streams_matchers_per_query"`
	// MaxQueryRange is the longest [range] a metric query may aggregate over; 0 for no limit.
	MaxQueryRange flagext.Duration `yaml:"max_query_range"`
	// RequiredLabels must each be named by every stream selector of a query.
	RequiredLabels flagext.Strings `yaml:"required_labels,omitempty"`
	// BlockedQueries are the queries the tenant may not run (see BlockedQuery).
	BlockedQueries []BlockedQuery `yaml:"blocked_queries,omitempty"`
	// RequiredNumberLabels is the fewest label matchers a stream selector of a query may
	// have; 0 for no minimum.
	RequiredNumberLabels int `yaml:"minimum_labels_number,omitempty"`

	// VolumeEnabled serves /index/volume and /index/volume_range to the tenant (404 when off).
	VolumeEnabled bool `yaml:"volume_enabled"`
	// VolumeMaxSeries is the most groups a volume request may add up before it is refused; as
	// in Loki, 0 refuses every request that finds any.
	VolumeMaxSeries int `yaml:"volume_max_series"`

	// DeletionMode is what the tenant's delete requests do (DeletionDisabled,
	// DeletionFilterOnly, DeletionFilterAndDelete); empty means DeletionFilterAndDelete.
	DeletionMode string `yaml:"deletion_mode"`

	// MetricAggregationEnabled is Loki's switch for its pattern ingester's aggregated
	// metrics; Sluice accepts it and ignores it (it computes patterns at query time).
	MetricAggregationEnabled bool `yaml:"metric_aggregation_enabled,omitempty"`

	RetentionPeriod flagext.Duration  `yaml:"retention_period"`
	RetentionStream []StreamRetention `yaml:"retention_stream"`

	// PerTenantOverrideConfig and PerTenantOverridePeriod are Loki's deprecated names of
	// runtime_config.file and runtime_config.period, used when runtime_config.file is empty (as
	// Loki does). In a tenant's runtime overrides they mean nothing.
	PerTenantOverrideConfig string           `yaml:"per_tenant_override_config"`
	PerTenantOverridePeriod flagext.Duration `yaml:"per_tenant_override_period"`

	// Loki holds the limits_config keys of Loki that Sluice does not act on, as written; see
	// loki.go. Validate checks each against Loki's type and refuses unknown keys.
	Loki map[string]yaml.Node `yaml:",inline"`
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
	fs.BoolVar(&l.IncrementDuplicateTimestamp, "validation.increment-duplicate-timestamps", false, "Move an entry with its stream's previous timestamp but another line one nanosecond later, to keep the order of lines logged in the same instant.")
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
	l.MaxCacheFreshness = flagext.Duration(10 * time.Minute)
	fs.Var(&l.MaxCacheFreshness, "frontend.max-cache-freshness", "Results of metric sub-queries newer than this are not cached.")
	fs.IntVar(&l.MaxChunksPerQuery, "store.query-chunk-limit", 2000000, "Maximum number of stored chunks a query may select; 0 for no limit.")
	fs.Var(&l.MaxQueryBytesRead, "frontend.max-query-bytes-read", "Maximum bytes the index estimates a query would read (e.g. 10GB); 0 for no limit.")
	l.MaxQuerierBytesRead = 150 << 30
	fs.Var(&l.MaxQuerierBytesRead, "frontend.max-querier-bytes-read", "Maximum bytes the index estimates a sub-query of the query frontend would read (e.g. 150GB); 0 for no limit.")
	fs.IntVar(&l.MaxStreamsMatchersPerQuery, "querier.max-streams-matcher-per-query", 1000, "Maximum number of label matchers of a stream selector in a query.")
	fs.Var(&l.MaxQueryRange, "querier.max-query-range", "Longest [range] a metric query may aggregate over; 0 for no limit.")
	fs.BoolVar(&l.VolumeEnabled, "limits.volume-enabled", true, "Serve the log volume endpoints (/index/volume, /index/volume_range).")
	fs.IntVar(&l.VolumeMaxSeries, "limits.volume-max-series", 1000, "Maximum number of groups a volume request may add up.")
	fs.StringVar(&l.DeletionMode, "compactor.deletion-mode", DeletionFilterAndDelete, "What delete requests do: disabled, filter-only or filter-and-delete.")
	fs.Var(&l.RetentionPeriod, "store.retention", "How long to keep logs; 0 keeps them forever.")
	fs.StringVar(&l.PerTenantOverrideConfig, "limits.per-user-override-config", "", "Deprecated name of -runtime-config.file, used when that is empty.")
	l.PerTenantOverridePeriod = flagext.Duration(10 * time.Second)
	fs.Var(&l.PerTenantOverridePeriod, "limits.per-user-override-period", "Deprecated name of -runtime-config.reload-period, used with -limits.per-user-override-config.")
}

// The values of deletion_mode, as Loki names them.
const (
	// DeletionDisabled refuses the deletion API to the tenant.
	DeletionDisabled = "disabled"
	// DeletionFilterOnly accepts delete requests and hides their lines from queries, but the
	// compactor never removes the lines from storage.
	DeletionFilterOnly = "filter-only"
	// DeletionFilterAndDelete also has the compactor remove the lines; it is Loki's default.
	DeletionFilterAndDelete = "filter-and-delete"
)

// DeletionEnabled reports whether the tenant may use the deletion API.
func (l *Limits) DeletionEnabled() bool { return l.DeletionMode != DeletionDisabled }

// DeletesFromStorage reports whether the compactor removes the lines of the tenant's delete
// requests from storage.
func (l *Limits) DeletesFromStorage() bool {
	return l.DeletionMode == "" || l.DeletionMode == DeletionFilterAndDelete
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
	if l.MaxCacheFreshness < 0 {
		errs = append(errs, fmt.Errorf("limits_config.max_cache_freshness_per_query: must not be negative, got %s", l.MaxCacheFreshness))
	}
	for _, n := range []struct {
		key string
		v   int
	}{
		{"max_streams_matchers_per_query", l.MaxStreamsMatchersPerQuery},
		{"max_chunks_per_query", l.MaxChunksPerQuery},
		{"minimum_labels_number", l.RequiredNumberLabels},
		{"volume_max_series", l.VolumeMaxSeries},
	} {
		if n.v < 0 {
			errs = append(errs, fmt.Errorf("limits_config.%s: must not be negative, got %d", n.key, n.v))
		}
	}
	if l.MaxQueryRange < 0 {
		errs = append(errs, fmt.Errorf("limits_config.max_query_range: must not be negative, got %s", l.MaxQueryRange))
	}
	switch l.DeletionMode {
	case "", DeletionDisabled, DeletionFilterOnly, DeletionFilterAndDelete:
	default:
		errs = append(errs, fmt.Errorf("limits_config.deletion_mode: %q is not one of %s, %s, %s", l.DeletionMode, DeletionDisabled, DeletionFilterOnly, DeletionFilterAndDelete))
	}
	if err := l.OTLPConfig.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := validateBlocked(l.BlockedQueries); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, l.validateLoki()...)
	return errors.Join(errs...)
}
