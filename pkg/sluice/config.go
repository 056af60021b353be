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

	"github.com/sluicelog/sluice/pkg/compactor"
	"github.com/sluicelog/sluice/pkg/flagext"
	"github.com/sluicelog/sluice/pkg/ingester"
	"github.com/sluicelog/sluice/pkg/querier"
	"github.com/sluicelog/sluice/pkg/querier/queryrange"
	"github.com/sluicelog/sluice/pkg/runtimeconfig"
	"github.com/sluicelog/sluice/pkg/storage"
	"github.com/sluicelog/sluice/pkg/storage/s3"
	"github.com/sluicelog/sluice/pkg/storage/shipper"
	"github.com/sluicelog/sluice/pkg/tail"
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
	ChunkStore    ChunkStoreConfig     `yaml:"chunk_store_config"`
	Limits        validation.Limits    `yaml:"limits_config"`
	RuntimeConfig runtimeconfig.Config `yaml:"runtime_config"`
	Querier       QuerierConfig        `yaml:"querier"`
	QueryRange    queryrange.Config    `yaml:"query_range"`
	Compactor     compactor.Config     `yaml:"compactor"`

	// LokiOnly holds Loki sections Sluice accepts and ignores (config_loki.go).
	LokiOnly LokiOnlyConfig `yaml:",inline"`
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

	// LokiOnly catches the block's other keys: Loki's gRPC settings, accepted and ignored,
	// and anything else, an error (config_loki.go).
	LokiOnly map[string]yaml.Node `yaml:",inline"`
}

// CommonConfig holds settings several components share.
type CommonConfig struct {
	// PathPrefix is the data directory: chunks, index and WAL live below it by default.
	PathPrefix string `yaml:"path_prefix"`
	// Storage is the object store every component shares unless storage_config says otherwise.
	Storage CommonStorageConfig `yaml:"storage"`

	// Loki's ring settings, accepted and ignored (config_loki.go).
	InstanceAddr      string    `yaml:"instance_addr,omitempty"`
	ReplicationFactor int       `yaml:"replication_factor,omitempty"`
	Ring              yaml.Node `yaml:"ring,omitempty"`
}

// CommonStorageConfig is Loki's common.storage block: the object store storage_config falls
// back to.
type CommonStorageConfig struct {
	S3         s3.Config              `yaml:"s3"`
	Filesystem CommonFilesystemConfig `yaml:"filesystem"`
}

// CommonFilesystemConfig is common.storage.filesystem.
type CommonFilesystemConfig struct {
	ChunksDirectory string `yaml:"chunks_directory"`
	RulesDirectory  string `yaml:"rules_directory"`
}

// ChunkStoreConfig is Loki's chunk_store_config block.
type ChunkStoreConfig struct {
	ChunkCacheConfig storage.CacheConfig `yaml:"chunk_cache_config"`
}

// QuerierConfig is Loki's querier block; live tails are the querier's in Loki.
type QuerierConfig struct {
	tail.Config `yaml:",inline"`
	// QueryIngestersWithin: queries whose range ends longer ago than this are answered from
	// the store alone, without asking remote ingesters (0: always ask them). The ingester of
	// the querier's own process is always asked.
	QueryIngestersWithin flagext.Duration `yaml:"query_ingesters_within"`
	// IngesterAddresses are the HTTP addresses (host:port, or dns+host:port for every A and
	// AAAA record of host) of the ingesters a querier without its own asks for the lines they
	// have not flushed yet (a Sluice setting; Loki finds its ingesters through the ring).
	IngesterAddresses flagext.Strings `yaml:"ingester_addresses"`
}

// DefaultQueryIngestersWithin is Loki's default querier.query_ingesters_within.
const DefaultQueryIngestersWithin = 3 * time.Hour

