package ingester

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/sluicelog/sluice/pkg/chunk"
	"github.com/sluicelog/sluice/pkg/flagext"
)

// Config is the ingester's configuration, with Loki's YAML names.
type Config struct {
	ChunkEncoding     string           `yaml:"chunk_encoding"`
	ChunkBlockSize    int              `yaml:"chunk_block_size"`
	ChunkTargetSize   int              `yaml:"chunk_target_size"`
	ChunkIdlePeriod   flagext.Duration `yaml:"chunk_idle_period"`
	ChunkRetainPeriod RetainPeriod     `yaml:"chunk_retain_period"`
	// ChunkRetainMaxBytes bounds the compressed bytes of retained chunks (0: no bound).
	ChunkRetainMaxBytes int              `yaml:"chunk_retain_max_bytes"`
	MaxChunkAge         flagext.Duration `yaml:"max_chunk_age"`
	FlushCheckPeriod    flagext.Duration `yaml:"flush_check_period"`
	FlushOpTimeout      flagext.Duration `yaml:"flush_op_timeout"`
	ConcurrentFlushes   int              `yaml:"concurrent_flushes"`
	WAL                 WALConfig        `yaml:"wal"`
}

// WALConfig configures the write-ahead log.
type WALConfig struct {
	Enabled            bool             `yaml:"enabled"`
	Dir                string           `yaml:"dir"`
	CheckpointDuration flagext.Duration `yaml:"checkpoint_duration"`
	FlushOnShutdown    bool             `yaml:"flush_on_shutdown"`
	// ReplayMemoryCeiling bounds what a replay holds: past it, the chunks replayed so far are
	// flushed to the store and dropped from memory before the replay goes on.
	ReplayMemoryCeiling flagext.ByteSize `yaml:"replay_memory_ceiling"`
}

// DefaultChunkRetainPeriod is how long a flushed chunk stays in memory when chunk_retain_period
// is not given. Loki's default is 0, because its queriers also ask the ingesters for the index
// entries of chunks they flushed; Sluice's ingesters answer with lines only, so a read process
// learns of a flushed chunk from the shipped index tables alone: once the write process has
// uploaded its table (every boltdb_shipper.upload_interval, 1m by default) and the read process
// has listed and fetched it (every resync_interval, 5m). Retaining a chunk for those 6 minutes,
// plus one for the transfers themselves, keeps every flushed line visible to a read process
// throughout. pkg/sluice tests that it stays above the sum of the two default intervals, and
// leaves chunk_retain_period at 0 when not given in a process whose own querier reads the
// index as it is written (-target=all).
const DefaultChunkRetainPeriod = 7 * time.Minute

// RetainPeriod is chunk_retain_period: a duration that knows whether it was given (in YAML, by
// flag, or by RetainFor), so that the server can choose the default by what the process runs.
// The zero value is not given, and means DefaultChunkRetainPeriod to the ingester.
type RetainPeriod struct {
	d     flagext.Duration
	given bool
}

// RetainFor returns the period d, as given.
func RetainFor(d time.Duration) RetainPeriod { return RetainPeriod{flagext.Duration(d), true} }

// D returns the period: the one given, else DefaultChunkRetainPeriod.
func (r RetainPeriod) D() time.Duration {
	if !r.given {
		return DefaultChunkRetainPeriod
	}
	return r.d.D()
}

// Given reports whether the period was given.
func (r RetainPeriod) Given() bool { return r.given }

// String implements flag.Value; it is empty when the period was not given, so that -help shows
// no single default.
func (r RetainPeriod) String() string {
	if !r.given {
		return ""
	}
	return r.d.String()
}

// Set implements flag.Value.
func (r *RetainPeriod) Set(s string) error {
	if err := r.d.Set(s); err != nil {
		return err
	}
	r.given = true
	return nil
}

// MarshalYAML renders the period D returns.
func (r RetainPeriod) MarshalYAML() (any, error) { return flagext.Duration(r.D()).String(), nil }

// UnmarshalYAML implements yaml.Unmarshaler for yaml.v3's older interface.
func (r *RetainPeriod) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	return r.Set(s)
}

