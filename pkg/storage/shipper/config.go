package shipper

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sluicelog/sluice/pkg/flagext"
)

// Config is the shipper's part of Loki's storage_config.boltdb_shipper block. Zero durations
// mean their defaults, so a zero Config works.
type Config struct {
	// CacheLocation is where downloaded tables are kept.
	CacheLocation string `yaml:"cache_location"`
	// CacheTTL is how long a downloaded table no query used is kept.
	CacheTTL flagext.Duration `yaml:"cache_ttl"`
	// ResyncInterval is how often the list of shipped tables and the downloaded tables are
	// refreshed.
	ResyncInterval flagext.Duration `yaml:"resync_interval"`
	// UploadInterval is how often changed local tables are uploaded (Sluice only; Loki fixes it
	// at one minute).
	UploadInterval flagext.Duration `yaml:"upload_interval"`
	// IngesterName names this node's uploads; empty means the host name.
	IngesterName string `yaml:"ingester_name"`
}

// Defaults of the durations.
const (
	DefaultCacheTTL       = 24 * time.Hour
	DefaultResyncInterval = 5 * time.Minute
	DefaultUploadInterval = time.Minute
)

// RegisterFlags registers the flags with Loki's names (Sluice's own under the same prefix).
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.CacheLocation, "boltdb.shipper.cache-location", "", "Directory of index tables downloaded from the object store (default <path_prefix>/index_cache).")
	c.CacheTTL = flagext.Duration(DefaultCacheTTL)
	fs.Var(&c.CacheTTL, "boltdb.shipper.cache-ttl", "How long a downloaded index table that no query used is kept.")
	c.ResyncInterval = flagext.Duration(DefaultResyncInterval)
	fs.Var(&c.ResyncInterval, "boltdb.shipper.resync-interval", "How often the list of shipped index tables and the downloaded tables are refreshed.")
	c.UploadInterval = flagext.Duration(DefaultUploadInterval)
	fs.Var(&c.UploadInterval, "boltdb.shipper.upload-interval", "How often changed local index tables are uploaded to the object store.")
	fs.StringVar(&c.IngesterName, "boltdb.shipper.ingester-name", "", "Name of this node's uploaded index tables; must be unique among ingesters (default the host name).")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	for name, d := range map[string]flagext.Duration{"cache_ttl": c.CacheTTL, "resync_interval": c.ResyncInterval, "upload_interval": c.UploadInterval} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("storage_config.boltdb_shipper.%s: must not be negative, got %s", name, d))
		}
	}
	if c.IngesterName != "" {
		if err := checkName(c.IngesterName); err != nil {
			errs = append(errs, fmt.Errorf("storage_config.boltdb_shipper.ingester_name: %w", err))
		}
	}
	return errors.Join(errs...)
}

// withDefaults fills zero settings.
func (c Config) withDefaults() (Config, error) {
	if c.CacheTTL == 0 {
		c.CacheTTL = flagext.Duration(DefaultCacheTTL)
	}
	if c.ResyncInterval == 0 {
		c.ResyncInterval = flagext.Duration(DefaultResyncInterval)
	}
	if c.UploadInterval == 0 {
		c.UploadInterval = flagext.Duration(DefaultUploadInterval)
	}
	if c.CacheLocation == "" {
		return c, errors.New("shipper: cache_location is not set")
	}
	if c.IngesterName == "" {
		host, err := os.Hostname()
		if err != nil {
			return c, fmt.Errorf("shipper: ingester name from host name: %w", err)
		}
		c.IngesterName = sanitizeName(host)
	}
	if err := checkName(c.IngesterName); err != nil {
		return c, fmt.Errorf("shipper: ingester name: %w", err)
	}
	return c, c.Validate()
}

// checkName accepts names that are one clean key element.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || len(name) > 200 {
		return fmt.Errorf("%q is not a valid name", name)
	}
	if i := strings.IndexFunc(name, func(r rune) bool { return !nameRune(r) }); i >= 0 {
		return fmt.Errorf("%q: character %q is not allowed (use letters, digits, '-', '_' and '.')", name, name[i])
	}
	return nil
}

func nameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
}

// sanitizeName replaces the characters checkName refuses.
func sanitizeName(s string) string {
	return strings.Map(func(r rune) rune {
		if nameRune(r) {
			return r
		}
		return '_'
	}, s)
}