// RegisterFlags registers the querier's flags and the live tails'.
func (c *QuerierConfig) RegisterFlags(fs *flag.FlagSet) {
	c.Config.RegisterFlags(fs)
	c.QueryIngestersWithin = flagext.Duration(DefaultQueryIngestersWithin)
	fs.Var(&c.QueryIngestersWithin, "querier.query-ingesters-within", "Ask remote ingesters only for queries whose range ends within this long of now (0: every query).")
	fs.Var(&c.IngesterAddresses, "querier.ingester-addresses", "Comma-separated HTTP addresses (host:port, or dns+host:port for every A/AAAA record of host) of the ingesters a querier without its own ingester reads unflushed lines from.")
}

// Validate checks the querier's settings.
func (c *QuerierConfig) Validate() error {
	var errs []error
	if err := c.Config.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.QueryIngestersWithin < 0 {
		errs = append(errs, fmt.Errorf("querier.query_ingesters_within: must not be negative, got %s", c.QueryIngestersWithin))
	}
	for _, addr := range c.IngesterAddresses {
		if err := querier.ParseAddress(addr); err != nil {
			errs = append(errs, fmt.Errorf("querier.ingester_addresses: %w", err))
		}
	}
	return errors.Join(errs...)
}

// DistributorConfig configures the write path's front door.
type DistributorConfig struct {
	MaxRecvMsgSize int `yaml:"max_recv_msg_size"`
	// OTLPConfig is Loki's distributor.otlp_config: the OTLP endpoint's default index labels.
	OTLPConfig validation.GlobalOTLPConfig `yaml:"otlp_config"`
}

// StorageConfig says where chunks and the index live.
type StorageConfig struct {
	// ObjectStore picks the object store of chunks and shipped index tables: "filesystem",
	// "s3" (or "aws", as Loki spells it), or "" to use S3 when a bucket is configured (here or in
	// common.storage.s3) and the filesystem otherwise.
	ObjectStore string           `yaml:"object_store"`
	AWS         s3.Config        `yaml:"aws"`
	Filesystem  FilesystemConfig `yaml:"filesystem"`
	BoltDB      BoltDBConfig     `yaml:"boltdb_shipper"`
}

// FilesystemConfig is the filesystem object store.
type FilesystemConfig struct {
	Directory string `yaml:"directory"`
}

// BoltDBConfig is the index's local directory and, with an S3 object store, how its tables are
// shipped (Loki's boltdb_shipper block).
type BoltDBConfig struct {
	ActiveIndexDirectory string `yaml:"active_index_directory"`
	shipper.Config       `yaml:",inline"`
}

// indexShippingDelay is how long a read process may take, at most, to learn from the shipped
// index of a chunk a write process has just flushed: until the write process's next upload, then
// until the read process's next resync (taking both from this configuration, as processes of one
// deployment share it). Until then it finds the lines only in the ingester, which keeps them for
// ingester.chunk_retain_period.
func (c *Config) indexShippingDelay() time.Duration {
	upload, resync := c.StorageConfig.BoltDB.UploadInterval.D(), c.StorageConfig.BoltDB.ResyncInterval.D()
	if upload == 0 { // the shipper's reading of 0
		upload = shipper.DefaultUploadInterval
	}
	if resync == 0 {
		resync = shipper.DefaultResyncInterval
	}
	return upload + resync
}

// chunkRetainPeriod returns ingester.chunk_retain_period for a process running modules m: as
// given, else the ingester's default (7m, see ingester.DefaultChunkRetainPeriod) when the
// ingester is read by the queriers of other processes only, and 0 when the process runs a
// querier too (-target=all). That querier reads the index as it is written, so no flushed chunk
// is missing from its answers; retaining would cost memory (every chunk flushed in the last
// minutes, a backfill's whole compressed size) and a second read of recent chunks. Processes
// with both an ingester and a querier are not what read processes are pointed at (those run
// target=write); one that is can be given the period.
func (c *Config) chunkRetainPeriod(m moduleSet) ingester.RetainPeriod {
	r := c.Ingester.ChunkRetainPeriod
	switch {
	case r.Given():
		return r
	case m.Has(Querier):
		return ingester.RetainFor(0)
	default:
		return ingester.RetainFor(r.D())
	}
}

