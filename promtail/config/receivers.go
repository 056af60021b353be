package config

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// SyslogConfig is a scrape config's syslog block: a listener for syslog messages (RFC 5424 or
// RFC 3164) over TCP, with octet-counting or newline framing, or over UDP.
type SyslogConfig struct {
	ListenAddress  string `yaml:"listen_address"`
	ListenProtocol string `yaml:"listen_protocol"`
	// IdleTimeout closes a TCP connection that sent nothing for this long (default 120s).
	IdleTimeout Duration `yaml:"idle_timeout"`
	// LabelStructuredData adds each structured data parameter as a
	// __syslog_message_sd_<id>_<name> label.
	LabelStructuredData  bool              `yaml:"label_structured_data"`
	Labels               map[string]string `yaml:"labels"`
	UseIncomingTimestamp bool              `yaml:"use_incoming_timestamp"`
	// UseRFC5424Message sends the whole RFC 5424 message as the line, not only its MSG part.
	UseRFC5424Message bool `yaml:"use_rfc5424_message"`
	// MaxMessageLength bounds one message in bytes (default 8192).
	MaxMessageLength int       `yaml:"max_message_length"`
	SyslogFormat     string    `yaml:"syslog_format"`
	TLSConfig        TLSConfig `yaml:"tls_config"`
}

// Syslog defaults as promtail sets them.
const (
	DefaultSyslogIdleTimeout      = 120 * time.Second
	DefaultSyslogMaxMessageLength = 8192
	SyslogFormatRFC5424           = "rfc5424"
	SyslogFormatRFC3164           = "rfc3164"
)

func (c *SyslogConfig) applyDefaults() {
	if c.ListenProtocol == "" {
		c.ListenProtocol = "tcp"
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = Duration(DefaultSyslogIdleTimeout)
	}
	if c.MaxMessageLength == 0 {
		c.MaxMessageLength = DefaultSyslogMaxMessageLength
	}
	if c.SyslogFormat == "" {
		c.SyslogFormat = SyslogFormatRFC5424
	}
}

func (c *SyslogConfig) validate() error {
	if c.ListenAddress == "" {
		return errors.New("listen_address is required")
	}
	switch c.ListenProtocol {
	case "tcp", "udp":
	default:
		return fmt.Errorf("listen_protocol %q: want tcp or udp", c.ListenProtocol)
	}
	switch c.SyslogFormat {
	case SyslogFormatRFC5424, SyslogFormatRFC3164:
	default:
		return fmt.Errorf("syslog_format %q: want rfc5424 or rfc3164", c.SyslogFormat)
	}
	if c.IdleTimeout < 0 {
		return errors.New("idle_timeout must not be negative")
	}
	if c.MaxMessageLength < 0 {
		return errors.New("max_message_length must not be negative")
	}
	t := c.TLSConfig
	if t.CertFile != "" || t.KeyFile != "" || t.CAFile != "" {
		if c.ListenProtocol != "tcp" {
			return errors.New("tls_config needs listen_protocol tcp")
		}
		if t.CertFile == "" || t.KeyFile == "" {
			return errors.New("tls_config: cert_file and key_file are both required")
		}
	}
	return validateLabels(c.Labels)
}

// PushConfig is a scrape config's loki_push_api block: an HTTP server taking Loki pushes.
type PushConfig struct {
	Server               PushServerConfig  `yaml:"server"`
	Labels               map[string]string `yaml:"labels"`
	UseIncomingTimestamp bool              `yaml:"use_incoming_timestamp"`
}

// PushServerConfig is the server block of loki_push_api. Only the HTTP listener is served;
// the gRPC keys and the rest of promtail's server settings are accepted and ignored.
type PushServerConfig struct {
	HTTPListenAddress string `yaml:"http_listen_address"`
	// HTTPListenPort defaults to 80 as in promtail; 0 picks a free port.
	HTTPListenPort         *int                 `yaml:"http_listen_port"`
	HTTPServerReadTimeout  Duration             `yaml:"http_server_read_timeout"`
	HTTPServerWriteTimeout Duration             `yaml:"http_server_write_timeout"`
	HTTPServerIdleTimeout  Duration             `yaml:"http_server_idle_timeout"`
	GracefulShutdown       Duration             `yaml:"graceful_shutdown_timeout"`
	GRPCListenAddress      string               `yaml:"grpc_listen_address"`
	GRPCListenPort         int                  `yaml:"grpc_listen_port"`
	Rest                   map[string]yaml.Node `yaml:",inline"`
}

// DefaultPushHTTPPort is the push server's port when http_listen_port is not set (promtail's
// server default).
const DefaultPushHTTPPort = 80

func (c *PushConfig) applyDefaults() {
	s := &c.Server
	if s.HTTPListenPort == nil {
		p := DefaultPushHTTPPort
		s.HTTPListenPort = &p
	}
	if s.HTTPServerReadTimeout == 0 {
		s.HTTPServerReadTimeout = Duration(30 * time.Second)
	}
	if s.HTTPServerWriteTimeout == 0 {
		s.HTTPServerWriteTimeout = Duration(30 * time.Second)
	}
	if s.HTTPServerIdleTimeout == 0 {
		s.HTTPServerIdleTimeout = Duration(120 * time.Second)
	}
	if s.GracefulShutdown == 0 {
		s.GracefulShutdown = Duration(30 * time.Second)
	}
}

func (c *PushConfig) validate() error {
	if p := c.Server.HTTPListenPort; p != nil && (*p < 0 || *p > 65535) {
		return fmt.Errorf("server: http_listen_port %d out of range", *p)
	}
	return validateLabels(c.Labels)
}

// unsupported lists the server settings that change nothing here.
func (c *PushConfig) unsupported() []string {
	var out []string
	if c.Server.GRPCListenPort != 0 || c.Server.GRPCListenAddress != "" {
		out = append(out, "grpc_listen_address/grpc_listen_port (only HTTP pushes are served)")
	}
	for k := range c.Server.Rest {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func validateLabels(ls map[string]string) error {
	for k, v := range ls {
		if !model.LabelName(k).IsValidLegacy() {
			return fmt.Errorf("labels: invalid label name %q", k)
		}
		if !model.LabelValue(v).IsValid() {
			return fmt.Errorf("labels: invalid value of %s", k)
		}
	}
	return nil
}
