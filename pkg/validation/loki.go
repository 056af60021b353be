package validation

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sluicelog/sluice/pkg/flagext"
)

// A Loki limits_config carries many keys Sluice does not act on: the limits of Loki's ruler,
// bloom filters, index gateways and query sharding, knobs of its experimental engine, limits
// Sluice does not enforce yet. They load, so that a Loki file works unchanged, into
// Limits.Loki; each must have Loki's type (a string where Loki wants a duration is an error),
// and a key Loki does not have is an error.
//
// Most are ignored and named in the start-up warning (IgnoredLokiSettings). A value that is
// what Sluice does anyway (unordered_writes: true) is not worth a warning. A few promise
// something about the data that Sluice cannot keep, and ignoring them would store data the
// user meant to keep out, or store it unprotected: those are refused (Validate) unless their
// value asks for nothing (an empty enforced_labels, a block_ingestion_until in the past).

// lokiSetting is how Sluice takes one of those keys.
type lokiSetting struct {
	// why is the reason Sluice ignores the key, or for a refused key, why it refuses it.
	why string
	// read decodes a value, checking its type, and says what Sluice makes of it.
	read func(n *yaml.Node) (lokiVerdict, error)
}

type lokiVerdict int

const (
	lokiIgnored lokiVerdict = iota // accepted, not acted on: warn
	lokiSame                       // what Sluice does anyway: nothing to say
	lokiRefused                    // cannot be honoured and must not pass unnoticed
)

// ignored accepts any value of type T and ignores it.
func ignored[T any](why string) lokiSetting { return ignoredUnless[T](why, nil) }

// ignoredUnless ignores the values of type T for which same is false; the others are what
// Sluice does anyway.
func ignoredUnless[T any](why string, same func(T) bool) lokiSetting {
	return lokiSetting{why: why, read: func(n *yaml.Node) (lokiVerdict, error) {
		var v T
		if err := decodeStrict(n, &v); err != nil {
			return 0, err
		}
		if same != nil && same(v) {
			return lokiSame, nil
		}
		return lokiIgnored, nil
	}}
}

// refusedUnless refuses the values of type T for which noop is false: Sluice can honour only
// the values that ask for nothing.
func refusedUnless[T any](why string, noop func(T) bool) lokiSetting {
	return lokiSetting{why: why, read: func(n *yaml.Node) (lokiVerdict, error) {
		var v T
		if err := decodeStrict(n, &v); err != nil {
			return 0, err
		}
		if noop(v) {
			return lokiSame, nil
		}
		return lokiRefused, nil
	}}
}

// Reasons shared by several keys.
const (
	whyNoRuler        = "Sluice has no ruler"
	whyNoBlooms       = "Sluice has no bloom filters"
	whyNoGateway      = "Sluice has no index gateway"
	whyNoRing         = "Sluice has no hash ring"
	whyNoSharding     = "Sluice does not shard queries"
	whyNoQuerierPool  = "Sluice's query frontend runs every query in its own process: there is no pool of queriers to share"
	whyNoV2Engine     = "Sluice has no experimental (V2) query engine"
	whyPatterns       = "Sluice computes patterns at query time and writes no __pattern__ streams"
	whyNoMetaCache    = "Sluice does not cache label, series or index stats results"
	whyNoMetaSplit    = "Sluice answers label and series requests from its index in one piece"
	whyBlock          = "Sluice cannot block ingestion, so the tenant's pushes would be stored; remove it or set a time in the past"
	whyEnforcedLabels = "Sluice cannot refuse streams that lack these labels, so they would be stored; remove it"
	whySSE            = "applies only with s3_sse_type"
)

