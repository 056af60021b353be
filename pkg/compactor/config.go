package compactor

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sluicelog/sluice/pkg/flagext"
)

// Config is the compactor block of the configuration, with Loki's names and defaults.
type Config struct {
	// WorkingDirectory holds the marker files and the delete requests; it must be on a
	// persistent disk, since markers are the only record of chunks waiting to be deleted.
	WorkingDirectory   string           `yaml:"working_directory"`
	CompactionInterval flagext.Duration `yaml:"compaction_interval"`
	// RetentionEnabled turns on retention and the physical removal of deleted lines. Without it
	// the compactor deletes nothing (delete requests still hide lines from queries).
	RetentionEnabled bool `yaml:"retention_enabled"`
	// RetentionDeleteDelay is how long a chunk's object outlives its index entry, so that
	// queries in flight can still read it.
	RetentionDeleteDelay       flagext.Duration `yaml:"retention_delete_delay"`
	RetentionDeleteWorkerCount int              `yaml:"retention_delete_worker_count"`
	// DeleteRequestCancelPeriod is how long a delete request can be cancelled; the compactor
	// applies it only afterwards.
	DeleteRequestCancelPeriod flagext.Duration `yaml:"delete_request_cancel_period"`
	// DeleteRequestStore names the object store of the delete requests in Loki. Sluice has one
	// object store, so the setting is accepted for compatibility only: the requests always go to
	// the configured object store.
	DeleteRequestStore string `yaml:"delete_request_store"`
	// DeleteRequestStoreKeyPrefix is the key prefix of the delete requests' object in the
	// object store (deletion.ObjectKey).
	DeleteRequestStoreKeyPrefix string `yaml:"delete_request_store_key_prefix"`
	// DeleteRequestStoreRefreshInterval is how often a process that runs a querier but not the
	// compactor reloads the delete requests from the object store (Sluice only).
	DeleteRequestStoreRefreshInterval flagext.Duration `yaml:"delete_request_store_refresh_interval"`
}

// RegisterFlags registers the flags under Loki's names with Loki's defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.WorkingDirectory, "compactor.working-directory", "", "Directory for marker files and delete requests (default <path_prefix>/compactor).")
	c.CompactionInterval = flagext.Duration(10 * time.Minute)
	fs.Var(&c.CompactionInterval, "compactor.compaction-interval", "Interval at which to apply retention and deletes.")
	fs.BoolVar(&c.RetentionEnabled, "compactor.retention-enabled", false, "Apply retention and delete requests to stored data.")
	c.RetentionDeleteDelay = flagext.Duration(2 * time.Hour)
	fs.Var(&c.RetentionDeleteDelay, "compactor.retention-delete-delay", "Delay after which chunks marked for deletion are deleted from the object store.")
	fs.IntVar(&c.RetentionDeleteWorkerCount, "compactor.retention-delete-worker-count", 150, "Number of goroutines deleting chunk objects.")
	c.DeleteRequestCancelPeriod = flagext.Duration(24 * time.Hour)
	fs.Var(&c.DeleteRequestCancelPeriod, "compactor.delete-request-cancel-period", "Time during which a delete request can be cancelled; it is applied afterwards.")
	fs.StringVar(&c.DeleteRequestStore, "compactor.delete-request-store", "", "Store for delete requests (accepted for Loki compatibility; they always go to the configured object store).")
	fs.StringVar(&c.DeleteRequestStoreKeyPrefix, "compactor.delete-request-store.key-prefix", "index/", "Key prefix of the delete requests' object in the object store.")
	c.DeleteRequestStoreRefreshInterval = flagext.Duration(time.Minute)
	fs.Var(&c.DeleteRequestStoreRefreshInterval, "compactor.delete-request-store.refresh-interval", "How often a process running a querier but not the compactor reloads the delete requests from the object store.")
}

// DefaultConfig returns the configuration with every default.
func DefaultConfig() Config {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("compactor", flag.ContinueOnError))
	return c
}

// Validate checks the configuration; each error names its field.
func (c *Config) Validate() error {
	var errs []error
	if c.CompactionInterval <= 0 {
		errs = append(errs, fmt.Errorf("compactor.compaction_interval: must be positive, got %s", c.CompactionInterval))
	}
	if c.RetentionDeleteDelay < 0 {
		errs = append(errs, fmt.Errorf("compactor.retention_delete_delay: must not be negative, got %s", c.RetentionDeleteDelay))
	}
	if c.RetentionDeleteWorkerCount <= 0 {
		errs = append(errs, fmt.Errorf("compactor.retention_delete_worker_count: must be positive, got %d", c.RetentionDeleteWorkerCount))
	}
	if c.DeleteRequestCancelPeriod < 0 {
		errs = append(errs, fmt.Errorf("compactor.delete_request_cancel_period: must not be negative, got %s", c.DeleteRequestCancelPeriod))
	}
	if c.DeleteRequestStoreRefreshInterval <= 0 {
		errs = append(errs, fmt.Errorf("compactor.delete_request_store_refresh_interval: must be positive, got %s", c.DeleteRequestStoreRefreshInterval))
	}
	if strings.HasPrefix(c.DeleteRequestStoreKeyPrefix, "/") || slices.Contains(strings.Split(c.DeleteRequestStoreKeyPrefix, "/"), "..") {
		errs = append(errs, fmt.Errorf("compactor.delete_request_store_key_prefix: %q must be a relative key prefix without '..'", c.DeleteRequestStoreKeyPrefix))
	}
	if c.WorkingDirectory == "" {
		errs = append(errs, errors.New("compactor.working_directory: must be set"))
	}
	return errors.Join(errs...)
}
