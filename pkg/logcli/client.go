package logcli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// ClientConfig holds the connection flags shared by every command.
type ClientConfig struct {
	Addr            string // --addr, LOKI_ADDR
	OrgID           string // --org-id, LOKI_ORG_ID: sent as X-Scope-OrgID
	Username        string // --username, LOKI_USERNAME
	Password        string // --password, LOKI_PASSWORD
	BearerToken     string // --bearer-token, LOKI_BEARER_TOKEN
	BearerTokenFile string // --bearer-token-file, LOKI_BEARER_TOKEN_FILE
	CAFile          string // --ca-cert, LOKI_CA_CERT_PATH
	CertFile        string // --cert, LOKI_CLIENT_CERT_PATH
	KeyFile         string // --key, LOKI_CLIENT_KEY_PATH
	TLSSkipVerify   bool   // --tls-skip-verify, LOKI_TLS_SKIP_VERIFY
	QueryTags       string // --query-tags, LOKI_QUERY_TAGS: sent as X-Query-Tags
	NoCache         bool   // --nocache: sends Cache-Control: no-cache
	Headers         []string
	Retries         int           // --retries: extra attempts after a failed request
	MinBackoff      time.Duration // --min-backoff
	MaxBackoff      time.Duration // --max-backoff
	AuthHeader      string        // --auth-header, default "Authorization"
	ProxyURL        string        // --proxy-url
	Compress        bool          // --compress: accept gzip responses
	UserAgent       string
	// Quiet suppresses the request URLs logged to Logger.
	Quiet bool
	// Logger receives query metadata (request URLs, retries); nil discards it.
	Logger *log.Logger
}

// Client talks to Loki's (or Sluice's) HTTP API.
type Client struct {
	cfg      ClientConfig
	base     *url.URL
	http     *http.Client
	tls      *tls.Config
	proxy    func(*http.Request) (*url.URL, error)
	headers  http.Header
	logger   *log.Logger
	attempts int
}

// NewClient checks cfg and builds a client. It reads the CA, certificate and token files now, so
// a bad path is reported before any request.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.Addr == "" {
		cfg.Addr = "http://localhost:3100"
	}
	base, err := url.Parse(strings.TrimRight(cfg.Addr, "/"))
	if err != nil || base.Host == "" || (base.Scheme != "http" && base.Scheme != "https") {
		return nil, fmt.Errorf("invalid server address %q: want http(s)://host[:port][/prefix]", cfg.Addr)
	}
	if cfg.AuthHeader == "" {
		cfg.AuthHeader = "Authorization"
	}
	auths := 0
	for _, set := range []bool{cfg.Username != "" || cfg.Password != "", cfg.BearerToken != "", cfg.BearerTokenFile != ""} {
		if set {
			auths++
		}
	}
	if auths > 1 {
		return nil, errors.New("at most one of HTTP basic auth (username/password), bearer-token and bearer-token-file may be set")
	}
	c := &Client{cfg: cfg, base: base, headers: http.Header{}, logger: cfg.Logger, attempts: cfg.Retries + 1}
	if c.logger == nil {
		c.logger = log.New(io.Discard, "", 0)
	}
	if c.attempts < 1 {
		c.attempts = 1
	}
	if c.tls, err = cfg.tlsConfig(); err != nil {
		return nil, err
	}
	c.proxy = http.ProxyFromEnvironment
	if cfg.ProxyURL != "" {
		p, err := url.Parse(cfg.ProxyURL)
		if err != nil {
			return nil, fmt.Errorf("parse proxy url %q: %w", cfg.ProxyURL, err)
		}
		c.proxy = http.ProxyURL(p)
	}
	if err := c.buildHeaders(); err != nil {
		return nil, err
	}
	c.http = &http.Client{Transport: &http.Transport{
		Proxy:               c.proxy,
		TLSClientConfig:     c.tls,
		DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 16,
		DisableCompression:  !cfg.Compress,
	}}
	return c, nil
}

func (cfg ClientConfig) tlsConfig() (*tls.Config, error) {
	t := &tls.Config{InsecureSkipVerify: cfg.TLSSkipVerify} //nolint:gosec // the user asked for it with --tls-skip-verify
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read CA certificate: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("read CA certificate %s: no PEM certificate found", cfg.CAFile)
		}
		t.RootCAs = pool
	}
	if cfg.CertFile != "" || cfg.KeyFile != "" {
		if cfg.CertFile == "" || cfg.KeyFile == "" {
			return nil, errors.New("client TLS needs both --cert and --key")
		}
		pair, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load client certificate: %w", err)
		}
		t.Certificates = []tls.Certificate{pair}
	}
	return t, nil
}

