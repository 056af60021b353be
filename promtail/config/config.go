package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/relabel"
	"gopkg.in/yaml.v3"
)

// Config is a whole promtail configuration file.
type Config struct {
	Server    ServerConfig    `yaml:"server"`
	Positions PositionsConfig `yaml:"positions"`
	Clients   []ClientConfig  `yaml:"clients,omitempty"`
	// Client is the single-client form of older promtail files; Load appends it to Clients.
	Client        *ClientConfig  `yaml:"client,omitempty"`
	ScrapeConfigs []ScrapeConfig `yaml:"scrape_configs,omitempty"`
	Limits        LimitsConfig   `yaml:"limits_config"`
	Target        TargetConfig   `yaml:"target_config"`
	Global        GlobalConfig   `yaml:"global"`
	Options       yaml.Node      `yaml:"options,omitempty"`
	Tracing       yaml.Node      `yaml:"tracing,omitempty"`
	WAL           yaml.Node      `yaml:"wal,omitempty"`
}

// ServerConfig is promtail's server block. Only the HTTP listener is served; gRPC settings are
// accepted and ignored.
type ServerConfig struct {
	Disable           bool                 `yaml:"disable"`
	HTTPListenAddress string               `yaml:"http_listen_address"`
	HTTPListenPort    int                  `yaml:"http_listen_port"`
	GRPCListenAddress string               `yaml:"grpc_listen_address"`
	GRPCListenPort    int                  `yaml:"grpc_listen_port"`
	LogLevel          string               `yaml:"log_level"`
	LogFormat         string               `yaml:"log_format"`
	GracefulShutdown  Duration             `yaml:"graceful_shutdown_timeout"`
	HealthCheckTarget *bool                `yaml:"health_check_target"`
	RegisterInstr     *bool                `yaml:"register_instrumentation"`
	ProfilingEnabled  bool                 `yaml:"profiling_enabled"`
	Rest              map[string]yaml.Node `yaml:",inline"`
}

// PositionsConfig says where read positions are kept.
type PositionsConfig struct {
	Filename          string   `yaml:"filename"`
	SyncPeriod        Duration `yaml:"sync_period"`
	IgnoreInvalidYAML bool     `yaml:"ignore_invalid_yaml"`
}

// ClientConfig is one push destination.
type ClientConfig struct {
	URL             string            `yaml:"url"`
	TenantID        string            `yaml:"tenant_id"`
	BatchWait       Duration          `yaml:"batchwait"`
	BatchSize       int               `yaml:"batchsize"`
	Timeout         Duration          `yaml:"timeout"`
	Backoff         BackoffConfig     `yaml:"backoff_config"`
	ExternalLabels  map[string]string `yaml:"external_labels"`
	Headers         map[string]string `yaml:"headers"`
	BasicAuth       *BasicAuth        `yaml:"basic_auth"`
	BearerToken     string            `yaml:"bearer_token"`
	BearerTokenFile string            `yaml:"bearer_token_file"`
	Authorization   *Authorization    `yaml:"authorization"`
	TLSConfig       TLSConfig         `yaml:"tls_config"`
	ProxyURL        string            `yaml:"proxy_url"`
	// DropRateLimitedBatches gives up on a batch answered 429 instead of retrying it.
	DropRateLimitedBatches bool                 `yaml:"drop_rate_limited_batches"`
	Rest                   map[string]yaml.Node `yaml:",inline"`
}

