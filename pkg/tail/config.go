package tail

import (
	"errors"
	"flag"
	"time"

	"github.com/sluicelog/sluice/pkg/flagext"
)

// Config bounds the memory and lifetime of live tails.
type Config struct {
	// MaxDuration ends a tail after this long (Loki's querier tail_max_duration).
	MaxDuration flagext.Duration `yaml:"tail_max_duration"`
	// MaxPerTenant is the number of concurrent tails a tenant may open (Loki's
	// max_concurrent_tail_requests); 0 means no limit.
	MaxPerTenant int `yaml:"max_concurrent_tail_requests"`
	// QueueSize is the number of pushes per tenant waiting to be matched. A push that
	// finds the queue full is dropped for the tails (never for storage).
	QueueSize int `yaml:"queue_size"`
	// QueueBytes bounds the bytes (lines and labels) of those pushes; one push is queued
	// whatever its size when the queue is empty.
	QueueBytes int `yaml:"queue_bytes"`
	// BufferEntries and BufferBytes bound what one subscription holds for its reader.
	BufferEntries int `yaml:"buffer_entries"`
	BufferBytes   int `yaml:"buffer_bytes"`
	// TenantLimit, when set, gives a tenant's own tail limit (its limits_config
	// max_concurrent_tail_requests); a result of 0 or less means MaxPerTenant applies.
	TenantLimit func(tenant string) int `yaml:"-"`
}

// Defaults. The buffer holds as much as Loki's querier does for one tail (10 responses of up
// to 100 entries); the queue absorbs a burst of pushes while the hub is busy.
const (
	DefaultMaxDuration   = time.Hour
	DefaultMaxPerTenant  = 10
	DefaultQueueSize     = 1024
	DefaultQueueBytes    = 64 << 20
	DefaultBufferEntries = 1000
	DefaultBufferBytes   = 8 << 20
)

// RegisterFlags sets the defaults under the -querier. and -tail. prefixes.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.MaxDuration = flagext.Duration(DefaultMaxDuration)
	fs.Var(&c.MaxDuration, "querier.tail-max-duration", "Longest time a live tail stays open.")
	fs.IntVar(&c.MaxPerTenant, "querier.max-concurrent-tail-requests", DefaultMaxPerTenant, "Concurrent live tails per tenant (0 for no limit).")
	fs.IntVar(&c.QueueSize, "tail.queue-size", DefaultQueueSize, "Pushes per tenant waiting to be matched against live tails.")
	fs.IntVar(&c.QueueBytes, "tail.queue-bytes", DefaultQueueBytes, "Bytes of pushes per tenant waiting to be matched against live tails.")
	fs.IntVar(&c.BufferEntries, "tail.buffer-entries", DefaultBufferEntries, "Entries buffered for one live tail before it drops.")
	fs.IntVar(&c.BufferBytes, "tail.buffer-bytes", DefaultBufferBytes, "Bytes of lines buffered for one live tail before it drops.")
}

// Validate checks the values.
func (c *Config) Validate() error {
	if c.MaxDuration < 0 || c.MaxPerTenant < 0 || c.QueueSize < 0 || c.QueueBytes < 0 || c.BufferEntries < 0 || c.BufferBytes < 0 {
		return errors.New("tail: limits must not be negative")
	}
	return nil
}

// withDefaults fills zero values (other than MaxPerTenant, where 0 means no limit).
func (c Config) withDefaults() Config {
	if c.MaxDuration == 0 {
		c.MaxDuration = flagext.Duration(DefaultMaxDuration)
	}
	if c.QueueSize == 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.QueueBytes == 0 {
		c.QueueBytes = DefaultQueueBytes
	}
	if c.BufferEntries == 0 {
		c.BufferEntries = DefaultBufferEntries
	}
	if c.BufferBytes == 0 {
		c.BufferBytes = DefaultBufferBytes
	}
	return c
}

// DefaultConfig returns the configuration RegisterFlags would set.
func DefaultConfig() Config {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("tail", flag.ContinueOnError))
	return c
}