func (c *Client) buildHeaders() error {
	cfg := c.cfg
	ua := cfg.UserAgent
	if ua == "" {
		ua = "sluice-logcli"
	}
	c.headers.Set("User-Agent", ua)
	if cfg.OrgID != "" {
		c.headers.Set("X-Scope-OrgID", cfg.OrgID)
	}
	if cfg.QueryTags != "" {
		c.headers.Set("X-Query-Tags", cfg.QueryTags)
	}
	if cfg.NoCache {
		c.headers.Set("Cache-Control", "no-cache")
	}
	switch {
	case cfg.Username != "" || cfg.Password != "":
		c.headers.Set(cfg.AuthHeader, "Basic "+base64.StdEncoding.EncodeToString([]byte(cfg.Username+":"+cfg.Password)))
	case cfg.BearerToken != "":
		c.headers.Set(cfg.AuthHeader, "Bearer "+cfg.BearerToken)
	case cfg.BearerTokenFile != "":
		tok, err := os.ReadFile(cfg.BearerTokenFile)
		if err != nil {
			return fmt.Errorf("read bearer token file: %w", err)
		}
		c.headers.Set(cfg.AuthHeader, "Bearer "+strings.TrimSpace(string(tok)))
	}
	for _, h := range cfg.Headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			name, value, ok = strings.Cut(h, "=")
		}
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return fmt.Errorf("invalid --header %q: want \"Name: value\"", h)
		}
		c.headers.Add(name, strings.TrimSpace(value))
	}
	return nil
}

// HTTPError is a non-2xx answer from the server.
type HTTPError struct {
	StatusCode int
	Status     string // e.g. "400 Bad Request"
	Message    string // the server's reason: the JSON "message"/"error" member or the plain body
	URL        string
}

func (e *HTTPError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("error response from server: %s", e.Status)
	}
	return fmt.Sprintf("error response from server: %s: %s", e.Status, e.Message)
}

// Temporary reports whether retrying may help: server errors and 429 Too Many Requests.
func (e *HTTPError) Temporary() bool {
	return e.StatusCode >= 500 || e.StatusCode == http.StatusTooManyRequests
}

// ConnError is a request that never got an answer (refused, DNS, TLS, reset).
type ConnError struct {
	Addr string
	Err  error
}

func (e *ConnError) Error() string {
	return fmt.Sprintf("cannot reach server at %s (is --addr or LOKI_ADDR right?): %v", e.Addr, e.Err)
}

func (e *ConnError) Unwrap() error { return e.Err }

// serverMessage pulls the reason out of an error body: Loki answers with plain text, Prometheus
// style {"status":"error","error":".."}, or {"message":".."}.
func serverMessage(body []byte) string {
	var v struct {
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	if json.Unmarshal(body, &v) == nil {
		if v.Message != "" {
			return v.Message
		}
		if v.Error != "" {
			return v.Error
		}
	}
	return strings.TrimSpace(string(body))
}

// URL returns the full URL of path with params.
func (c *Client) URL(path string, params url.Values) string {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawQuery = params.Encode()
	return u.String()
}

// do sends one API request, retrying as configured, and decodes a JSON answer into out (unless
// out is nil). Only answers with 2xx are decoded.
func (c *Client) do(ctx context.Context, method, path string, params url.Values, out any) error {
	target := c.URL(path, params)
	if !c.cfg.Quiet {
		c.logger.Println(target)
	}
	var last error
	for attempt := 0; attempt < c.attempts; attempt++ {
		if attempt > 0 {
			if err := sleepCtx(ctx, c.backoff(attempt)); err != nil {
				return errors.Join(last, err)
			}
		}
		err := c.once(ctx, method, target, out)
		if err == nil {
			return nil
		}
		last = err
		var he *HTTPError
		if errors.As(err, &he) && !he.Temporary() {
			return err
		}
		if ctx.Err() != nil {
			return err
		}
		if remaining := c.attempts - attempt - 1; remaining > 0 {
			c.logger.Printf("%v; attempts remaining: %d", err, remaining)
		}
	}
	return last
}

func (c *Client) once(ctx context.Context, method, target string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header = c.headers.Clone()
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL was already logged; keep the cause
		}
		return &ConnError{Addr: c.cfg.Addr, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return &HTTPError{StatusCode: resp.StatusCode, Status: resp.Status, Message: serverMessage(body), URL: target}
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if u, ok := out.(json.Unmarshaler); ok {
		// Query responses decode themselves in one pass; see decode.go.
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return fmt.Errorf("read response of %s: %w", req.URL.Path, err)
		}
		if err := u.UnmarshalJSON(body); err != nil {
			return fmt.Errorf("decode response of %s: %w", req.URL.Path, err)
		}
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode response of %s: %w", req.URL.Path, err)
	}
	return nil
}

// backoff is the wait before attempt n (n >= 1): MinBackoff doubled each time, capped at
// MaxBackoff when that is set.
func (c *Client) backoff(n int) time.Duration {
	d := c.cfg.MinBackoff
	for i := 1; i < n && d > 0; i++ {
		d *= 2
		if c.cfg.MaxBackoff > 0 && d >= c.cfg.MaxBackoff {
			break
		}
	}
	if c.cfg.MaxBackoff > 0 && d > c.cfg.MaxBackoff {
		d = c.cfg.MaxBackoff
	}
	return d
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