// lokiLimits lists every limits_config key of Loki 3 that is not a field of Limits, with how
// Sluice takes it. The types are Loki's; blocks whose shape Sluice never reads (the ruler's
// remote-write and Alertmanager settings) are only checked to be mappings or lists.
var lokiLimits = map[string]lokiSetting{
	// Ingestion.
	"ingestion_rate_strategy": ignoredUnless(
		"Sluice applies ingestion_rate_mb in each write process (Loki's local strategy); with one write process the two are the same",
		func(s lokiRateStrategy) bool { return s == "local" }),
	"max_line_size_truncate_identifier": ignoredUnless("not supported: Sluice cuts long lines without appending a marker",
		func(s string) bool { return s == "" }),
	"simulated_push_latency": ignoredUnless("a Loki testing aid; Sluice adds no latency",
		func(d flagext.Duration) bool { return d == 0 }),
	"discover_generic_fields": ignoredUnless("not supported yet: no fields are copied to structured metadata",
		func(g lokiGenericFields) bool { return len(g.Fields) == 0 }),
	"use_owned_stream_count": ignored[bool](whyNoRing),
	"unordered_writes": ignoredUnless("Sluice always accepts out-of-order entries (within half of ingester.max_chunk_age of a stream's newest)",
		func(b bool) bool { return b }),
	"shard_streams": ignoredUnless("Sluice does not shard streams: each stream is written by one ingester, limited by per_stream_rate_limit",
		func(s lokiShardStreams) bool { return s.Enabled != nil && !*s.Enabled && !s.TimeShardingEnabled }),
	"block_ingestion_until": refusedUnless(whyBlock, func(t lokiTime) bool { return !time.Time(t).After(time.Now()) }),
	"block_ingestion_policy_until": refusedUnless(whyBlock, func(m map[string]lokiTime) bool {
		for _, t := range m {
			if time.Time(t).After(time.Now()) {
				return false
			}
		}
		return true
	}),
	"block_ingestion_status_code": ignored[int]("applies only while ingestion is blocked, which Sluice does not do"),
	"enforced_labels":             refusedUnless(whyEnforcedLabels, func(l []string) bool { return len(l) == 0 }),
	"policy_enforced_labels": refusedUnless(whyEnforcedLabels, func(m map[string][]string) bool {
		for _, l := range m {
			if len(l) > 0 {
				return false
			}
		}
		return true
	}),
	"policy_stream_mapping": ignoredUnless("Sluice has no ingestion policies",
		func(m map[string][]lokiPriorityStream) bool { return len(m) == 0 }),
	"ingestion_partitions_tenant_shard_size": ignored[int]("Sluice has no Kafka ingestion"),
	"enable_multi_variant_queries": ignoredUnless("Sluice does not run multi-variant queries",
		func(b bool) bool { return !b }),
	"s3_sse_type": refusedUnless("Sluice cannot encrypt a tenant's objects with per-tenant server-side encryption, so its chunks would be written without it; remove it",
		func(s string) bool { return s == "" }),
	"s3_sse_kms_key_id":             ignoredUnless(whySSE, func(s string) bool { return s == "" }),
	"s3_sse_kms_encryption_context": ignoredUnless(whySSE, func(s string) bool { return s == "" }),

	// Patterns.
	"pattern_ingester_tokenizable_json_fields_default": ignored[string](whyPatterns),
	"pattern_ingester_tokenizable_json_fields_append":  ignored[string](whyPatterns),
	"pattern_ingester_tokenizable_json_fields_delete":  ignored[string](whyPatterns),
	"pattern_persistence_enabled":                      ignoredUnless(whyPatterns, func(b bool) bool { return !b }),
	"pattern_persistence_granularity":                  ignored[flagext.Duration](whyPatterns),
	"pattern_rate_threshold":                           ignored[float64](whyPatterns),

	// Queries.
	"tsdb_max_query_parallelism": ignored[int](
		"Sluice has one index format: max_query_parallelism applies to every query"),
	"tsdb_max_bytes_per_shard":     ignored[flagext.ByteSize](whyNoSharding),
	"tsdb_sharding_strategy":       ignored[string](whyNoSharding),
	"tsdb_precompute_chunks":       ignored[bool]("Sluice's index is not TSDB"),
	"min_sharding_lookback":        ignored[flagext.Duration](whyNoSharding),
	"shard_aggregations":           ignored[[]string](whyNoSharding),
	"cardinality_limit":            ignored[int]("Sluice's index lookups have no cardinality limit"),
	"max_metadata_cache_freshness": ignored[flagext.Duration](whyNoMetaCache),
	"max_stats_cache_freshness":    ignored[flagext.Duration](whyNoMetaCache),
	"max_queriers_per_tenant":      ignored[int](whyNoQuerierPool),
	"max_query_capacity":           ignored[float64](whyNoQuerierPool),
	"query_ready_index_num_days": ignored[int](
		"Sluice's queriers download the index tables a query needs when it needs them"),
	"split_metadata_queries_by_interval":        ignored[flagext.Duration](whyNoMetaSplit),
	"split_recent_metadata_queries_by_interval": ignored[flagext.Duration](whyNoMetaSplit),
	"recent_metadata_query_window":              ignored[flagext.Duration](whyNoMetaSplit),
	"split_ingester_queries_by_interval": ignoredUnless(
		"Sluice splits every query by split_queries_by_interval, whether it reaches the ingesters or not",
		func(d flagext.Duration) bool { return d == 0 }),
	"engine_results_cache_time_bucket_interval": ignored[flagext.Duration](whyNoV2Engine),
	"max_scan_task_parallelism":                 ignored[int](whyNoV2Engine),
	"debug_engine_tasks":                        ignored[bool](whyNoV2Engine),
	"debug_engine_streams":                      ignored[bool](whyNoV2Engine),

	// Deletion.
	"allow_deletes": ignored[bool]("deprecated, and ignored by Loki too: deletion_mode decides"),

	// The ruler's.
	"ruler_max_rules_per_rule_group":                ignored[int](whyNoRuler),
	"ruler_max_rule_groups_per_tenant":              ignored[int](whyNoRuler),
	"ruler_tenant_shard_size":                       ignored[int](whyNoRuler),
	"ruler_enable_wal_replay":                       ignored[bool](whyNoRuler),
	"ruler_evaluation_delay_duration":               ignored[flagext.Duration](whyNoRuler),
	"ruler_alertmanager_config":                     ignored[map[string]yaml.Node](whyNoRuler),
	"ruler_remote_write_disabled":                   ignored[bool](whyNoRuler),
	"ruler_remote_write_url":                        ignored[string](whyNoRuler),
	"ruler_remote_write_timeout":                    ignored[flagext.Duration](whyNoRuler),
	"ruler_remote_write_headers":                    ignored[map[string]string](whyNoRuler),
	"ruler_remote_write_relabel_configs":            ignored[[]map[string]yaml.Node](whyNoRuler),
	"ruler_remote_write_queue_capacity":             ignored[int](whyNoRuler),
	"ruler_remote_write_queue_min_shards":           ignored[int](whyNoRuler),
	"ruler_remote_write_queue_max_shards":           ignored[int](whyNoRuler),
	"ruler_remote_write_queue_max_samples_per_send": ignored[int](whyNoRuler),
	"ruler_remote_write_queue_batch_send_deadline":  ignored[flagext.Duration](whyNoRuler),
	"ruler_remote_write_queue_min_backoff":          ignored[flagext.Duration](whyNoRuler),
	"ruler_remote_write_queue_max_backoff":          ignored[flagext.Duration](whyNoRuler),
	"ruler_remote_write_queue_retry_on_ratelimit":   ignored[bool](whyNoRuler),
	"ruler_remote_write_sigv4_config":               ignored[lokiSigV4](whyNoRuler),
	"ruler_remote_write_config":                     ignored[map[string]map[string]yaml.Node](whyNoRuler),
	"ruler_remote_evaluation_timeout":               ignored[flagext.Duration](whyNoRuler),
	"ruler_remote_evaluation_max_response_size":     ignored[int64](whyNoRuler),

	// Index gateways and bloom filters.
	"index_gateway_shard_size":             ignored[int](whyNoGateway),
	"index_gateway_max_capacity":           ignored[float64](whyNoGateway),
	"bloom_gateway_enable_filtering":       ignored[bool](whyNoBlooms),
	"bloom_gateway_shard_size":             ignored[int](whyNoBlooms),
	"bloom_gateway_cache_key_interval":     ignored[flagext.Duration](whyNoBlooms),
	"bloom_compactor_enable_compaction":    ignored[bool](whyNoBlooms),
	"bloom_creation_enabled":               ignored[bool](whyNoBlooms),
	"bloom_build_max_builders":             ignored[int](whyNoBlooms),
	"bloom_build_task_max_retries":         ignored[int](whyNoBlooms),
	"bloom_build_builder_response_timeout": ignored[flagext.Duration](whyNoBlooms),
	"bloom_planning_strategy":              ignored[string](whyNoBlooms),
	"bloom_split_series_keyspace_by":       ignored[int](whyNoBlooms),
	"bloom_task_target_series_chunk_size":  ignored[flagext.ByteSize](whyNoBlooms),
	"bloom_ngram_length":                   ignored[int](whyNoBlooms),
	"bloom_ngram_skip":                     ignored[int](whyNoBlooms),
	"bloom_false_positive_rate":            ignored[float64](whyNoBlooms),
	"bloom_block_encoding":                 ignored[string](whyNoBlooms),
	"bloom_prefetch_blocks":                ignored[bool](whyNoBlooms),
	"bloom_max_block_size":                 ignored[flagext.ByteSize](whyNoBlooms),
	"bloom_max_bloom_size":                 ignored[flagext.ByteSize](whyNoBlooms),
}

