package sluice

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sluicelog/sluice/pkg/flagext"
	"github.com/sluicelog/sluice/pkg/ingester"
	"github.com/sluicelog/sluice/pkg/runtimeconfig"
	"github.com/sluicelog/sluice/pkg/validation"
)

// Config is the whole server's configuration, in Loki's YAML shape.
type Config struct {
	Target      string `yaml:"target"`
	AuthEnabled bool   `yaml:"auth_enabled"`

	Server        ServerConfig         `yaml:"server"`
	Common        CommonConfig         `yaml:"common"`
	Distributor   DistributorConfig    `yaml:"distributor"`
	Ingester      ingester.Config      `yaml:"ingester"`
	StorageConfig StorageConfig        `yaml:"storage_config"`
	Limits        validation.Limits    `yaml:"limits_config"`
	RuntimeConfig runtimeconfig.Config `yaml:"runtime_config"`
}

// ServerConfig is the HTTP server's configuration.
type ServerConfig struct {
	HTTPListenAddress       string           `yaml:"http_listen_address"`
	HTTPListenPort          int              `yaml:"http_listen_port"`
	LogLevel                string           `yaml:"log_level"`
	GracefulShutdownTimeout flagext.Duration `yaml:"graceful_shutdown_timeout"`
	HTTPServerReadTimeout   flagext.Duration `yaml:"http_server_read_timeout"`
	HTTPServerWriteTimeout  flagext.Duration `yaml:"http_server_write_timeout"`
	HTTPServerIdleTimeout   flagext.Duration `yaml:"http_server_idle_timeout"`
}

// CommonConfig holds settings several components share.
type CommonConfig struct {
	// PathPrefix is the data directory: chunks, index and WAL live below it by default.
	PathPrefix string `yaml:"path_prefix"`
}

// DistributorConfig configures the write path's front door.
type DistributorConfig struct {
	MaxRecvMsgSize int `yaml:"max_recv_msg_size"`
}

// StorageConfig says where chunks and the index live.
type StorageConfig struct {
	Filesystem FilesystemConfig `yaml:"filesystem"`
	BoltDB     BoltDBConfig     `yaml:"boltdb_shipper"`
}

// FilesystemConfig is the filesystem object store.
type FilesystemConfig struct {
	Directory string `yaml:"directory"`
}

// BoltDBConfig is the index's local directory.
type BoltDBConfig struct {
	ActiveIndexDirectory string `yaml:"active_index_directory"`
}

// RegisterFlags registers every setting's flag with its default.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Target, "target", "all", "Components to run; only 'all' is supported in this release.")
	fs.BoolVar(&c.AuthEnabled, "auth.enabled", false, "Require X-Scope-OrgID on every request (multi-tenant mode).")
	fs.StringVar(&c.Server.HTTPListenAddress, "server.http-listen-address", "", "HTTP listen address (empty: all interfaces).")
	fs.IntVar(&c.Server.HTTPListenPort, "server.http-listen-port", 3100, "HTTP listen port (0 picks a free port).")
	fs.StringVar(&c.Server.LogLevel, "log.level", "info", "Log level: debug, info, warn or error.")
	c.Server.GracefulShutdownTimeout = flagext.Duration(30 * time.Second)
	fs.Var(&c.Server.GracefulShutdownTimeout, "server.graceful-shutdown-timeout", "Time to finish in-flight requests on shutdown.")
	c.Server.HTTPServerReadTimeout = flagext.Duration(30 * time.Second)
	fs.Var(&c.Server.HTTPServerReadTimeout, "server.http-read-timeout", "Read timeout of HTTP requests.")
	c.Server.HTTPServerWriteTimeout = flagext.Duration(10 * time.Minute)
	fs.Var(&c.Server.HTTPServerWriteTimeout, "server.http-write-timeout", "Write timeout of HTTP responses.")
	c.Server.HTTPServerIdleTimeout = flagext.Duration(2 * time.Minute)
	fs.Var(&c.Server.HTTPServerIdleTimeout, "server.http-idle-timeout", "Idle timeout of HTTP connections.")
	fs.StringVar(&c.Common.PathPrefix, "common.path-prefix", "./data", "Data directory: chunks, index and WAL live below it unless set apart.")
	fs.IntVar(&c.Distributor.MaxRecvMsgSize, "distributor.max-recv-msg-size", 100<<20, "Largest push body accepted, compressed or not, in bytes.")
	fs.StringVar(&c.StorageConfig.Filesystem.Directory, "local.chunk-directory", "", "Directory of the filesystem object store (default <path_prefix>/chunks).")
	fs.StringVar(&c.StorageConfig.BoltDB.ActiveIndexDirectory, "boltdb.shipper.active-index-directory", "", "Directory of the index tables (default <path_prefix>/index).")
	c.Ingester.RegisterFlags(fs)
	c.Limits.RegisterFlags(fs)
	c.RuntimeConfig.RegisterFlags(fs)
}

