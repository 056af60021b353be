package s3

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// newHTTPClient builds the transport from http_config. Timeouts of a whole request come from
// the caller's context; ResponseHeaderTimeout only bounds a server that accepts and goes quiet.
// It is the SDK's BuildableClient so that AWS_CA_BUNDLE, applied by LoadDefaultConfig, can still
// add its certificates.
func newHTTPClient(cfg HTTPConfig) (*awshttp.BuildableClient, error) {
	var roots *x509.CertPool
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("s3: read ca_file: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("s3: ca_file %s holds no PEM certificate", cfg.CAFile)
		}
	}
	return awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConns = 200
		tr.MaxIdleConnsPerHost = 100
		tr.IdleConnTimeout = cfg.IdleConnTimeout.D()
		tr.ResponseHeaderTimeout = cfg.ResponseHeaderTimeout.D()
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		tr.TLSClientConfig.InsecureSkipVerify = cfg.InsecureSkipVerify //nolint:gosec // opt-in by config
		if roots != nil {
			tr.TLSClientConfig.RootCAs = roots
		}
	}), nil
}

// newRetryer retries with exponential backoff between MinPeriod and MaxPeriod, MaxRetries
// attempts in all. The SDK's retry quota is off: after an outage every request should get its
// full set of attempts, not fail fast because earlier ones used the quota up.
func newRetryer(b BackoffConfig) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = max(b.MaxRetries, 1)
		o.MaxBackoff = b.MaxPeriod.D()
		o.Backoff = backoff{min: b.MinPeriod.D(), max: b.MaxPeriod.D()}
		o.RateLimiter = ratelimit.None
	})
}

// backoff waits min·2^(attempt-1), capped at max (the SDK's 20s when max is 0).
type backoff struct{ min, max time.Duration }

// BackoffDelay implements retry.BackoffDelayer; attempt counts from 1.
func (b backoff) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	limit := b.max
	if limit <= 0 {
		limit = retry.DefaultMaxBackoff
	}
	d := b.min
	for i := 1; i < attempt && d < limit; i++ {
		d *= 2
	}
	return min(d, limit), nil
}
