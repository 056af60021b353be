package queryrange

import (
	"flag"
	"fmt"
	"time"

	"github.com/sluicelog/sluice/pkg/flagext"
)

// Config is the frontend's configuration, Loki's query_range block.
type Config struct {
	// AlignQueriesWithStep rounds the start and end of metric range queries down to a multiple
	// of the step before anything else (Loki's step-align middleware). Split queries are
	// step-aligned whatever this says.
	AlignQueriesWithStep bool `yaml:"align_queries_with_step"`
	// CacheResults turns the results cache for metric queries on.
	CacheResults bool               `yaml:"cache_results"`
	ResultsCache ResultsCacheConfig `yaml:"results_cache"`
	// MaxRetries is accepted for compatibility with Loki's configuration; the frontend runs
	// sub-queries in-process and does not retry them.
	MaxRetries int `yaml:"max_retries"`
	// ParallelizeShardableQueries is accepted for compatibility; Sluice does not shard queries.
	ParallelizeShardableQueries bool `yaml:"parallelise_shardable_queries"`
	// How recent a sub-query's last evaluation time may be and still be cached is the tenant's
	// limits_config.max_cache_freshness_per_query (flag -frontend.max-cache-freshness), as in
	// Loki.
}

// ResultsCacheConfig is Loki's query_range.results_cache block.
type ResultsCacheConfig struct {
	Cache CacheConfig `yaml:"cache"`
	// Compression is accepted for compatibility ("" or "snappy"); the embedded cache keeps
	// results decoded.
	Compression string `yaml:"compression"`
}

// CacheConfig selects the cache backend. Only the embedded (in-process) cache exists.
type CacheConfig struct {
	EmbeddedCache EmbeddedCacheConfig `yaml:"embedded_cache"`
}

// EmbeddedCacheConfig is an in-process cache bounded by bytes.
type EmbeddedCacheConfig struct {
	Enabled   bool             `yaml:"enabled"`
	MaxSizeMB int64            `yaml:"max_size_mb"`
	TTL       flagext.Duration `yaml:"ttl"`
}

// DefaultConfig returns the configuration RegisterFlags sets as defaults.
func DefaultConfig() Config {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("defaults", flag.ContinueOnError))
	return c
}

// RegisterFlags registers every setting's flag, with Loki's flag names, and its default.
//
// Unlike Loki, the results cache is on by default: Loki turns its embedded cache on when no
// other cache is configured, and a single-process server has no other.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.BoolVar(&c.AlignQueriesWithStep, "querier.align-querier-with-step", false, "Round the start and end of metric range queries down to a multiple of the step.")
	fs.BoolVar(&c.CacheResults, "querier.cache-results", true, "Cache the results of metric range queries over closed intervals.")
	fs.IntVar(&c.MaxRetries, "querier.max-retries-per-request", 5, "Accepted for compatibility with Loki; sub-queries are not retried.")
	fs.BoolVar(&c.ParallelizeShardableQueries, "querier.parallelise-shardable-queries", true, "Accepted for compatibility with Loki; queries are not sharded.")
	fs.StringVar(&c.ResultsCache.Compression, "frontend.compression", "", "Accepted for compatibility with Loki: '' or 'snappy'; the embedded cache does not compress.")
	fs.BoolVar(&c.ResultsCache.Cache.EmbeddedCache.Enabled, "frontend.embedded-cache.enabled", true, "Keep query results in an in-process cache.")
	fs.Int64Var(&c.ResultsCache.Cache.EmbeddedCache.MaxSizeMB, "frontend.embedded-cache.max-size-mb", 100, "Maximum memory of the results cache, in MB.")
	c.ResultsCache.Cache.EmbeddedCache.TTL = flagext.Duration(time.Hour)
	fs.Var(&c.ResultsCache.Cache.EmbeddedCache.TTL, "frontend.embedded-cache.ttl", "How long a cached result is kept.")
}

// Validate checks the configuration; each error names its field.
func (c *Config) Validate() error {
	ec := c.ResultsCache.Cache.EmbeddedCache
	if ec.MaxSizeMB < 0 {
		return fmt.Errorf("query_range.results_cache.cache.embedded_cache.max_size_mb: must not be negative, got %d", ec.MaxSizeMB)
	}
	if ec.TTL < 0 {
		return fmt.Errorf("query_range.results_cache.cache.embedded_cache.ttl: must not be negative, got %s", ec.TTL)
	}
	switch c.ResultsCache.Compression {
	case "", "snappy":
	default:
		return fmt.Errorf("query_range.results_cache.compression: %q is not one of '', 'snappy'", c.ResultsCache.Compression)
	}
	return nil
}

// cacheBytes is the results cache's budget, 0 when caching is off.
func (c *Config) cacheBytes() int64 {
	ec := c.ResultsCache.Cache.EmbeddedCache
	if !c.CacheResults || !ec.Enabled {
		return 0
	}
	return ec.MaxSizeMB << 20
}
