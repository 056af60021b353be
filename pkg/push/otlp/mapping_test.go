package otlp_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"gopkg.in/yaml.v3"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/push"
	"github.com/sluicelog/sluice/pkg/push/otlp"
	"github.com/sluicelog/sluice/pkg/validation"
)

const (
	t0  = 1700000000123456789
	obs = 1700000001000000000
	now = 1700000099000000000
)

var (
	traceID = []byte{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c}
	spanID  = []byte{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74}
)

func defaultConfig() *otlp.Config {
	return &otlp.Config{DefaultIndexLabels: validation.DefaultOTLPIndexLabels, DiscoverServiceName: validation.DefaultDiscoverServiceName, Now: now}
}

// mapProto decodes body and maps it with cfg.
func mapProto(t *testing.T, body []byte, cfg *otlp.Config) (*logproto.PushRequest, error) {
	t.Helper()
	var l otlp.Logs
	if err := otlp.UnmarshalProto(body, &l); err != nil {
		t.Fatalf("UnmarshalProto: %v", err)
	}
	var req logproto.PushRequest
	err := otlp.Map(&l, cfg, &req)
	return &req, err
}

func checkDump(t *testing.T, got *logproto.PushRequest, want string) {
	t.Helper()
	want = strings.TrimLeft(want, "\n")
	if g := dump(got); g != want {
		t.Errorf("mapped request:\n%s\nwant:\n%s", g, want)
	}
}

