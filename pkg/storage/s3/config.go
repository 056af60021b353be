package s3

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/sluicelog/sluice/pkg/flagext"
)

// Server-side encryption types accepted in SSEConfig.Type, spelled as Loki spells them.
const (
	SSES3  = "SSE-S3"
	SSEKMS = "SSE-KMS"
)

// Config is the S3 backend's configuration. Its YAML shape is Loki's `storage_config.aws` (also
// `common.storage.s3`) block, so a Loki configuration file keeps working; fields Loki has but
// Sluice ignores are listed in docs/storage-s3.md.
type Config struct {
	// URL is Loki's all-in-one form, s3://key:secret@endpoint-or-region/bucket. Fields set
	// explicitly below win over the parts of the URL.
	URL             flagext.SecretURL `yaml:"s3"`
	ForcePathStyle  bool              `yaml:"s3forcepathstyle"`
	BucketNames     string            `yaml:"bucketnames"`
	Endpoint        string            `yaml:"endpoint"`
	Region          string            `yaml:"region"`
	AccessKeyID     string            `yaml:"access_key_id"`
	SecretAccessKey flagext.Secret    `yaml:"secret_access_key"`
	SessionToken    flagext.Secret    `yaml:"session_token"`
	Insecure        bool              `yaml:"insecure"`
	StorageClass    string            `yaml:"storage_class"`

	HTTP    HTTPConfig    `yaml:"http_config"`
	SSE     SSEConfig     `yaml:"sse"`
	Backoff BackoffConfig `yaml:"backoff_config"`
}

// HTTPConfig tunes the HTTP client used for every request.
type HTTPConfig struct {
	IdleConnTimeout       flagext.Duration `yaml:"idle_conn_timeout"`
	ResponseHeaderTimeout flagext.Duration `yaml:"response_header_timeout"`
	InsecureSkipVerify    bool             `yaml:"insecure_skip_verify"`
	CAFile                string           `yaml:"ca_file"`
}

// SSEConfig selects server-side encryption for new objects.
type SSEConfig struct {
	// Type is "" (none), SSES3 or SSEKMS.
	Type     string `yaml:"type"`
	KMSKeyID string `yaml:"kms_key_id"`
	// KMSEncryptionContext is a JSON object of string pairs, sent with SSE-KMS requests.
	KMSEncryptionContext string `yaml:"kms_encryption_context"`
}

// BackoffConfig bounds the retries of a failed request. Network errors, 5xx and throttling
// responses are retried; 4xx answers such as a missing key or bad credentials are not.
type BackoffConfig struct {
	MinPeriod flagext.Duration `yaml:"min_period"`
	MaxPeriod flagext.Duration `yaml:"max_period"`
	// MaxRetries is the number of attempts per request, as in Loki: 1 means no retry.
	MaxRetries int `yaml:"max_retries"`
}

// RegisterFlags registers the flags under "-s3." with Loki's names and defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.Var(&c.URL, "s3.url", "S3 endpoint URL with escaped key and secret encoded: s3://key:secret@endpoint-or-region/bucket.")
	fs.BoolVar(&c.ForcePathStyle, "s3.force-path-style", false, "Use path-style addressing (endpoint/bucket/key) instead of virtual-hosted style (bucket.endpoint/key). Always on for localhost and IP endpoints.")
	fs.StringVar(&c.BucketNames, "s3.buckets", "", "Comma-separated list of bucket names; keys are spread over them by hash.")
	fs.StringVar(&c.Endpoint, "s3.endpoint", "", "S3 endpoint as host[:port] (or a full URL) of an S3-compatible store; empty for AWS.")
	fs.StringVar(&c.Region, "s3.region", "", "AWS region; empty uses AWS_REGION or the shared config, else us-east-1.")
	fs.StringVar(&c.AccessKeyID, "s3.access-key-id", "", "Access key ID; empty uses the AWS default credential chain (environment, shared config, IRSA, instance role).")
	fs.Var(&c.SecretAccessKey, "s3.secret-access-key", "Secret access key.")
	fs.Var(&c.SessionToken, "s3.session-token", "Session token for temporary credentials.")
	fs.BoolVar(&c.Insecure, "s3.insecure", false, "Use plain HTTP instead of HTTPS.")
	fs.StringVar(&c.StorageClass, "s3.storage-class", "STANDARD", "Storage class of new objects.")

	c.HTTP.IdleConnTimeout = flagext.Duration(90 * time.Second)
	fs.Var(&c.HTTP.IdleConnTimeout, "s3.http.idle-conn-timeout", "How long an idle connection stays open.")
	fs.Var(&c.HTTP.ResponseHeaderTimeout, "s3.http.response-header-timeout", "How long to wait for response headers after sending a request; 0 waits as long as the request's context allows.")
	fs.BoolVar(&c.HTTP.InsecureSkipVerify, "s3.http.insecure-skip-verify", false, "Do not verify the server's TLS certificate.")
	fs.StringVar(&c.HTTP.CAFile, "s3.http.ca-file", "", "PEM file of CA certificates to trust for the server's TLS certificate.")

	fs.StringVar(&c.SSE.Type, "s3.sse.type", "", "Server-side encryption: SSE-S3 or SSE-KMS; empty for none.")
	fs.StringVar(&c.SSE.KMSKeyID, "s3.sse.kms-key-id", "", "KMS key ID for SSE-KMS.")
	fs.StringVar(&c.SSE.KMSEncryptionContext, "s3.sse.kms-encryption-context", "", "KMS encryption context for SSE-KMS, as a JSON object of strings.")

	c.Backoff.MinPeriod = flagext.Duration(100 * time.Millisecond)
	fs.Var(&c.Backoff.MinPeriod, "s3.min-backoff", "Delay before the first retry of a failed request; it doubles with each retry.")
	c.Backoff.MaxPeriod = flagext.Duration(3 * time.Second)
	fs.Var(&c.Backoff.MaxPeriod, "s3.max-backoff", "Longest delay between retries.")
	fs.IntVar(&c.Backoff.MaxRetries, "s3.max-retries", 5, "Attempts per request before giving up (1 means no retry).")
}