// BasicAuth is HTTP basic authentication; PasswordFile wins over Password.
type BasicAuth struct {
	Username     string `yaml:"username"`
	Password     string `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
}

// Authorization is Prometheus' authorization block (type defaults to Bearer).
type Authorization struct {
	Type            string `yaml:"type"`
	Credentials     string `yaml:"credentials"`
	CredentialsFile string `yaml:"credentials_file"`
}

// TLSConfig is Prometheus' tls_config block.
type TLSConfig struct {
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
	MinVersion         string `yaml:"min_version"`
}

// BackoffConfig bounds the retries of one batch.
type BackoffConfig struct {
	MinPeriod  Duration `yaml:"min_period"`
	MaxPeriod  Duration `yaml:"max_period"`
	MaxRetries int      `yaml:"max_retries"`
}

// ScrapeConfig is one scrape_configs entry.
type ScrapeConfig struct {
	JobName             string               `yaml:"job_name"`
	PipelineStages      []yaml.Node          `yaml:"pipeline_stages,omitempty"`
	StaticConfigs       []StaticConfig       `yaml:"static_configs,omitempty"`
	KubernetesSDConfigs []KubernetesSDConfig `yaml:"kubernetes_sd_configs,omitempty"`
	FileSDConfigs       []FileSDConfig       `yaml:"file_sd_configs,omitempty"`
	RelabelConfigs      []*relabel.Config    `yaml:"relabel_configs,omitempty"`
	Encoding            string               `yaml:"encoding,omitempty"`
	DecompressionConfig yaml.Node            `yaml:"decompression,omitempty"`
	Syslog              *SyslogConfig        `yaml:"syslog,omitempty"`
	PushAPI             *PushConfig          `yaml:"loki_push_api,omitempty"`
	// Rest keeps the sections this promtail does not implement (journal, gelf, kafka, ...).
	Rest map[string]yaml.Node `yaml:",inline"`
}

// StaticConfig is a static target group; labels carry __path__ and __path_exclude__.
type StaticConfig struct {
	Targets []string          `yaml:"targets"`
	Labels  map[string]string `yaml:"labels"`
}

// FileSDConfig is Prometheus' file_sd_configs entry: files of target groups, in JSON or YAML.
type FileSDConfig struct {
	// Files are paths of target group files; the last element may hold one * wildcard.
	Files []string `yaml:"files"`
	// RefreshInterval is how often every file is read again even if it seems unchanged.
	RefreshInterval Duration `yaml:"refresh_interval,omitempty"`
}

// DefaultFileSDRefresh is Prometheus' default refresh_interval of file_sd_configs.
const DefaultFileSDRefresh = 5 * time.Minute

// fileSDName is the form Prometheus accepts for a file_sd_configs path: a * only in the last
// element, and a .json, .yml or .yaml extension.
var fileSDName = regexp.MustCompile(`^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$`)

func (fc *FileSDConfig) validate() error {
	if len(fc.Files) == 0 {
		return errors.New("files: at least one path is required")
	}
	for _, f := range fc.Files {
		if !fileSDName.MatchString(f) {
			return fmt.Errorf("files: %q is not a valid file_sd path (a * only in the last element; .json, .yml or .yaml)", f)
		}
	}
	if fc.RefreshInterval < 0 {
		return errors.New("refresh_interval must not be negative")
	}
	return nil
}

// KubernetesSDConfig is Prometheus' kubernetes_sd_configs entry.
type KubernetesSDConfig struct {
	Role           string               `yaml:"role"`
	APIServer      string               `yaml:"api_server"`
	KubeconfigFile string               `yaml:"kubeconfig_file"`
	Namespaces     NamespaceDiscovery   `yaml:"namespaces"`
	Selectors      []SelectorConfig     `yaml:"selectors"`
	AttachMetadata map[string]bool      `yaml:"attach_metadata"`
	Rest           map[string]yaml.Node `yaml:",inline"`
}

// NamespaceDiscovery limits discovery to some namespaces.
type NamespaceDiscovery struct {
	Names        []string `yaml:"names"`
	OwnNamespace bool     `yaml:"own_namespace"`
}

// SelectorConfig is a label/field selector for one role.
type SelectorConfig struct {
	Role  string `yaml:"role"`
	Label string `yaml:"label"`
	Field string `yaml:"field"`
}

// LimitsConfig is promtail's limits_config.
type LimitsConfig struct {
	ReadlineRateEnabled bool     `yaml:"readline_rate_enabled"`
	ReadlineRate        float64  `yaml:"readline_rate"`
	ReadlineBurst       int      `yaml:"readline_burst"`
	ReadlineRateDrop    *bool    `yaml:"readline_rate_drop"`
	MaxStreams          int      `yaml:"max_streams"`
	MaxLineSize         ByteSize `yaml:"max_line_size"`
	MaxLineSizeTruncate bool     `yaml:"max_line_size_truncate"`
}

// TargetConfig is promtail's target_config; SyncPeriod is how often globs are re-evaluated.
type TargetConfig struct {
	SyncPeriod Duration `yaml:"sync_period"`
}

// GlobalConfig is promtail's global block.
type GlobalConfig struct {
	FileWatch FileWatchConfig `yaml:"file_watch_config"`
}

// FileWatchConfig bounds how often files are polled for new data.
type FileWatchConfig struct {
	MinPollFrequency Duration `yaml:"min_poll_frequency"`
	MaxPollFrequency Duration `yaml:"max_poll_frequency"`
}

// Defaults as promtail sets them.
const (
	DefaultBatchWait  = time.Second
	DefaultBatchSize  = 1 << 20
	DefaultTimeout    = 10 * time.Second
	DefaultMinBackoff = 500 * time.Millisecond
	DefaultMaxBackoff = 5 * time.Minute
	DefaultMaxRetries = 10
	DefaultHTTPPort   = 9080
)

// Load reads, optionally env-expands, decodes, defaults and validates a config file.
func Load(path string, expandEnv bool) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := Parse(b, expandEnv)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes a config document; see Load.
func Parse(b []byte, expandEnv bool) (*Config, error) {
	if expandEnv {
		b = []byte(ExpandEnv(string(b)))
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("decode yaml: %w", err)
	}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// ApplyDefaults fills unset fields with promtail's defaults.
func (c *Config) ApplyDefaults() {
	if c.Client != nil {
		c.Clients = append(c.Clients, *c.Client)
		c.Client = nil
	}
	if c.Server.HTTPListenPort == 0 && !c.Server.Disable {
		c.Server.HTTPListenPort = DefaultHTTPPort
	}
	if c.Server.GracefulShutdown == 0 {
		c.Server.GracefulShutdown = Duration(30 * time.Second)
	}
	if c.Positions.Filename == "" {
		c.Positions.Filename = "/var/log/positions.yaml"
	}
	if c.Positions.SyncPeriod == 0 {
		c.Positions.SyncPeriod = Duration(10 * time.Second)
	}
	for i := range c.Clients {
		cl := &c.Clients[i]
		if cl.BatchWait == 0 {
			cl.BatchWait = Duration(DefaultBatchWait)
		}
		if cl.BatchSize == 0 {
			cl.BatchSize = DefaultBatchSize
		}
		if cl.Timeout == 0 {
			cl.Timeout = Duration(DefaultTimeout)
		}
		if cl.Backoff.MinPeriod == 0 {
			cl.Backoff.MinPeriod = Duration(DefaultMinBackoff)
		}
		if cl.Backoff.MaxPeriod == 0 {
			cl.Backoff.MaxPeriod = Duration(DefaultMaxBackoff)
		}
		if cl.Backoff.MaxRetries == 0 {
			cl.Backoff.MaxRetries = DefaultMaxRetries
		}
	}
	if c.Target.SyncPeriod == 0 {
		c.Target.SyncPeriod = Duration(10 * time.Second)
	}
	if c.Global.FileWatch.MinPollFrequency == 0 {
		c.Global.FileWatch.MinPollFrequency = Duration(250 * time.Millisecond)
	}
	if c.Global.FileWatch.MaxPollFrequency == 0 {
		c.Global.FileWatch.MaxPollFrequency = Duration(250 * time.Millisecond)
	}
	if c.Limits.ReadlineBurst == 0 {
		c.Limits.ReadlineBurst = 10000
	}
	if c.Limits.ReadlineRate == 0 {
		c.Limits.ReadlineRate = 10000
	}
	for i := range c.ScrapeConfigs {
		if sl := c.ScrapeConfigs[i].Syslog; sl != nil {
			sl.applyDefaults()
		}
		if pc := c.ScrapeConfigs[i].PushAPI; pc != nil {
			pc.applyDefaults()
		}
		for j := range c.ScrapeConfigs[i].FileSDConfigs {
			if fc := &c.ScrapeConfigs[i].FileSDConfigs[j]; fc.RefreshInterval == 0 {
				fc.RefreshInterval = Duration(DefaultFileSDRefresh)
			}
		}
		for _, rc := range c.ScrapeConfigs[i].RelabelConfigs {
			if rc != nil && rc.Action == "" {
				rc.Action = relabel.Replace
			}
		}
	}
}

// Validate reports the first inconsistency in c.
func (c *Config) Validate() error {
	for i, cl := range c.Clients {
		if cl.URL == "" {
			return fmt.Errorf("clients[%d]: url is required", i)
		}
		if cl.BatchSize < 0 {
			return fmt.Errorf("clients[%d]: batchsize must be positive", i)
		}
		if cl.Backoff.MinPeriod > cl.Backoff.MaxPeriod {
			return fmt.Errorf("clients[%d]: backoff_config min_period is above max_period", i)
		}
	}
	names := map[string]bool{}
	for i, sc := range c.ScrapeConfigs {
		if sc.JobName == "" {
			return fmt.Errorf("scrape_configs[%d]: job_name is required", i)
		}
		if names[sc.JobName] {
			return fmt.Errorf("scrape_configs[%d]: duplicate job_name %q", i, sc.JobName)
		}
		names[sc.JobName] = true
		for j, rc := range sc.RelabelConfigs {
			if rc == nil {
				return fmt.Errorf("scrape_configs %q: relabel_configs[%d] is empty", sc.JobName, j)
			}
			if err := rc.Validate(model.UTF8Validation); err != nil {
				return fmt.Errorf("scrape_configs %q: relabel_configs[%d]: %w", sc.JobName, j, err)
			}
		}
		if sc.Syslog != nil {
			if err := sc.Syslog.validate(); err != nil {
				return fmt.Errorf("scrape_configs %q: syslog: %w", sc.JobName, err)
			}
		}
		if sc.PushAPI != nil {
			if err := sc.PushAPI.validate(); err != nil {
				return fmt.Errorf("scrape_configs %q: loki_push_api: %w", sc.JobName, err)
			}
		}
		for j := range sc.FileSDConfigs {
			if err := sc.FileSDConfigs[j].validate(); err != nil {
				return fmt.Errorf("scrape_configs %q: file_sd_configs[%d]: %w", sc.JobName, j, err)
			}
		}
		for j, kc := range sc.KubernetesSDConfigs {
			switch kc.Role {
			case "pod", "node", "service", "endpoints", "endpointslice", "ingress":
			default:
				return fmt.Errorf("scrape_configs %q: kubernetes_sd_configs[%d]: unknown role %q", sc.JobName, j, kc.Role)
			}
		}
	}
	return nil
}

// Unsupported lists the parts of c this promtail accepts but does not act on, for a startup
// warning.
func (c *Config) Unsupported() []string {
	var out []string
	for _, sc := range c.ScrapeConfigs {
		for k := range sc.Rest {
			out = append(out, fmt.Sprintf("scrape_configs %q: %s", sc.JobName, k))
		}
		if sc.PushAPI != nil {
			for _, u := range sc.PushAPI.unsupported() {
				out = append(out, fmt.Sprintf("scrape_configs %q: loki_push_api server %s", sc.JobName, u))
			}
		}
		for _, kc := range sc.KubernetesSDConfigs {
			if kc.Role != "pod" {
				out = append(out, fmt.Sprintf("scrape_configs %q: kubernetes_sd_configs role %s", sc.JobName, kc.Role))
			}
		}
	}
	for k := range c.Server.Rest {
		_ = k // other server settings (grpc, timeouts) do not change behaviour here.
	}
	return out
}

// String renders c as YAML, for -print-config-stderr.
func (c *Config) String() string {
	b, err := yaml.Marshal(c)
	if err != nil {
		return fmt.Sprintf("# marshal config: %v\n", err)
	}
	return string(b)
}
