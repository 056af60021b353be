package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/sluicelog/sluice/pkg/api"
	"github.com/sluicelog/sluice/pkg/distributor"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/push/otlp"
	"github.com/sluicelog/sluice/pkg/validation"
)

// ingesterRecorder is the ingester behind a real distributor: it keeps what it is given, or
// fails with err.
type ingesterRecorder struct {
	mu      sync.Mutex
	tenants []string
	streams []logproto.Stream
	err     error
}

func (r *ingesterRecorder) Push(_ context.Context, tenant string, streams []logproto.Stream) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	for _, s := range streams {
		// Copy, as the real ingester does: the request's memory goes back to a pool.
		c := logproto.Stream{Labels: strings.Clone(s.Labels)}
		for _, e := range s.Entries {
			e.Line = strings.Clone(e.Line)
			c.Entries = append(c.Entries, e)
		}
		r.streams = append(r.streams, c)
		r.tenants = append(r.tenants, tenant)
	}
	return nil
}

func (r *ingesterRecorder) dump() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for i, s := range r.streams {
		for _, e := range s.Entries {
			fmt.Fprintf(&b, "%s %s %q %s\n", r.tenants[i], s.Labels, e.Line, e.StructuredMetadata)
		}
	}
	return b.String()
}

type otlpServer struct {
	url string
	ing *ingesterRecorder
	reg *prometheus.Registry
}

func startOTLP(t *testing.T, auth bool, limits func(*validation.Limits), tenants map[string]*validation.Limits) *otlpServer {
	t.Helper()
	var l validation.Limits
	l.RegisterFlags(flag.NewFlagSet("", flag.PanicOnError))
	if limits != nil {
		limits(&l)
	}
	overrides := validation.NewOverrides(l)
	overrides.SetTenantLimits(tenants)
	ing := &ingesterRecorder{}
	reg := prometheus.NewRegistry()
	a := api.New(api.Deps{
		Pusher:       distributor.New(overrides, ing, reg),
		AuthEnabled:  auth,
		MaxPushBytes: 64 << 10,
		OTLP: func(tenant string) otlp.Config {
			lim := overrides.For(tenant)
			return otlp.Config{OTLP: &lim.OTLPConfig, DefaultIndexLabels: validation.DefaultOTLPIndexLabels, DiscoverServiceName: lim.DiscoverServiceName}
		},
		Registry: reg,
		Gatherer: reg,
	})
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return &otlpServer{url: srv.URL, ing: ing, reg: reg}
}

// post sends a body to /otlp/v1/logs as the otlphttp exporter does, and returns the status
// and the message of the google.rpc.Status body of an error.
func (s *otlpServer) post(t *testing.T, contentType, encoding string, body []byte, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.url+"/otlp/v1/logs", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode < 400 {
		if len(b) != 0 {
			t.Errorf("success with a body: %q", b)
		}
		return resp.StatusCode, ""
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/octet-stream" && resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("error answered as %q, want application/octet-stream", ct)
	}
	return resp.StatusCode, statusMessage(t, b)
}

// statusMessage reads google.rpc.Status' message (field 2) from a protobuf body; a body
// that is not one is returned as text (the tenant check's plain-text 401).
func statusMessage(t *testing.T, b []byte) string {
	t.Helper()
	msg, rest := "", b
	for len(rest) > 0 {
		num, typ, n := protowire.ConsumeTag(rest)
		if n < 0 {
			return string(b)
		}
		rest = rest[n:]
		n = protowire.ConsumeFieldValue(num, typ, rest)
		if n < 0 {
			return string(b)
		}
		if num == 2 && typ == protowire.BytesType {
			v, _ := protowire.ConsumeBytes(rest)
			msg = string(v)
		}
		rest = rest[n:]
	}
	return msg
}

func otlpBody(t *testing.T, ts time.Time, serviceName string, lines ...string) []byte {
	t.Helper()
	var records []*logspb.LogRecord
	for i, l := range lines {
		records = append(records, &logspb.LogRecord{
			TimeUnixNano: uint64(ts.UnixNano()) + uint64(i), SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_WARN, SeverityText: "Warning",
			Body:       &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: l}},
			Attributes: []*commonpb.KeyValue{{Key: "user.id", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "u1"}}}},
		})
	}
	b, err := proto.Marshal(&logspb.LogsData{ResourceLogs: []*logspb.ResourceLogs{{
		Resource:  &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "service.name", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: serviceName}}}}},
		ScopeLogs: []*logspb.ScopeLogs{{LogRecords: records}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestOTLPPush: what an OpenTelemetry Collector sees of /otlp/v1/logs, and what reaches the
// ingester through the distributor.
func TestOTLPPush(t *testing.T) {
	srv := startOTLP(t, false, nil, nil)
	now := time.Now()
	if code, msg := srv.post(t, "application/x-protobuf", "gzip", gzipBytes(t, otlpBody(t, now, "checkout", "card declined"))); code != http.StatusNoContent {
		t.Fatalf("protobuf push: %d %s", code, msg)
	}
	js := fmt.Sprintf(`{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"cart"}}]},
		"scopeLogs":[{"logRecords":[{"timeUnixNano":"%d","body":{"stringValue":"level=error msg=boom"}}]}]}]}`, now.UnixNano())
	if code, msg := srv.post(t, "application/json", "", []byte(js)); code != http.StatusNoContent {
		t.Fatalf("JSON push: %d %s", code, msg)
	}
	// Nothing to store is a success too.
	if code, msg := srv.post(t, "application/x-protobuf", "", nil); code != http.StatusNoContent {
		t.Fatalf("empty push: %d %s", code, msg)
	}
	// The distributor added detected_level, from severity_text and from the line.
	want := `fake {service_name="checkout"} "card declined" {detected_level="warn", severity_number="13", severity_text="Warning", user_id="u1"}
fake {service_name="cart"} "level=error msg=boom" {detected_level="error"}
`
	if got := srv.ing.dump(); got != want {
		t.Errorf("ingester got:\n%s\nwant:\n%s", got, want)
	}

	// Metrics: the request's duration under its route, and the distributor's counts.
	families, err := srv.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if f.GetName() == "loki_request_duration_seconds" && l.GetName() == "route" && l.GetValue() == "POST /otlp/v1/logs" {
					seen["duration"] = m.GetHistogram().GetSampleCount() == 3
				}
			}
			if f.GetName() == "loki_distributor_lines_received_total" {
				seen["lines"] = m.GetCounter().GetValue() == 2
			}
		}
	}
	if !seen["duration"] || !seen["lines"] {
		t.Errorf("metrics: %v, want the duration of 3 OTLP requests and 2 lines received", seen)
	}
}