// ApplyDefaults fills directories derived from the path prefix that are not set.
func (c *Config) ApplyDefaults() {
	if c.StorageConfig.Filesystem.Directory == "" {
		c.StorageConfig.Filesystem.Directory = filepath.Join(c.Common.PathPrefix, "chunks")
	}
	if c.StorageConfig.BoltDB.ActiveIndexDirectory == "" {
		c.StorageConfig.BoltDB.ActiveIndexDirectory = filepath.Join(c.Common.PathPrefix, "index")
	}
	if c.Ingester.WAL.Dir == "" {
		c.Ingester.WAL.Dir = filepath.Join(c.Common.PathPrefix, "wal")
	}
}

// Validate checks every component's configuration; each error names its field.
func (c *Config) Validate() error {
	var errs []error
	if c.Target != "all" {
		errs = append(errs, fmt.Errorf("target: %q is not supported; this release runs every component in one process (target=all)", c.Target))
	}
	if c.Server.HTTPListenPort < 0 || c.Server.HTTPListenPort > 65535 {
		errs = append(errs, fmt.Errorf("server.http_listen_port: %d is not a port number", c.Server.HTTPListenPort))
	}
	switch c.Server.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("server.log_level: %q is not one of debug, info, warn, error", c.Server.LogLevel))
	}
	if c.Common.PathPrefix == "" {
		errs = append(errs, errors.New("common.path_prefix: must be set"))
	}
	if c.Distributor.MaxRecvMsgSize <= 0 {
		errs = append(errs, fmt.Errorf("distributor.max_recv_msg_size: must be positive, got %d", c.Distributor.MaxRecvMsgSize))
	}
	if err := c.Ingester.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Limits.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.RuntimeConfig.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// YAML renders the configuration.
func (c *Config) YAML() ([]byte, error) {
	return yaml.Marshal(c)
}

// LoadConfig builds the configuration from args as Loki does: flag defaults, then the file
// named by -config.file (with ${VAR} expanded when -config.expand-env), then the flags given
// on the command line, which win.
func LoadConfig(args []string) (*Config, error) {
	var cfg Config
	fs := flag.NewFlagSet("sluice", flag.ContinueOnError)
	var file string
	var expandEnv, printVersion bool
	fs.StringVar(&file, "config.file", "", "YAML configuration file.")
	fs.BoolVar(&expandEnv, "config.expand-env", false, "Expand ${VAR} and ${VAR:-default} in the configuration file.")
	fs.BoolVar(&printVersion, "version", false, "Print the version and exit.")
	cfg.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if printVersion {
		return nil, ErrPrintVersion
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read config file: %w", err)
		}
		if expandEnv {
			b = []byte(expandEnvDefaults(string(b)))
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) { // an empty file is fine
			return nil, fmt.Errorf("parse config file %s: %w", file, err)
		}
		// Flags given on the command line override the file.
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	return &cfg, nil
}

// ErrPrintVersion asks main to print the version and exit.
var ErrPrintVersion = errors.New("print version")

// expandEnvDefaults expands ${VAR} and ${VAR:-default} as Loki's -config.expand-env does.
func expandEnvDefaults(s string) string {
	return os.Expand(s, func(v string) string {
		name, def, hasDef := cutDefault(v)
		if val, ok := os.LookupEnv(name); ok && (val != "" || !hasDef) {
			return val
		}
		return def
	})
}

func cutDefault(v string) (name, def string, ok bool) {
	for i := 0; i+1 < len(v); i++ {
		if v[i] == ':' && v[i+1] == '-' {
			return v[:i], v[i+2:], true
		}
	}
	return v, "", false
}
