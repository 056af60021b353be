package s3

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sluicelog/sluice/pkg/flagext"
)

func defaults(t *testing.T) Config {
	t.Helper()
	var c Config
	c.RegisterFlags(flag.NewFlagSet("test", flag.ContinueOnError))
	return c
}

func TestRegisterFlagsDefaults(t *testing.T) {
	c := defaults(t)
	if c.HTTP.IdleConnTimeout.D() != 90*time.Second || c.Backoff.MinPeriod.D() != 100*time.Millisecond ||
		c.Backoff.MaxPeriod.D() != 3*time.Second || c.Backoff.MaxRetries != 5 || c.StorageClass != "STANDARD" {
		t.Fatalf("defaults = %+v, want Loki's (90s idle, 100ms-3s backoff, 5 retries, STANDARD)", c)
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.RegisterFlags(fs)
	err := fs.Parse([]string{
		"-s3.endpoint=minio:9000", "-s3.buckets=a,b", "-s3.insecure", "-s3.force-path-style",
		"-s3.access-key-id=ak", "-s3.secret-access-key=sk", "-s3.region=eu-west-1",
		"-s3.http.response-header-timeout=1m", "-s3.sse.type=SSE-S3", "-s3.max-retries=2",
		"-s3.min-backoff=1s", "-s3.max-backoff=1d",
	})
	if err != nil {
		t.Fatalf("parse flags: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	r, err := c.resolve()
	if err != nil {
		t.Fatal(err)
	}
	if r.endpoint != "http://minio:9000" || !slices.Equal(r.buckets, []string{"a", "b"}) || !r.pathStyle ||
		r.region != "eu-west-1" || c.HTTP.ResponseHeaderTimeout.D() != time.Minute || c.Backoff.MaxPeriod.D() != 24*time.Hour {
		t.Fatalf("after flags: config %+v resolved %+v", c, r)
	}
}

// TestYAML reads Loki's storage_config.aws block.
func TestYAML(t *testing.T) {
	const doc = `
endpoint: s3.eu-central-1.amazonaws.com
region: eu-central-1
bucketnames: loki-chunks-1,loki-chunks-2
access_key_id: AKIA
secret_access_key: secret
s3forcepathstyle: false
insecure: false
http_config:
  idle_conn_timeout: 2m
  response_header_timeout: 10s
  insecure_skip_verify: true
sse:
  type: SSE-KMS
  kms_key_id: alias/loki
backoff_config:
  min_period: 50ms
  max_period: 5s
  max_retries: 7
`
	c := defaults(t)
	if err := yaml.Unmarshal([]byte(doc), &c); err != nil {
		t.Fatalf("yaml: %v", err)
	}
	want := defaults(t)
	want.Endpoint, want.Region, want.BucketNames = "s3.eu-central-1.amazonaws.com", "eu-central-1", "loki-chunks-1,loki-chunks-2"
	want.AccessKeyID, want.SecretAccessKey = "AKIA", "secret"
	want.HTTP = HTTPConfig{IdleConnTimeout: flagext.Duration(2 * time.Minute), ResponseHeaderTimeout: flagext.Duration(10 * time.Second), InsecureSkipVerify: true}
	want.SSE = SSEConfig{Type: SSEKMS, KMSKeyID: "alias/loki"}
	want.Backoff = BackoffConfig{MinPeriod: flagext.Duration(50 * time.Millisecond), MaxPeriod: flagext.Duration(5 * time.Second), MaxRetries: 7}
	if c != want {
		t.Fatalf("yaml.Unmarshal = %+v\nwant %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	r, _ := c.resolve()
	if r.endpoint != "https://s3.eu-central-1.amazonaws.com" || r.pathStyle {
		t.Fatalf("resolved endpoint %q path-style %v, want https and virtual-hosted", r.endpoint, r.pathStyle)
	}
}

func TestResolve(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want resolved
	}{
		{"AWS by region", Config{Region: "us-west-2", BucketNames: "b"},
			resolved{region: "us-west-2", buckets: []string{"b"}}},
		{"localhost is path-style", Config{Endpoint: "localhost:9000", Insecure: true, BucketNames: "b"},
			resolved{endpoint: "http://localhost:9000", buckets: []string{"b"}, pathStyle: true}},
		{"IP is path-style", Config{Endpoint: "127.0.0.1:9000", BucketNames: "b"},
			resolved{endpoint: "https://127.0.0.1:9000", buckets: []string{"b"}, pathStyle: true}},
		{"IPv6 is path-style", Config{Endpoint: "[::1]:9000", BucketNames: "b"},
			resolved{endpoint: "https://[::1]:9000", buckets: []string{"b"}, pathStyle: true}},
		{"hostname is virtual-hosted", Config{Endpoint: "minio.example.com", BucketNames: "b"},
			resolved{endpoint: "https://minio.example.com", buckets: []string{"b"}}},
		{"forced path style", Config{Endpoint: "ceph.example.com:7480", ForcePathStyle: true, BucketNames: "b"},
			resolved{endpoint: "https://ceph.example.com:7480", buckets: []string{"b"}, pathStyle: true}},
		{"endpoint with scheme", Config{Endpoint: "http://minio.local:9000/", BucketNames: "b"},
			resolved{endpoint: "http://minio.local:9000", buckets: []string{"b"}}},
		{"URL with region", Config{URL: "s3://AK:S%2Fx@eu-west-1/bkt"},
			resolved{region: "eu-west-1", buckets: []string{"bkt"}, accessKeyID: "AK", secretAccessKey: "S/x"}},
		{"URL with endpoint", Config{URL: "s3://AK:SK@minio.local:9000/bkt", ForcePathStyle: true},
			resolved{endpoint: "https://minio.local:9000", buckets: []string{"bkt"}, accessKeyID: "AK", secretAccessKey: "SK", pathStyle: true}},
		{"URL with http scheme", Config{URL: "http://AK:SK@127.0.0.1:9000/bkt"},
			resolved{endpoint: "http://127.0.0.1:9000", buckets: []string{"bkt"}, accessKeyID: "AK", secretAccessKey: "SK", pathStyle: true}},
		{"fields win over URL", Config{URL: "s3://AK:SK@eu-west-1/bkt", BucketNames: "x, y", AccessKeyID: "A2", SecretAccessKey: "S2", Region: "us-east-2"},
			resolved{region: "us-east-2", buckets: []string{"x", "y"}, accessKeyID: "A2", secretAccessKey: "S2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.cfg.resolve()
			if err != nil {
				t.Fatalf("resolve() = %v", err)
			}
			if got.endpoint != tc.want.endpoint || got.region != tc.want.region || !slices.Equal(got.buckets, tc.want.buckets) ||
				got.accessKeyID != tc.want.accessKeyID || got.secretAccessKey != tc.want.secretAccessKey || got.pathStyle != tc.want.pathStyle {
				t.Fatalf("resolve(%+v) = %+v, want %+v", tc.cfg, got, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, []byte("not a cert"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		edit    func(*Config)
		wantErr string // "" for valid
	}{
		{"valid", func(c *Config) {}, ""},
		{"no bucket", func(c *Config) { c.BucketNames = "" }, "no bucket"},
		{"empty bucket in list", func(c *Config) { c.BucketNames = "a,,b" }, "empty name"},
		{"key without secret", func(c *Config) { c.SecretAccessKey = "" }, "set together"},
		{"unknown sse", func(c *Config) { c.SSE.Type = "AES" }, "unknown sse.type"},
		{"kms without key", func(c *Config) { c.SSE.Type = SSEKMS }, "kms_key_id is required"},
		{"kms with key", func(c *Config) { c.SSE = SSEConfig{Type: SSEKMS, KMSKeyID: "k"} }, ""},
		{"sse-s3", func(c *Config) { c.SSE.Type = SSES3 }, ""},
		{"min above max", func(c *Config) { c.Backoff.MinPeriod = flagext.Duration(time.Minute) }, "above max_period"},
		{"negative retries", func(c *Config) { c.Backoff.MaxRetries = -1 }, "negative"},
		{"negative timeout", func(c *Config) { c.HTTP.IdleConnTimeout = -1 }, "must not be negative"},
		{"missing ca file", func(c *Config) { c.HTTP.CAFile = "/nonexistent/ca.pem" }, "ca_file"},
		{"bad URL scheme", func(c *Config) { c.URL = "ftp://x/y" }, "scheme"},
		{"bad endpoint", func(c *Config) { c.Endpoint = "http://" }, "endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := defaults(t)
			c.BucketNames, c.AccessKeyID, c.SecretAccessKey = "b", "ak", "sk"
			tc.edit(&c)
			err := c.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
	t.Run("ca file without certificates", func(t *testing.T) {
		c := defaults(t)
		c.BucketNames, c.HTTP.CAFile = "b", caFile
		if _, err := newHTTPClient(c.HTTP); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
			t.Fatalf("newHTTPClient with a bad ca_file = %v, want a PEM error", err)
		}
	})
}

func TestBackoff(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: time.Second}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000, 1000}
	for i, w := range want {
		got, err := b.BackoffDelay(i+1, nil)
		if err != nil || got != w*time.Millisecond {
			t.Errorf("BackoffDelay(%d) = %v, %v; want %v", i+1, got, err, w*time.Millisecond)
		}
	}
	if got, _ := (backoff{min: time.Second}).BackoffDelay(1000, nil); got <= 0 {
		t.Errorf("uncapped BackoffDelay(1000) = %v, want positive", got)
	}
}

// FuzzResolve checks that no s3 URL, endpoint or bucket list makes resolve or Validate panic,
// and that a valid result always names a bucket.
func FuzzResolve(f *testing.F) {
	f.Add("s3://AK:SK@eu-west-1/bkt", "", "")
	f.Add("http://AK:SK@127.0.0.1:9000/bkt", "", "")
	f.Add("", "minio.local:9000", "a,b")
	f.Add("s3://%zz", "[::1", ",")
	f.Fuzz(func(t *testing.T, rawURL, endpoint, buckets string) {
		c := Config{URL: flagext.SecretURL(rawURL), Endpoint: endpoint, BucketNames: buckets}
		if err := c.Validate(); err != nil {
			return
		}
		r, err := c.resolve()
		if err != nil {
			t.Fatalf("Validate() = nil but resolve() = %v", err)
		}
		if len(r.buckets) == 0 {
			t.Fatalf("valid config %+v resolved to no bucket", c)
		}
	})
}