// Validate reports the first setting that cannot work.
func (c *Config) Validate() error {
	r, err := c.resolve()
	if err != nil {
		return err
	}
	if len(r.buckets) == 0 {
		return errors.New("s3: no bucket configured (set bucketnames, -s3.buckets or the bucket in the s3 URL)")
	}
	for _, b := range r.buckets {
		if b == "" {
			return fmt.Errorf("s3: empty name in bucketnames %q", c.BucketNames)
		}
	}
	if (r.accessKeyID == "") != (r.secretAccessKey == "") {
		return errors.New("s3: access_key_id and secret_access_key must be set together")
	}
	switch c.SSE.Type {
	case "", SSES3:
	case SSEKMS:
		if c.SSE.KMSKeyID == "" {
			return errors.New("s3: sse.kms_key_id is required with sse.type SSE-KMS")
		}
	default:
		return fmt.Errorf("s3: unknown sse.type %q (want %s or %s)", c.SSE.Type, SSES3, SSEKMS)
	}
	if c.Backoff.MinPeriod < 0 || c.Backoff.MaxPeriod < 0 {
		return errors.New("s3: backoff periods must not be negative")
	}
	if c.Backoff.MaxPeriod > 0 && c.Backoff.MinPeriod > c.Backoff.MaxPeriod {
		return fmt.Errorf("s3: backoff_config.min_period %s is above max_period %s", c.Backoff.MinPeriod, c.Backoff.MaxPeriod)
	}
	if c.Backoff.MaxRetries < 0 {
		return fmt.Errorf("s3: backoff_config.max_retries %d is negative", c.Backoff.MaxRetries)
	}
	if c.HTTP.IdleConnTimeout < 0 || c.HTTP.ResponseHeaderTimeout < 0 {
		return errors.New("s3: http_config timeouts must not be negative")
	}
	if c.HTTP.CAFile != "" {
		if _, err := os.Stat(c.HTTP.CAFile); err != nil {
			return fmt.Errorf("s3: http_config.ca_file: %w", err)
		}
	}
	return nil
}

// resolved is the configuration after merging the s3 URL with the explicit fields.
type resolved struct {
	endpoint        string // full URL with scheme, or "" for AWS's own endpoints
	region          string
	buckets         []string
	accessKeyID     string
	secretAccessKey string
	pathStyle       bool
}

// resolve merges the URL form into the explicit fields, which win.
func (c *Config) resolve() (resolved, error) {
	var r resolved
	var host string
	if c.URL != "" {
		u, err := url.Parse(c.URL.Value())
		if err != nil {
			return r, fmt.Errorf("s3: parse s3 URL: %w", err)
		}
		if u.Scheme != "s3" && u.Scheme != "http" && u.Scheme != "https" {
			return r, fmt.Errorf("s3: s3 URL %q: scheme must be s3, http or https", u.Redacted())
		}
		if u.User != nil {
			r.accessKeyID = u.User.Username()
			r.secretAccessKey, _ = u.User.Password()
		}
		// As in Loki, a host without a dot is a region name; anything else is an endpoint.
		if u.Host != "" && !strings.Contains(u.Host, ".") && !strings.Contains(u.Host, ":") && u.Host != "localhost" {
			r.region = u.Host
		} else {
			host = u.Host
			if u.Scheme != "s3" {
				host = u.Scheme + "://" + u.Host
			}
		}
		if b := strings.Trim(u.Path, "/"); b != "" {
			r.buckets = []string{b}
		}
	}
	if c.Endpoint != "" {
		host = c.Endpoint
	}
	if c.Region != "" {
		r.region = c.Region
	}
	if c.BucketNames != "" {
		r.buckets = strings.Split(c.BucketNames, ",")
		for i := range r.buckets {
			r.buckets[i] = strings.TrimSpace(r.buckets[i])
		}
	}
	if c.AccessKeyID != "" || c.SecretAccessKey != "" {
		r.accessKeyID, r.secretAccessKey = c.AccessKeyID, c.SecretAccessKey.Value()
	}
	if host != "" {
		if !strings.Contains(host, "://") {
			scheme := "https://"
			if c.Insecure {
				scheme = "http://"
			}
			host = scheme + host
		}
		u, err := url.Parse(host)
		if err != nil || u.Host == "" {
			return r, fmt.Errorf("s3: endpoint %q is not host[:port] or a URL", c.Endpoint)
		}
		r.endpoint = strings.TrimSuffix(host, "/")
		r.pathStyle = isLocal(u.Hostname())
	}
	r.pathStyle = r.pathStyle || c.ForcePathStyle
	return r, nil
}

// isLocal reports hosts where virtual-hosted addressing (bucket.host) cannot resolve: localhost
// and IP literals.
func isLocal(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	return strings.Trim(host, "0123456789.") == "" || strings.Contains(host, ":")
}
