package client

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"

	"github.com/sluicelog/sluice/promtail/config"
)

// transport builds the HTTP transport for a client's tls_config and proxy_url.
func transport(cfg config.ClientConfig) (*http.Transport, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 4
	tc := cfg.TLSConfig
	tlsCfg := &tls.Config{ServerName: tc.ServerName, InsecureSkipVerify: tc.InsecureSkipVerify} //nolint:gosec // the user asked for it.
	switch tc.MinVersion {
	case "", "TLS12":
		tlsCfg.MinVersion = tls.VersionTLS12
	case "TLS13":
		tlsCfg.MinVersion = tls.VersionTLS13
	case "TLS10":
		tlsCfg.MinVersion = tls.VersionTLS10
	case "TLS11":
		tlsCfg.MinVersion = tls.VersionTLS11
	default:
		return nil, fmt.Errorf("tls_config: unknown min_version %q", tc.MinVersion)
	}
	if tc.CAFile != "" {
		pem, err := os.ReadFile(tc.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read tls ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls ca_file %s: no certificates", tc.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	if tc.CertFile != "" || tc.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(tc.CertFile, tc.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load tls client certificate: %w", err)
		}
		tlsCfg.Certificates = []tls.Certificate{cert}
	}
	tr.TLSClientConfig = tlsCfg
	if cfg.ProxyURL != "" {
		u, err := url.Parse(cfg.ProxyURL)
		if err != nil {
			return nil, fmt.Errorf("proxy_url: %w", err)
		}
		tr.Proxy = http.ProxyURL(u)
	}
	return tr, nil
}
