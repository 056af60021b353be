package logcli_test

import (
	"bytes"
	"errors"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/logcli"
	"github.com/sluicelog/sluice/pkg/logcli/logclitest"
)

func TestClientRetries(t *testing.T) {
	tests := []struct {
		name       string
		failures   int
		status     int
		retries    int
		wantErr    bool
		wantCalls  int
		wantReason string
	}{
		{name: "503 then success", failures: 2, status: 503, retries: 2, wantCalls: 3},
		{name: "429 then success", failures: 1, status: 429, retries: 1, wantCalls: 2},
		{name: "503 beyond retries", failures: 3, status: 503, retries: 2, wantErr: true, wantCalls: 3, wantReason: "overloaded"},
		{name: "no retries by default", failures: 1, status: 500, retries: 0, wantErr: true, wantCalls: 1, wantReason: "overloaded"},
		{name: "400 is not retried", failures: 5, status: 400, retries: 3, wantErr: true, wantCalls: 1, wantReason: "overloaded"},
		{name: "401 is not retried", failures: 5, status: 401, retries: 3, wantErr: true, wantCalls: 1, wantReason: "overloaded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := logclitest.Start(t)
			srv.Add(sampleEntries()...)
			srv.Intercept = func(w http.ResponseWriter, r *http.Request, n int) bool {
				if n <= tt.failures {
					http.Error(w, "overloaded", tt.status)
					return true
				}
				return false
			}
			var logs bytes.Buffer
			c := newClient(t, srv.URL, func(c *logcli.ClientConfig) {
				c.Retries = tt.retries
				c.MinBackoff = time.Millisecond
				c.MaxBackoff = 4 * time.Millisecond
				c.Logger = log.New(&logs, "", 0)
			})
			_, err := c.Labels(ctx(t), base, base.Add(time.Hour), "")
			if (err != nil) != tt.wantErr {
				t.Fatalf("Labels error = %v, want error %v", err, tt.wantErr)
			}
			if got := len(srv.Requests()); got != tt.wantCalls {
				t.Errorf("server got %d requests, want %d", got, tt.wantCalls)
			}
			if tt.wantErr {
				var he *logcli.HTTPError
				if !errors.As(err, &he) || he.StatusCode != tt.status || !strings.Contains(err.Error(), tt.wantReason) {
					t.Errorf("error = %v, want an HTTPError %d with reason %q", err, tt.status, tt.wantReason)
				}
			}
			if tt.retries > 0 && tt.failures > 0 && tt.status >= 429 && !strings.Contains(logs.String(), "attempts remaining") {
				t.Errorf("retries were not logged: %q", logs.String())
			}
		})
	}
}

func TestClientServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + l.Addr().String()
	l.Close() // nothing listens there now
	c := newClient(t, addr, func(c *logcli.ClientConfig) { c.Retries = 1; c.MinBackoff = time.Millisecond })
	_, err = c.QueryRange(ctx(t), logcli.RangeParams{Query: `{}`, Limit: 1, Start: base, End: base.Add(time.Second), Direction: logcli.Backward})
	var ce *logcli.ConnError
	if !errors.As(err, &ce) {
		t.Fatalf("QueryRange error = %v, want a ConnError", err)
	}
	if !strings.Contains(err.Error(), "cannot reach server at "+addr) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("error = %q, want it to name the address and the cause", err)
	}
}

func TestClientErrorReasons(t *testing.T) {
	tests := []struct {
		name, body, contentType string
		status                  int
		want                    string
	}{
		{"plain text 400", "parse error at line 1, col 3: syntax error\n", "text/plain", 400, "error response from server: 400 Bad Request: parse error at line 1, col 3: syntax error"},
		{"json message", `{"message":"no org id"}`, "application/json", 401, "error response from server: 401 Unauthorized: no org id"},
		{"prometheus error", `{"status":"error","errorType":"bad_data","error":"invalid parameter \"start\""}`, "application/json", 400, `400 Bad Request: invalid parameter "start"`},
		{"empty body", "", "text/plain", 502, "error response from server: 502 Bad Gateway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := logclitest.Start(t)
			srv.Intercept = func(w http.ResponseWriter, r *http.Request, n int) bool {
				w.Header().Set("Content-Type", tt.contentType)
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
				return true
			}
			_, err := newClient(t, srv.URL).Labels(ctx(t), base, base, "")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestClientHeaders(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("file-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  logcli.ClientConfig
		want map[string]string
	}{
		{"basic auth", logcli.ClientConfig{Username: "u", Password: "p"}, map[string]string{"Authorization": "Basic dTpw"}},
		{"bearer", logcli.ClientConfig{BearerToken: "tok"}, map[string]string{"Authorization": "Bearer tok"}},
		{"bearer file", logcli.ClientConfig{BearerTokenFile: tokenFile}, map[string]string{"Authorization": "Bearer file-token"}},
		{"custom auth header", logcli.ClientConfig{BearerToken: "tok", AuthHeader: "X-Auth"}, map[string]string{"X-Auth": "Bearer tok", "Authorization": ""}},
		{"tenant, tags, cache, extra", logcli.ClientConfig{OrgID: "team-a", QueryTags: "Source=logcli", NoCache: true, Headers: []string{"X-Extra: 1", "X-Other=two"}},
			map[string]string{"X-Scope-Orgid": "team-a", "X-Query-Tags": "Source=logcli", "Cache-Control": "no-cache", "X-Extra": "1", "X-Other": "two"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := logclitest.Start(t)
			cfg := tt.cfg
			cfg.Addr = srv.URL + "/"
			c, err := logcli.NewClient(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Labels(ctx(t), base, base, ""); err != nil {
				t.Fatal(err)
			}
			h := srv.Requests()[0].Header
			for k, v := range tt.want {
				if got := h.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestNewClientRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]logcli.ClientConfig{
		"bad address":        {Addr: "localhost:3100"},
		"two auth methods":   {Addr: "http://x", Username: "u", BearerToken: "t"},
		"missing CA file":    {Addr: "http://x", CAFile: "/nonexistent/ca.pem"},
		"cert without key":   {Addr: "http://x", CertFile: "/nonexistent/c.pem"},
		"missing token file": {Addr: "http://x", BearerTokenFile: "/nonexistent/token"},
		"bad header":         {Addr: "http://x", Headers: []string{"nocolon"}},
	} {
		if _, err := logcli.NewClient(cfg); err == nil {
			t.Errorf("%s: NewClient succeeded, want an error", name)
		}
	}
}

func TestClientLogsURLUnlessQuiet(t *testing.T) {
	srv := logclitest.Start(t)
	for _, quiet := range []bool{false, true} {
		var logs bytes.Buffer
		c := newClient(t, srv.URL, func(c *logcli.ClientConfig) { c.Quiet = quiet; c.Logger = log.New(&logs, "", 0) })
		if _, err := c.LabelValues(ctx(t), "app", base, base.Add(time.Second), ""); err != nil {
			t.Fatal(err)
		}
		want := srv.URL + "/loki/api/v1/label/app/values?end="
		if got := strings.Contains(logs.String(), want); got == quiet {
			t.Errorf("quiet=%v: log %q contains %q: %v", quiet, logs.String(), want, got)
		}
	}
}