// LokiOnlyKeys returns the limits_config keys of Loki that Sluice accepts without a field of
// its own, sorted.
func LokiOnlyKeys() []string { return slices.Sorted(maps.Keys(lokiLimits)) }

// validateLoki checks the Loki settings of l: each must be a Loki key with a value of Loki's
// type, and not one Sluice refuses.
func (l *Limits) validateLoki() []error {
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(l.Loki)) {
		s, ok := lokiLimits[key]
		if !ok {
			errs = append(errs, fmt.Errorf("limits_config.%s: unknown setting (not a key of Loki's limits_config)", key))
			continue
		}
		n := l.Loki[key]
		v, err := s.read(&n)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("limits_config.%s: %w", key, err))
		case v == lokiRefused:
			errs = append(errs, fmt.Errorf("limits_config.%s: %s", key, s.why))
		}
	}
	return errs
}

// IgnoredLokiSettings lists the Loki settings of l that Sluice accepts without acting on them,
// each as "key: reason", sorted by key, for the start-up warning. Values that are what Sluice
// does anyway are left out. Call it on limits that passed Validate.
func (l *Limits) IgnoredLokiSettings() []string {
	var out []string
	for _, key := range slices.Sorted(maps.Keys(l.Loki)) {
		s, ok := lokiLimits[key]
		if !ok {
			continue
		}
		n := l.Loki[key]
		if v, err := s.read(&n); err == nil && v == lokiIgnored {
			out = append(out, key+": "+s.why)
		}
	}
	return out
}