// RegisterFlags registers the storage flags with Loki's names.
func (c *StorageConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.ObjectStore, "store.object-store", "", "Object store of chunks and index: filesystem or s3; empty picks s3 when a bucket is configured, else filesystem.")
	fs.StringVar(&c.Filesystem.Directory, "local.chunk-directory", "", "Directory of the filesystem object store (default common.storage.filesystem.chunks_directory, else <path_prefix>/chunks).")
	fs.StringVar(&c.BoltDB.ActiveIndexDirectory, "boltdb.shipper.active-index-directory", "", "Directory of the index tables (default <path_prefix>/index).")
	c.BoltDB.Config.RegisterFlags(fs)
	c.AWS.RegisterFlags(fs)
}

// Validate checks the storage settings.
func (c *StorageConfig) Validate() error {
	var errs []error
	switch c.ObjectStore {
	case "", "filesystem", "s3", "aws":
	default:
		errs = append(errs, fmt.Errorf("storage_config.object_store: %q is not one of filesystem, s3, aws", c.ObjectStore))
	}
	if err := c.BoltDB.Config.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// RegisterFlags registers every setting's flag with its default.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Target, "target", "all", "Modules this process runs, comma-separated: all, write (distributor,ingester), read (querier,query-frontend), backend (compactor), or module names. Any target but all needs S3.")
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
	c.Distributor.OTLPConfig.RegisterFlags(fs)
	c.StorageConfig.RegisterFlags(fs)
	// common.storage.s3 has no flags (the -s3.* ones set storage_config.aws), only defaults.
	c.Common.Storage.S3.RegisterFlags(flag.NewFlagSet("common.storage.s3", flag.ContinueOnError))
	c.ChunkStore.ChunkCacheConfig.RegisterFlags(fs)
	c.Ingester.RegisterFlags(fs)
	c.Limits.RegisterFlags(fs)
	c.RuntimeConfig.RegisterFlags(fs)
	c.Querier.RegisterFlags(fs)
	c.QueryRange.RegisterFlags(fs)
	c.Compactor.RegisterFlags(fs)
}

// ApplyDefaults fills directories derived from the path prefix that are not set.
func (c *Config) ApplyDefaults() {
	if c.StorageConfig.Filesystem.Directory == "" {
		c.StorageConfig.Filesystem.Directory = c.Common.Storage.Filesystem.ChunksDirectory
	}
	if c.StorageConfig.Filesystem.Directory == "" {
		c.StorageConfig.Filesystem.Directory = filepath.Join(c.Common.PathPrefix, "chunks")
	}
	if c.StorageConfig.BoltDB.CacheLocation == "" {
		c.StorageConfig.BoltDB.CacheLocation = filepath.Join(c.Common.PathPrefix, "index_cache")
	}
	if c.StorageConfig.BoltDB.ActiveIndexDirectory == "" {
		c.StorageConfig.BoltDB.ActiveIndexDirectory = filepath.Join(c.Common.PathPrefix, "index")
	}
	if c.Compactor.WorkingDirectory == "" {
		c.Compactor.WorkingDirectory = filepath.Join(c.Common.PathPrefix, "compactor")
	}
	if c.Ingester.WAL.Dir == "" {
		c.Ingester.WAL.Dir = filepath.Join(c.Common.PathPrefix, "wal")
	}
	// Loki's deprecated names of the runtime configuration file and period, used as Loki uses
	// them: when runtime_config.file is not set.
	if c.RuntimeConfig.File == "" && c.Limits.PerTenantOverrideConfig != "" {
		c.RuntimeConfig.File = c.Limits.PerTenantOverrideConfig
		c.RuntimeConfig.Period = c.Limits.PerTenantOverridePeriod
	}
}

// Validate checks every component's configuration; each error names its field.
func (c *Config) Validate() error {
	var errs []error
	if err := c.validateTarget(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.validateLokiOnly()...)
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
	if err := c.StorageConfig.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.ChunkStore.ChunkCacheConfig.Validate(); err != nil {
		errs = append(errs, err)
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
	if err := c.Querier.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.QueryRange.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Compactor.Validate(); err != nil {
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