// TestMapLikeLoki maps a request with every kind of value, nested attributes, records without
// timestamps, resources without service.name, and trace and span IDs, and checks the exact
// streams, lines, timestamps and structured metadata Loki stores for it.
func TestMapLikeLoki(t *testing.T) {
	body := marshal(t,
		resourceLogs([]*commonpb.KeyValue{
			kv("service.name", sv("checkout")),
			kv("k8s.pod.name", sv("pod-1")),
			kv("deployment.environment", sv("")), // an empty label is left out
			kv("host.name", sv("h1")),
			kv("process.pid", iv(42)),
			kv("resource.nested", mapv(kv("a", sv("x")), kv("b", mapv(kv("c", iv(1)))))),
		}, scopeLogs(&commonpb.InstrumentationScope{Name: "my.lib", Version: "1.2", Attributes: []*commonpb.KeyValue{kv("scope.attr", bv(true))}, DroppedAttributesCount: 2},
			&logspb.LogRecord{
				TimeUnixNano: t0, ObservedTimeUnixNano: obs,
				SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_INFO, SeverityText: "INFO",
				Body: sv("hello"),
				Attributes: []*commonpb.KeyValue{
					kv("http.method", sv("GET")),
					kv("http.status", iv(200)),
					kv("latency", dv(1.5)),
					kv("ok", bv(true)),
					kv("raw", bytesv([]byte{1, 2, 0xff})),
					kv("tags", arrv(sv("a"), iv(1), bv(true), dv(0.25), &commonpb.AnyValue{})),
					kv("user", mapv(kv("id", sv("u1")), kv("roles", arrv(sv("x"))), kv("", sv("anon")))),
					kv("nothing", &commonpb.AnyValue{}),
					kv("2xx", sv("y")),
					kv("_private", sv("p")),
					kv("trace_id", sv("from-attribute")), // the record's trace_id comes later and wins
					kv("event_name", sv("ignored: the record has an event name")),
				},
				DroppedAttributesCount: 3, Flags: 1, TraceId: traceID, SpanId: spanID, EventName: "checkout.done",
			},
			// No time: the observed time is the timestamp, and not repeated as metadata.
			&logspb.LogRecord{ObservedTimeUnixNano: obs, Body: mapv(kv("msg", sv("hi")), kv("n", iv(2)), kv("d", dv(0.000001)), kv("html", sv("<a>")), kv("b", bytesv(nil)))},
			// No time at all: the time of the push.
			&logspb.LogRecord{Body: iv(7), TraceId: make([]byte, 16)},
		)),
		resourceLogs([]*commonpb.KeyValue{kv("k8s.container.name", sv("web")), kv("k8s.namespace.name", sv("shop"))},
			scopeLogs(nil,
				&logspb.LogRecord{TimeUnixNano: t0, Body: dv(1e21)},
				&logspb.LogRecord{TimeUnixNano: t0 + 1, Body: bv(false)},
				&logspb.LogRecord{TimeUnixNano: t0 + 2, Body: arrv(sv("a"), mapv(kv("k", dv(-0.5))))},
				&logspb.LogRecord{TimeUnixNano: t0 + 3, Body: bytesv([]byte("hi"))},
				&logspb.LogRecord{TimeUnixNano: t0 + 4},
				&logspb.LogRecord{TimeUnixNano: t0 + 5, Body: dv(math.NaN())},
				&logspb.LogRecord{TimeUnixNano: t0 + 6, Body: arrv(dv(math.Inf(1)))},
			)),
		resourceLogs(nil, scopeLogs(nil, &logspb.LogRecord{TimeUnixNano: t0, Body: sv("no resource attributes")})),
		// Records of the same labels in two resources go to one stream.
		resourceLogs([]*commonpb.KeyValue{kv("service.name", sv("checkout")), kv("k8s.pod.name", sv("pod-1"))},
			scopeLogs(nil, &logspb.LogRecord{TimeUnixNano: t0 + 9, Body: sv("again")})),
		// A resource without records makes no stream.
		resourceLogs([]*commonpb.KeyValue{kv("service.name", sv("idle"))}),
	)
	req, err := mapProto(t, body, defaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	checkDump(t, req, `
{k8s_pod_name="pod-1", service_name="checkout"} 1700000000123456789 "hello" {dropped_attributes_count="3", event_name="checkout.done", flags="1", host_name="h1", http_method="GET", http_status="200", key_2xx="y", key_private="p", latency="1.5", observed_timestamp="1700000001000000000", ok="true", process_pid="42", raw="AQL/", resource_nested_a="x", resource_nested_b_c="1", scope_attr="true", scope_dropped_attributes_count="2", scope_name="my.lib", scope_version="1.2", severity_number="9", severity_text="INFO", span_id="eee19b7ec3c1b174", tags="[\"a\",1,true,0.25,null]", trace_id="5b8efff798038103d269b633813fc60c", user_="anon", user_id="u1", user_roles="[\"x\"]"}
{k8s_pod_name="pod-1", service_name="checkout"} 1700000001000000000 "{\"b\":null,\"d\":0.000001,\"html\":\"\\u003ca\\u003e\",\"msg\":\"hi\",\"n\":2}" {host_name="h1", process_pid="42", resource_nested_a="x", resource_nested_b_c="1", scope_attr="true", scope_dropped_attributes_count="2", scope_name="my.lib", scope_version="1.2"}
{k8s_pod_name="pod-1", service_name="checkout"} 1700000099000000000 "7" {host_name="h1", process_pid="42", resource_nested_a="x", resource_nested_b_c="1", scope_attr="true", scope_dropped_attributes_count="2", scope_name="my.lib", scope_version="1.2"}
{k8s_pod_name="pod-1", service_name="checkout"} 1700000000123456798 "again" {}
{k8s_container_name="web", k8s_namespace_name="shop", service_name="web"} 1700000000123456789 "1e+21" {}
{k8s_container_name="web", k8s_namespace_name="shop", service_name="web"} 1700000000123456790 "false" {}
{k8s_container_name="web", k8s_namespace_name="shop", service_name="web"} 1700000000123456791 "[\"a\",{\"k\":-0.5}]" {}
{k8s_container_name="web", k8s_namespace_name="shop", service_name="web"} 1700000000123456792 "aGk=" {}
{k8s_container_name="web", k8s_namespace_name="shop", service_name="web"} 1700000000123456793 "" {}
{k8s_container_name="web", k8s_namespace_name="shop", service_name="web"} 1700000000123456794 "json: unsupported value: NaN" {}
{k8s_container_name="web", k8s_namespace_name="shop", service_name="web"} 1700000000123456795 "" {}
{service_name="unknown_service"} 1700000000123456789 "no resource attributes" {}
`)
}

// TestMapServiceName checks where service_name comes from (Loki's rules, not the
// distributor's: the first index label of the resource that is in the list, in the resource's
// order).
func TestMapServiceName(t *testing.T) {
	rec := scopeLogs(nil, &logspb.LogRecord{TimeUnixNano: t0, Body: sv("x")})
	cases := []struct {
		name     string
		attrs    []*commonpb.KeyValue
		discover []string
		want     string
	}{
		{"service.name", []*commonpb.KeyValue{kv("k8s.job.name", sv("j")), kv("service.name", sv("svc"))}, nil, `{k8s_job_name="j", service_name="svc"}`},
		{"resource order decides", []*commonpb.KeyValue{kv("k8s.job.name", sv("j")), kv("container.name", sv("c"))}, nil, `{container_name="c", k8s_job_name="j", service_name="j"}`},
		{"empty service.name", []*commonpb.KeyValue{kv("service.name", sv("")), kv("container.name", sv("c"))}, nil, `{container_name="c", service_name="c"}`},
		{"only structured metadata", []*commonpb.KeyValue{kv("app", sv("a"))}, nil, `{service_name="unknown_service"}`},
		{"non-string service.name", []*commonpb.KeyValue{kv("service.name", iv(5))}, nil, `{service_name="5"}`},
		{"discovery off", []*commonpb.KeyValue{kv("container.name", sv("c"))}, []string{}, `{container_name="c"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := defaultConfig()
			if c.discover != nil {
				cfg.DiscoverServiceName = c.discover
			}
			req, err := mapProto(t, marshal(t, resourceLogs(c.attrs, rec)), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(req.Streams) != 1 || req.Streams[0].Labels != c.want {
				t.Errorf("streams = %s, want %s", dump(req), c.want)
			}
		})
	}
}

func parseOTLPConfig(t *testing.T, doc string) *validation.OTLPConfig {
	t.Helper()
	var c validation.OTLPConfig
	if err := yaml.Unmarshal([]byte(doc), &c); err != nil {
		t.Fatalf("parse %s: %v", doc, err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("validate %s: %v", doc, err)
	}
	return &c
}

// TestMapOTLPConfig applies otlp_config rules (the examples of Loki's documentation and more):
// index_label, structured_metadata and drop, by name and by regex, for resource, scope and log
// attributes, ignore_defaults and severity_text_as_label.
func TestMapOTLPConfig(t *testing.T) {
	body := marshal(t, resourceLogs(
		[]*commonpb.KeyValue{
			kv("service.name", sv("svc")), kv("service.group", sv("g1")), kv("k8s.pod.name", sv("p1")),
			kv("pod.ip", sv("10.0.0.1")), kv("drop.me", sv("x")), kv("drop.too", sv("y")),
		},
		scopeLogs(&commonpb.InstrumentationScope{Name: "lib", Attributes: []*commonpb.KeyValue{kv("method.name", sv("m")), kv("keep", sv("k"))}},
			&logspb.LogRecord{TimeUnixNano: t0, SeverityText: "WARN", Body: sv("a"), Attributes: []*commonpb.KeyValue{
				kv("user.id", sv("u1")), kv("order_id", sv("o1")), kv("tenant", sv("t1")), kv("noise", sv("n"))}},
			&logspb.LogRecord{TimeUnixNano: t0 + 1, Body: sv("b"), Attributes: []*commonpb.KeyValue{kv("tenant", sv("t2"))}},
			&logspb.LogRecord{TimeUnixNano: t0 + 2, Body: sv("c")},
		)))
	cases := []struct {
		name, config, want string
	}{
		{"defaults", ``, `
{k8s_pod_name="p1", service_name="svc"} 1700000000123456789 "a" {drop_me="x", drop_too="y", keep="k", method_name="m", noise="n", order_id="o1", pod_ip="10.0.0.1", scope_name="lib", service_group="g1", severity_text="WARN", tenant="t1", user_id="u1"}
{k8s_pod_name="p1", service_name="svc"} 1700000000123456790 "b" {drop_me="x", drop_too="y", keep="k", method_name="m", pod_ip="10.0.0.1", scope_name="lib", service_group="g1", tenant="t2"}
{k8s_pod_name="p1", service_name="svc"} 1700000000123456791 "c" {drop_me="x", drop_too="y", keep="k", method_name="m", pod_ip="10.0.0.1", scope_name="lib", service_group="g1"}
`},
		{"Loki's example 3", `
resource_attributes:
  attributes_config:
    - action: index_label
      regex: service.group
scope_attributes:
  - action: drop
    attributes: [method.name]
log_attributes:
  - action: structured_metadata
    attributes: [user.id]
  - action: drop
    regex: .*
`, `
{k8s_pod_name="p1", service_group="g1", service_name="svc"} 1700000000123456789 "a" {drop_me="x", drop_too="y", keep="k", pod_ip="10.0.0.1", scope_name="lib", severity_text="WARN", user_id="u1"}
{k8s_pod_name="p1", service_group="g1", service_name="svc"} 1700000000123456790 "b" {drop_me="x", drop_too="y", keep="k", pod_ip="10.0.0.1", scope_name="lib"}
{k8s_pod_name="p1", service_group="g1", service_name="svc"} 1700000000123456791 "c" {drop_me="x", drop_too="y", keep="k", pod_ip="10.0.0.1", scope_name="lib"}
`},
		{"ignore_defaults, regex drop, an earlier rule wins", `
resource_attributes:
  ignore_defaults: true
  attributes_config:
    - action: drop
      regex: drop\..*
    - action: index_label
      attributes: [service.name, drop.me]
    - action: structured_metadata
      attributes: [k8s.pod.name]
`, `
{service_name="svc"} 1700000000123456789 "a" {k8s_pod_name="p1", keep="k", method_name="m", noise="n", order_id="o1", pod_ip="10.0.0.1", scope_name="lib", service_group="g1", severity_text="WARN", tenant="t1", user_id="u1"}
{service_name="svc"} 1700000000123456790 "b" {k8s_pod_name="p1", keep="k", method_name="m", pod_ip="10.0.0.1", scope_name="lib", service_group="g1", tenant="t2"}
{service_name="svc"} 1700000000123456791 "c" {k8s_pod_name="p1", keep="k", method_name="m", pod_ip="10.0.0.1", scope_name="lib", service_group="g1"}
`},
		{"a regex matches the whole name", `
resource_attributes:
  attributes_config:
    - action: drop
      regex: drop
log_attributes:
  - action: drop
    regex: "user|order"
`, `
{k8s_pod_name="p1", service_name="svc"} 1700000000123456789 "a" {drop_me="x", drop_too="y", keep="k", method_name="m", noise="n", order_id="o1", pod_ip="10.0.0.1", scope_name="lib", service_group="g1", severity_text="WARN", tenant="t1", user_id="u1"}
{k8s_pod_name="p1", service_name="svc"} 1700000000123456790 "b" {drop_me="x", drop_too="y", keep="k", method_name="m", pod_ip="10.0.0.1", scope_name="lib", service_group="g1", tenant="t2"}
{k8s_pod_name="p1", service_name="svc"} 1700000000123456791 "c" {drop_me="x", drop_too="y", keep="k", method_name="m", pod_ip="10.0.0.1", scope_name="lib", service_group="g1"}
`},
		{"log attributes as labels split streams; severity_text_as_label", `
log_attributes:
  - action: index_label
    attributes: [tenant]
  - action: drop
    regex: noise|.*_id
severity_text_as_label: true
`, `
{k8s_pod_name="p1", service_name="svc", severity_text="WARN", tenant="t1"} 1700000000123456789 "a" {drop_me="x", drop_too="y", keep="k", method_name="m", pod_ip="10.0.0.1", scope_name="lib", service_group="g1", severity_text="WARN", user_id="u1"}
{k8s_pod_name="p1", service_name="svc", tenant="t2"} 1700000000123456790 "b" {drop_me="x", drop_too="y", keep="k", method_name="m", pod_ip="10.0.0.1", scope_name="lib", service_group="g1"}
{k8s_pod_name="p1", service_name="svc"} 1700000000123456791 "c" {drop_me="x", drop_too="y", keep="k", method_name="m", pod_ip="10.0.0.1", scope_name="lib", service_group="g1"}
`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := defaultConfig()
			cfg.OTLP = parseOTLPConfig(t, c.config)
			req, err := mapProto(t, body, cfg)
			if err != nil {
				t.Fatal(err)
			}
			checkDump(t, req, c.want)
		})
	}
	t.Run("no default index labels", func(t *testing.T) {
		cfg := defaultConfig()
		cfg.DefaultIndexLabels = nil
		req, err := mapProto(t, body, cfg)
		if err != nil {
			t.Fatal(err)
		}
		// service.name is now structured metadata, and since the resource has it Loki adds no
		// service_name either (the distributor may: see the package documentation).
		if len(req.Streams) != 1 || req.Streams[0].Labels != `{}` {
			t.Errorf("streams:\n%s", dump(req))
		}
	})
}

// TestMapDuplicates: of attributes of the same name, the last counts (Loki fills a label map
// and a query sees the last metadata pair of a name), also among many.
func TestMapDuplicates(t *testing.T) {
	var attrs []*commonpb.KeyValue
	for i := range 40 {
		attrs = append(attrs, kv(fmt.Sprintf("a%02d", 39-i), iv(int64(i))))
	}
	attrs = append(attrs, kv("a05", sv("last")), kv("scope.x", sv("record")))
	body := marshal(t, resourceLogs(
		[]*commonpb.KeyValue{kv("service.name", sv("first")), kv("service_name", sv("second")), kv("k8s.pod.name", sv("p")), kv("k8s.pod.name", sv("")), kv("host", sv("h"))},
		scopeLogs(&commonpb.InstrumentationScope{Attributes: []*commonpb.KeyValue{kv("scope.x", sv("scope")), kv("host", sv("scope-host"))}},
			&logspb.LogRecord{TimeUnixNano: t0, Attributes: attrs})))
	cfg := defaultConfig()
	cfg.OTLP = parseOTLPConfig(t, "resource_attributes:\n  attributes_config:\n    - action: index_label\n      attributes: [service_name]\n")
	req, err := mapProto(t, body, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	want.WriteString(`{service_name="second"} 1700000000123456789 "" {`)
	for i := range 40 {
		v := fmt.Sprint(39 - i)
		if i == 5 {
			v = "last"
		}
		fmt.Fprintf(&want, "a%02d=%q, ", i, v)
	}
	want.WriteString(`host="scope-host", scope_x="scope"}` + "\n")
	checkDump(t, req, want.String())
}

// TestMapRefusesOrSkips covers what Loki refuses (a name that normalizes to nothing fails the
// request) and what it drops without an error (labels that are not valid UTF-8).
func TestMapRefusesOrSkips(t *testing.T) {
	rec := func(attrs ...*commonpb.KeyValue) *logspb.ScopeLogs {
		return scopeLogs(nil, &logspb.LogRecord{TimeUnixNano: t0, Body: sv("x"), Attributes: attrs})
	}
	for _, c := range []struct {
		name string
		rl   *logspb.ResourceLogs
	}{
		{"empty log attribute name", resourceLogs(nil, rec(kv("", sv("v"))))},
		{"resource attribute of dots", resourceLogs([]*commonpb.KeyValue{kv("..", sv("v"))}, rec())},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := mapProto(t, marshal(t, c.rl), defaultConfig())
			if !errors.Is(err, push.ErrMalformed) {
				t.Fatalf("Map = %v, want a malformed-body error", err)
			}
		})
	}
	t.Run("a dropped attribute is not checked", func(t *testing.T) {
		cfg := defaultConfig()
		cfg.OTLP = parseOTLPConfig(t, "log_attributes:\n  - action: drop\n    attributes: ['']\n")
		if _, err := mapProto(t, marshal(t, resourceLogs(nil, rec(kv("", sv("v"))))), cfg); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("labels of invalid UTF-8 drop the resource", func(t *testing.T) {
		// proto.Marshal refuses invalid UTF-8 (the OTLP decoders of Loki and Sluice do not
		// check it), so the body is made with a placeholder byte and patched.
		body := marshal(t,
			resourceLogs([]*commonpb.KeyValue{kv("service.name", sv("bad-@"))}, rec()),
			resourceLogs([]*commonpb.KeyValue{kv("service.name", sv("good"))}, rec(kv("x", sv("meta-@")))))
		body = bytes.ReplaceAll(body, []byte("-@"), []byte("-\xc3"))
		req, err := mapProto(t, body, defaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		checkDump(t, req, `
{service_name="good"} 1700000000123456789 "x" {x="meta-\xc3"}
`)
	})
}
