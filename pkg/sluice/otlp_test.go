package sluice_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sluicelog/sluice/pkg/flagext"
	"github.com/sluicelog/sluice/pkg/sluice"
	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
)

func otlpString(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}

func postOTLP(t *testing.T, base, contentType, encoding string, body []byte, header ...string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/otlp/v1/logs", bytes.NewReader(body))
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
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("OTLP push: %d %q", resp.StatusCode, b)
	}
}

// categorizedQuery runs a log query asking for categorized labels, as Grafana does, and
// returns "stream labels | line | structured metadata" per entry.
func categorizedQuery(t *testing.T, base, query string, from, through time.Time, header ...string) []string {
	t.Helper()
	params := url.Values{"query": {query}, "start": {strconv.FormatInt(from.UnixNano(), 10)},
		"end": {strconv.FormatInt(through.UnixNano(), 10)}, "direction": {"forward"}}
	req, _ := http.NewRequest(http.MethodGet, base+"/loki/api/v1/query_range?"+params.Encode(), nil)
	req.Header.Set("X-Loki-Response-Encoding-Flags", "categorize-labels")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("query %s: %d %s", query, resp.StatusCode, body)
	}
	var qr struct {
		Data struct {
			Result []struct {
				Stream map[string]string `json:"stream"`
				Values [][]json.RawMessage
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &qr); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	var out []string
	for _, s := range qr.Data.Result {
		for _, v := range s.Values {
			var line string
			var cat struct {
				StructuredMetadata map[string]string `json:"structuredMetadata"`
			}
			if err := json.Unmarshal(v[1], &line); err != nil {
				t.Fatal(err)
			}
			if len(v) > 2 {
				if err := json.Unmarshal(v[2], &cat); err != nil {
					t.Fatal(err)
				}
			}
			out = append(out, fmt.Sprintf("%s | %s | %s", render(s.Stream), line, render(cat.StructuredMetadata)))
		}
	}
	return out
}

func render(m map[string]string) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s=%s", k, v))
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// TestOTLPPushQuery pushes OTLP logs as the OpenTelemetry Collector's otlphttp exporter
// does (protobuf, gzip) and as OTLP/JSON, then reads them back by service_name with their
// structured metadata, as Grafana would.
func TestOTLPPushQuery(t *testing.T) {
	srv := sluicetest.Start(t)
	t0 := time.Now().Add(-time.Minute).Truncate(time.Second)
	traceID := []byte{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c}
	body, err := proto.Marshal(&logspb.LogsData{ResourceLogs: []*logspb.ResourceLogs{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
			{Key: "service.name", Value: otlpString("checkout")},
			{Key: "k8s.namespace.name", Value: otlpString("shop")},
			{Key: "host.name", Value: otlpString("node-1")},
		}},
		ScopeLogs: []*logspb.ScopeLogs{{
			Scope: &commonpb.InstrumentationScope{Name: "checkout.logger"},
			LogRecords: []*logspb.LogRecord{
				{TimeUnixNano: uint64(t0.UnixNano()), SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_ERROR, SeverityText: "ERROR",
					Body:       otlpString("payment failed"),
					Attributes: []*commonpb.KeyValue{{Key: "order.id", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 42}}}},
					TraceId:    traceID},
				{TimeUnixNano: uint64(t0.UnixNano() + 1), SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_INFO, Body: otlpString("payment retried")},
			},
		}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	postOTLP(t, srv.URL, "application/x-protobuf", "gzip", gz(body))
	postOTLP(t, srv.URL, "application/json", "", fmt.Appendf(nil, `{"resourceLogs":[{"resource":{"attributes":[
		{"key":"service.name","value":{"stringValue":"cart"}}]},"scopeLogs":[{"logRecords":[
		{"timeUnixNano":"%d","severityNumber":13,"body":{"kvlistValue":{"values":[{"key":"msg","value":{"stringValue":"slow"}},{"key":"ms","value":{"intValue":"900"}}]}},
		 "spanId":"eee19b7ec3c1b174","attributes":[{"key":"http","value":{"kvlistValue":{"values":[{"key":"route","value":{"stringValue":"/cart"}}]}}}]}]}]}]}`, t0.UnixNano()+2))

	from, through := t0.Add(-time.Second), t0.Add(time.Second)
	got := categorizedQuery(t, srv.URL, `{service_name="checkout"}`, from, through)
	want := []string{
		"k8s_namespace_name=shop service_name=checkout | payment failed | detected_level=error host_name=node-1 order_id=42 scope_name=checkout.logger severity_number=17 severity_text=ERROR trace_id=5b8efff798038103d269b633813fc60c",
		"k8s_namespace_name=shop service_name=checkout | payment retried | detected_level=info host_name=node-1 scope_name=checkout.logger severity_number=9",
	}
	if !slices.Equal(got, want) {
		t.Errorf("checkout:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	got = categorizedQuery(t, srv.URL, `{service_name="cart"} | http_route="/cart"`, from, through)
	want = []string{`service_name=cart | {"ms":900,"msg":"slow"} | detected_level=warn http_route=/cart severity_number=13 span_id=eee19b7ec3c1b174`}
	if !slices.Equal(got, want) {
		t.Errorf("cart:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Without categorized labels, Loki shows structured metadata among the stream's labels.
	qr := queryRange(t, srv.URL, url.Values{"query": {`{service_name="checkout"} | trace_id!=""`},
		"start": {strconv.FormatInt(from.UnixNano(), 10)}, "end": {strconv.FormatInt(through.UnixNano(), 10)}})
	if len(qr.Data.Result) != 1 || qr.Data.Result[0].Stream["order_id"] != "42" || len(qr.Data.Result[0].Values) != 1 {
		t.Errorf("trace_id filter: %+v", qr.Data.Result)
	}
}

// TestOTLPConfigOverride: the default index labels come from distributor.otlp_config, a
// tenant's otlp_config from the runtime overrides.
func TestOTLPConfigOverride(t *testing.T) {
	file := t.TempDir() + "/overrides.yaml"
	overrides := `overrides:
  team-a:
    otlp_config:
      resource_attributes:
        attributes_config:
          - action: index_label
            attributes: [host.name]
      log_attributes:
        - action: drop
          regex: secret\..*
`
	if err := os.WriteFile(file, []byte(overrides), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := sluicetest.Start(t, sluicetest.WithAuth(), sluicetest.WithConfig(func(c *sluice.Config) {
		c.RuntimeConfig.File = file
		c.RuntimeConfig.Period = flagext.Duration(time.Hour)
		c.Distributor.OTLPConfig.DefaultResourceAttributesAsIndexLabels = flagext.Strings{"service.name", "team"}
	}))
	t0 := time.Now().Add(-time.Minute).Truncate(time.Second)
	body, err := proto.Marshal(&logspb.LogsData{ResourceLogs: []*logspb.ResourceLogs{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
			{Key: "service.name", Value: otlpString("api")}, {Key: "team", Value: otlpString("blue")},
			{Key: "host.name", Value: otlpString("node-1")}, {Key: "k8s.namespace.name", Value: otlpString("prod")},
		}},
		ScopeLogs: []*logspb.ScopeLogs{{LogRecords: []*logspb.LogRecord{{
			TimeUnixNano: uint64(t0.UnixNano()), Body: otlpString("hello"),
			Attributes: []*commonpb.KeyValue{{Key: "secret.token", Value: otlpString("x")}, {Key: "user", Value: otlpString("u")}},
		}}}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tenant := range []string{"team-a", "team-b"} {
		postOTLP(t, srv.URL, "application/x-protobuf", "", body, "X-Scope-OrgID", tenant)
	}
	from, through := t0.Add(-time.Second), t0.Add(time.Second)
	for tenant, want := range map[string]string{
		"team-a": "host_name=node-1 service_name=api team=blue | hello | detected_level=unknown k8s_namespace_name=prod user=u",
		"team-b": "service_name=api team=blue | hello | detected_level=unknown host_name=node-1 k8s_namespace_name=prod secret_token=x user=u",
	} {
		got := categorizedQuery(t, srv.URL, `{service_name="api"}`, from, through, "X-Scope-OrgID", tenant)
		if len(got) != 1 || got[0] != want {
			t.Errorf("%s: %q, want %q", tenant, got, want)
		}
	}
}

// TestOTLPConfigLoad: Loki's keys load from the configuration file, and a wrong rule stops
// the server from starting with an error naming it.
func TestOTLPConfigLoad(t *testing.T) {
	load := func(doc string) (*sluice.Config, error) {
		dir := t.TempDir()
		if err := os.WriteFile(dir+"/c.yaml", []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := sluice.LoadConfig([]string{"-config.file=" + dir + "/c.yaml", "-common.path-prefix=" + dir})
		if err != nil {
			return nil, err
		}
		return cfg, cfg.Validate()
	}
	cfg, err := load(`
distributor:
  otlp_config:
    default_resource_attributes_as_index_labels: [service.name, k8s.namespace.name]
limits_config:
  otlp_config:
    resource_attributes:
      ignore_defaults: true
      attributes_config:
        - action: index_label
          regex: service\..*
    scope_attributes:
      - action: drop
        attributes: [method.name]
    log_attributes:
      - action: structured_metadata
        attributes: [user.id]
      - action: drop
        regex: .*
    severity_text_as_label: true
`)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Distributor.OTLPConfig.DefaultResourceAttributesAsIndexLabels; !slices.Equal(got, []string{"service.name", "k8s.namespace.name"}) {
		t.Errorf("default index labels = %v", got)
	}
	if o := cfg.Limits.OTLPConfig; !o.ResourceAttributes.IgnoreDefaults || !o.SeverityTextAsLabel || o.LogAction("other") != "drop" || o.ResourceAction("service.x", nil) != "index_label" {
		t.Errorf("limits_config.otlp_config not read: %+v", o)
	}
	for _, c := range []struct{ doc, want string }{
		{"limits_config:\n  otlp_config:\n    scope_attributes:\n      - action: index_label\n        attributes: [a]\n", "limits_config.otlp_config.scope_attributes[0].action: index_label is only supported"},
		{"limits_config:\n  otlp_config:\n    log_attributes:\n      - action: drop\n        attribute: [a]\n", "field attribute not found"},
		{"distributor:\n  otlp_config:\n    default_index_labels: [a]\n", "field default_index_labels not found"},
	} {
		if _, err := load(c.doc); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("loading\n%s= %v, want an error with %q", c.doc, err, c.want)
		}
	}
}