// The types below are the shapes of Loki's structured limits, read only to check them.

// lokiRateStrategy is ingestion_rate_strategy: local or global.
type lokiRateStrategy string

func (s *lokiRateStrategy) UnmarshalYAML(unmarshal func(any) error) error {
	var v string
	if err := unmarshal(&v); err != nil {
		return err
	}
	if v != "local" && v != "global" {
		return fmt.Errorf("%q is not one of local, global", v)
	}
	*s = lokiRateStrategy(v)
	return nil
}

// lokiTime is a time as Loki's limits take it: RFC 3339, a date (UTC), or "0" for none.
type lokiTime time.Time

func (t *lokiTime) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	if s == "" || s == "0" {
		*t = lokiTime{}
		return nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if v, err := time.Parse(layout, s); err == nil {
			*t = lokiTime(v)
			return nil
		}
	}
	return fmt.Errorf("invalid time %q: want RFC 3339 (2006-01-02T15:04:05Z) or a date", s)
}

type lokiShardStreams struct {
	Enabled                  *bool            `yaml:"enabled"`
	TimeShardingEnabled      bool             `yaml:"time_sharding_enabled"`
	TimeShardingIgnoreRecent flagext.Duration `yaml:"time_sharding_ignore_recent"`
	LoggingEnabled           bool             `yaml:"logging_enabled"`
	DesiredRate              flagext.ByteSize `yaml:"desired_rate"`
}

type lokiGenericFields struct {
	Fields map[string][]string `yaml:"fields"`
}

type lokiPriorityStream struct {
	Priority int    `yaml:"priority"`
	Selector string `yaml:"selector"`
}

type lokiSigV4 struct {
	Region             string `yaml:"region"`
	AccessKey          string `yaml:"access_key"`
	SecretKey          string `yaml:"secret_key"`
	Profile            string `yaml:"profile"`
	RoleARN            string `yaml:"role_arn"`
	ExternalID         string `yaml:"external_id"`
	UseFIPSSTSEndpoint bool   `yaml:"use_fips_sts_endpoint"`
	ServiceName        string `yaml:"service_name"`
}
