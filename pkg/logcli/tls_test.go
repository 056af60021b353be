package logcli_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/logcli"
	"github.com/sluicelog/sluice/pkg/logcli/logclitest"
)

func labelsHandler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"status":"success","data":["app"]}`)
}

func writePEM(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// clientCert makes a self-signed client certificate and returns its PEM files and the pool that
// trusts it.
func clientCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "logcli-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, "client.pem", "CERTIFICATE", der), writePEM(t, "client.key", "EC PRIVATE KEY", keyDER), pool
}

func TestClientTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(labelsHandler))
	certFile, keyFile, pool := clientCert(t)
	srv.TLS = &tls.Config{ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool}
	srv.StartTLS()
	defer srv.Close()
	caFile := writePEM(t, "ca.pem", "CERTIFICATE", srv.Certificate().Raw)

	tests := []struct {
		name    string
		cfg     logcli.ClientConfig
		wantErr string
	}{
		{"unknown CA", logcli.ClientConfig{}, "certificate"},
		{"CA file", logcli.ClientConfig{CAFile: caFile}, ""},
		{"skip verify", logcli.ClientConfig{TLSSkipVerify: true}, ""},
		{"client certificate", logcli.ClientConfig{CAFile: caFile, CertFile: certFile, KeyFile: keyFile}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Addr = srv.URL
			c, err := logcli.NewClient(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Labels(ctx(t), base, base, "")
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Labels: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Labels = %v, want an error about %q", err, tt.wantErr)
			}
		})
	}
}

func TestClientMutualTLSRequired(t *testing.T) {
	certFile, keyFile, pool := clientCert(t)
	var sawCert atomic.Bool
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawCert.Store(len(r.TLS.PeerCertificates) == 1)
		labelsHandler(w, r)
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	srv.StartTLS()
	defer srv.Close()
	c := newClient(t, srv.URL, func(c *logcli.ClientConfig) { c.TLSSkipVerify = true; c.CertFile = certFile; c.KeyFile = keyFile })
	if _, err := c.Labels(ctx(t), base, base, ""); err != nil {
		t.Fatal(err)
	}
	if !sawCert.Load() {
		t.Error("server saw no client certificate")
	}
}

func TestClientProxy(t *testing.T) {
	target := logclitest.Start(t)
	var proxied atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A forward proxy receives the absolute URL of the target.
		if !r.URL.IsAbs() {
			http.Error(w, "not a proxy request", http.StatusBadRequest)
			return
		}
		proxied.Add(1)
		out, _ := http.NewRequest(r.Method, r.URL.String(), nil)
		out.Header = r.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	defer proxy.Close()
	c := newClient(t, target.URL, func(c *logcli.ClientConfig) { c.ProxyURL = proxy.URL })
	if _, err := c.Labels(ctx(t), base, base, ""); err != nil {
		t.Fatal(err)
	}
	if proxied.Load() != 1 || len(target.Requests()) != 1 {
		t.Errorf("proxy forwarded %d requests, target got %d; want 1 and 1", proxied.Load(), len(target.Requests()))
	}
	if _, err := logcli.NewClient(logcli.ClientConfig{Addr: "http://x", ProxyURL: "://bad"}); err == nil {
		t.Error("NewClient with a bad proxy URL succeeded")
	}
}