// RegisterFlags sets Loki's defaults under the -ingester. prefix (but for chunk_retain_period,
// see DefaultChunkRetainPeriod).
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.ChunkEncoding, "ingester.chunk-encoding", chunk.DefaultEncoding.String(), "Compression of chunks: none, gzip, snappy, s2, zstd, flate.")
	fs.IntVar(&c.ChunkBlockSize, "ingester.chunks-block-size", 262144, "Raw size of a chunk block in bytes.")
	fs.IntVar(&c.ChunkTargetSize, "ingester.chunk-target-size", 1572864, "Compressed size at which a chunk is cut.")
	c.ChunkIdlePeriod = flagext.Duration(30 * time.Minute)
	fs.Var(&c.ChunkIdlePeriod, "ingester.chunks-idle-period", "Flush a chunk that received no entries for this long.")
	c.ChunkRetainPeriod = RetainPeriod{}
	fs.Var(&c.ChunkRetainPeriod, "ingester.chunks-retain-period", "How long a flushed chunk stays in memory, still answering queries, so that read processes see its lines until they have the index tables listing it; 0 drops it at once. Default 7m, or 0 in a process that also runs a querier (target all).")
	fs.IntVar(&c.ChunkRetainMaxBytes, "ingester.chunks-retain-max-bytes", 256<<20, "Most compressed bytes of flushed chunks kept for chunk_retain_period; past it the ones flushed first are released early. 0: no bound.")
	c.MaxChunkAge = flagext.Duration(2 * time.Hour)
	fs.Var(&c.MaxChunkAge, "ingester.max-chunk-age", "Flush a chunk whose entries would span more than this, or open this long; also sets the out-of-order window (half of it).")
	c.FlushCheckPeriod = flagext.Duration(30 * time.Second)
	fs.Var(&c.FlushCheckPeriod, "ingester.flush-check-period", "How often to look for chunks to flush.")
	c.FlushOpTimeout = flagext.Duration(10 * time.Minute)
	fs.Var(&c.FlushOpTimeout, "ingester.flush-op-timeout", "Timeout of one chunk flush.")
	fs.IntVar(&c.ConcurrentFlushes, "ingester.concurrent-flushes", 32, "Number of chunks flushed in parallel.")
	fs.BoolVar(&c.WAL.Enabled, "ingester.wal-enabled", true, "Write every push to the write-ahead log before acknowledging it.")
	fs.StringVar(&c.WAL.Dir, "ingester.wal-dir", "", "Directory of the write-ahead log (default <path_prefix>/wal).")
	c.WAL.CheckpointDuration = flagext.Duration(5 * time.Minute)
	fs.Var(&c.WAL.CheckpointDuration, "ingester.checkpoint-duration", "How often to checkpoint the write-ahead log.")
	fs.BoolVar(&c.WAL.FlushOnShutdown, "ingester.flush-on-shutdown", true, "Flush every chunk to the store on shutdown.")
	c.WAL.ReplayMemoryCeiling = 4 << 30
	fs.Var(&c.WAL.ReplayMemoryCeiling, "ingester.wal-replay-memory-ceiling", "Most log bytes a WAL replay holds in memory; past it, what was replayed so far is flushed to the store before the replay goes on. About half the memory available is sensible.")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	if _, err := chunk.ParseEncoding(c.ChunkEncoding); err != nil {
		errs = append(errs, fmt.Errorf("ingester.chunk_encoding: %w", err))
	}
	if c.ChunkBlockSize <= 0 {
		errs = append(errs, fmt.Errorf("ingester.chunk_block_size: must be positive, got %d", c.ChunkBlockSize))
	}
	if c.ChunkTargetSize <= 0 {
		errs = append(errs, fmt.Errorf("ingester.chunk_target_size: must be positive, got %d", c.ChunkTargetSize))
	}
	if c.MaxChunkAge <= 0 || c.ChunkIdlePeriod <= 0 || c.FlushCheckPeriod <= 0 {
		errs = append(errs, errors.New("ingester: max_chunk_age, chunk_idle_period and flush_check_period must be positive"))
	}
	if c.ChunkRetainMaxBytes < 0 {
		errs = append(errs, fmt.Errorf("ingester.chunk_retain_max_bytes: must not be negative, got %d", c.ChunkRetainMaxBytes))
	}
	if c.ChunkRetainPeriod.D() < 0 {
		errs = append(errs, fmt.Errorf("ingester.chunk_retain_period: must not be negative, got %s", c.ChunkRetainPeriod))
	}
	if c.ConcurrentFlushes <= 0 {
		errs = append(errs, fmt.Errorf("ingester.concurrent_flushes: must be positive, got %d", c.ConcurrentFlushes))
	}
	if c.WAL.Enabled && c.WAL.CheckpointDuration <= 0 {
		errs = append(errs, errors.New("ingester.wal.checkpoint_duration: must be positive"))
	}
	if c.WAL.Enabled && c.WAL.ReplayMemoryCeiling == 0 {
		errs = append(errs, errors.New("ingester.wal.replay_memory_ceiling: must be positive"))
	}
	return errors.Join(errs...)
}
