package otlp_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/push"
	"github.com/sluicelog/sluice/pkg/push/otlp"
)

func mapJSON(t *testing.T, body string, cfg *otlp.Config) *logproto.PushRequest {
	t.Helper()
	var l otlp.Logs
	if err := otlp.UnmarshalJSON([]byte(body), &l); err != nil {
		t.Fatalf("UnmarshalJSON: %v", err)
	}
	var req logproto.PushRequest
	if err := otlp.Map(&l, cfg, &req); err != nil {
		t.Fatalf("Map: %v", err)
	}
	return &req
}

// TestUnmarshalJSON decodes testdata/logs.json, written by hand as the OTLP specification
// says (lowerCamelCase, hex IDs, 64-bit integers as strings, enums as numbers), and checks it
// maps exactly as the same request in protobuf.
func TestUnmarshalJSON(t *testing.T) {
	body, err := os.ReadFile("testdata/logs.json")
	if err != nil {
		t.Fatal(err)
	}
	fromJSON := mapJSON(t, string(body), defaultConfig())
	proto := marshal(t, resourceLogs([]*commonpb.KeyValue{kv("service.name", sv("cart")), kv("k8s.namespace.name", sv("shop")), kv("host.id", iv(1234567890123))},
		scopeLogs(&commonpb.InstrumentationScope{Name: "io.opentelemetry.cart", Version: "0.3.1", Attributes: []*commonpb.KeyValue{kv("lib.flag", bv(false))}},
			&logspb.LogRecord{
				TimeUnixNano: 1700000000123456789, ObservedTimeUnixNano: 1700000000223456789,
				SeverityNumber: 17, SeverityText: "ERROR", Body: sv("payment failed"),
				Attributes: []*commonpb.KeyValue{
					kv("http.status_code", iv(502)), kv("retry.delay", dv(0.25)), kv("payload", bytesv([]byte("hi!"))),
					kv("items", arrv(sv("a"), iv(2))), kv("user", mapv(kv("id", sv("u-1")), kv("vip", bv(true)))),
				},
				Flags: 1, TraceId: traceID, SpanId: spanID,
			},
			&logspb.LogRecord{ObservedTimeUnixNano: 1700000001000000000, SeverityNumber: 9, Body: mapv(kv("event", sv("ok")), kv("ms", dv(12)))},
		)))
	fromProto, err := mapProto(t, proto, defaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if g, w := dump(fromJSON), dump(fromProto); g != w {
		t.Errorf("JSON maps to:\n%s\nthe same request in protobuf to:\n%s", g, w)
	}
	checkDump(t, fromJSON, `
{k8s_namespace_name="shop", service_name="cart"} 1700000000123456789 "payment failed" {flags="1", host_id="1234567890123", http_status_code="502", items="[\"a\",2]", lib_flag="false", observed_timestamp="1700000000223456789", payload="aGkh", retry_delay="0.25", scope_name="io.opentelemetry.cart", scope_version="0.3.1", severity_number="17", severity_text="ERROR", span_id="eee19b7ec3c1b174", trace_id="5b8efff798038103d269b633813fc60c", user_id="u-1", user_vip="true"}
{k8s_namespace_name="shop", service_name="cart"} 1700000001000000000 "{\"event\":\"ok\",\"ms\":12}" {host_id="1234567890123", lib_flag="false", scope_name="io.opentelemetry.cart", scope_version="0.3.1", severity_number="9"}
`)
}

// TestUnmarshalJSONVariants: what OpenTelemetry's JSON decoder (and so Loki) also takes.
func TestUnmarshalJSONVariants(t *testing.T) {
	const want = `{service_name="svc"} 1700000000000000001 "7" {severity_number="13", span_id="eee19b7ec3c1b174", x="9007199254740993"}` + "\n"
	for _, c := range []struct{ name, body string }{
		{"numbers as numbers", `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
			"scopeLogs":[{"logRecords":[{"timeUnixNano":1700000000000000001,"severityNumber":13,"body":{"intValue":7},
			"spanId":"EEE19B7EC3C1B174","attributes":[{"key":"x","value":{"intValue":9007199254740993}}]}]}]}]}`},
		{"snake_case and enum names", `{"resource_logs":[{"resource":{"attributes":[{"key":"service.name","value":{"string_value":"svc"}}]},
			"scope_logs":[{"log_records":[{"time_unix_nano":"1700000000000000001","severity_number":"SEVERITY_NUMBER_WARN","body":{"int_value":"7"},
			"span_id":"eee19b7ec3c1b174","attributes":[{"key":"x","value":{"int_value":"9007199254740993"}}],"unknown":{"a":[1,2]}}]}]}]}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := dump(mapJSON(t, c.body, defaultConfig())); got != want {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
	t.Run("empty request", func(t *testing.T) {
		if got := mapJSON(t, `{}`, defaultConfig()); len(got.Streams) != 0 {
			t.Errorf("{} = %s", dump(got))
		}
	})
}

func TestUnmarshalJSONErrors(t *testing.T) {
	record := func(fields string) string {
		return `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{` + fields + `}]}]}]}`
	}
	for _, c := range []struct{ name, body, want string }{
		{"not JSON", `{"resourceLogs":[`, "json"},
		{"empty body", ``, "json"},
		{"not an object", `[1]`, "json"},
		{"trace ID not hex", record(`"traceId":"zz"`), "not hex"},
		{"trace ID in base64 (protojson, not OTLP/JSON)", record(`"traceId":"W47/95gDgQPSabYzgT/GDA=="`), "not hex"},
		{"span ID too short", record(`"spanId":"abcd"`), "span_id has 2 bytes, want 8"},
		{"fractional int", record(`"body":{"intValue":"1.5"}`), "not an integer"},
		{"int out of range", record(`"body":{"intValue":"9223372036854775808"}`), "not an integer"},
		{"negative time", record(`"timeUnixNano":"-1"`), "not an unsigned integer"},
		{"bytes not base64", record(`"body":{"bytesValue":"***"}`), "not base64"},
		{"unknown severity name", record(`"severityNumber":"LOUD"`), "not a severity number"},
		{"string for a bool", record(`"body":{"boolValue":"true"}`), "json"},
		{"values nested too deep", record(`"body":` + strings.Repeat(`{"arrayValue":{"values":[`, 101) + `{}` + strings.Repeat(`]}}`, 101)), "deeper than 100"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var l otlp.Logs
			err := otlp.UnmarshalJSON([]byte(c.body), &l)
			if !errors.Is(err, push.ErrMalformed) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("UnmarshalJSON(%s) = %v, want a malformed-body error mentioning %q", c.body, err, c.want)
			}
		})
	}
}