func TestOTLPPushErrors(t *testing.T) {
	now := time.Now()
	ok := otlpBody(t, now, "svc", "x")
	for _, c := range []struct {
		name, contentType, encoding string
		body                        []byte
		code                        int
		msg                         string
	}{
		{"bad protobuf", "application/x-protobuf", "", []byte{0x0a, 0x05, 0x01}, 400, "malformed push body: OTLP logs: request: unexpected EOF"},
		{"bad JSON", "application/json", "", []byte(`{"resourceLogs":`), 400, "malformed push body: OTLP logs: json:"},
		{"deflate", "application/x-protobuf", "deflate", ok, 400, `content encoding "deflate" is not supported: only gzip, lz4 and zstd are`},
		{"snappy", "application/x-protobuf", "snappy", ok, 400, `content encoding "snappy" is not supported`},
		{"content type", "text/plain", "", ok, 400, `content type "text/plain" is not supported`},
		{"too large", "application/x-protobuf", "", bytes.Repeat([]byte{0}, 65<<10), 413, "push body too large"},
		{"too large once decompressed", "application/json", "gzip", gzipBytes(t, bytes.Repeat([]byte(" "), 65<<10)), 413, "push body too large"},
		{"too old", "application/x-protobuf", "", otlpBody(t, now.Add(-30*24*time.Hour), "svc", "old"), 400, "entry for stream '{service_name=\"svc\"}' has timestamp too old"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := startOTLP(t, false, nil, nil)
			code, msg := srv.post(t, c.contentType, c.encoding, c.body)
			if code != c.code || !strings.Contains(msg, c.msg) || strings.Contains(msg, "\n") {
				t.Fatalf("= %d %q, want %d and one line with %q", code, msg, c.code, c.msg)
			}
		})
	}

	t.Run("structured metadata disallowed", func(t *testing.T) {
		srv := startOTLP(t, false, func(l *validation.Limits) { l.AllowStructuredMetadata = false }, nil)
		code, msg := srv.post(t, "application/x-protobuf", "", ok)
		if code != 400 || !strings.Contains(msg, "includes structured metadata, but this feature is disallowed") {
			t.Fatalf("= %d %q", code, msg)
		}
	})
	t.Run("rate limited", func(t *testing.T) {
		srv := startOTLP(t, false, func(l *validation.Limits) { l.IngestionRateMB, l.IngestionBurstSizeMB = 1e-6, 1e-6 }, nil)
		code, msg := srv.post(t, "application/x-protobuf", "", otlpBody(t, now, "svc", "a line longer than the burst"))
		if code != 429 || !strings.Contains(msg, "Ingestion rate limit exceeded") {
			t.Fatalf("= %d %q", code, msg)
		}
	})
	t.Run("the server's failure is a retryable 503", func(t *testing.T) {
		srv := startOTLP(t, false, nil, nil)
		srv.ing.err = errors.New("disk full")
		code, msg := srv.post(t, "application/x-protobuf", "", ok)
		if code != 503 || msg != "disk full" {
			t.Fatalf("= %d %q, want 503 disk full", code, msg)
		}
	})
}

// TestOTLPTenants: with auth, the tenant comes from X-Scope-OrgID, and its own otlp_config
// (a runtime override) applies.
func TestOTLPTenants(t *testing.T) {
	var dropUser validation.Limits
	dropUser.RegisterFlags(flag.NewFlagSet("", flag.PanicOnError))
	rule, err := validation.NewOTLPRegexp(`user\..*`)
	if err != nil {
		t.Fatal(err)
	}
	dropUser.OTLPConfig.LogAttributes = []validation.OTLPAttributes{{Action: validation.OTLPDrop, Regex: rule}}
	srv := startOTLP(t, true, nil, map[string]*validation.Limits{"team-b": &dropUser})
	body := otlpBody(t, time.Now(), "svc", "x")
	if code, msg := srv.post(t, "application/x-protobuf", "", body); code != http.StatusUnauthorized {
		t.Fatalf("without a tenant: %d %q, want 401", code, msg)
	}
	for _, tenant := range []string{"team-a", "team-b"} {
		if code, msg := srv.post(t, "application/x-protobuf", "", body, "X-Scope-OrgID", tenant); code != http.StatusNoContent {
			t.Fatalf("tenant %s: %d %q", tenant, code, msg)
		}
	}
	want := `team-a {service_name="svc"} "x" {detected_level="warn", severity_number="13", severity_text="Warning", user_id="u1"}
team-b {service_name="svc"} "x" {detected_level="warn", severity_number="13", severity_text="Warning"}
`
	if got := srv.ing.dump(); got != want {
		t.Errorf("ingester got:\n%s\nwant:\n%s", got, want)
	}
}
