package otlp_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sluicelog/sluice/pkg/logproto"
)

// Builders of OTLP messages, as the OpenTelemetry SDKs and Collector make them. LogsData is
// wire-identical to ExportLogsServiceRequest.

func sv(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}
func iv(i int64) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: i}}
}
func dv(f float64) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: f}}
}
func bv(b bool) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: b}}
}
func bytesv(b []byte) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: b}}
}
func arrv(vs ...*commonpb.AnyValue) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vs}}}
}
func mapv(kvs ...*commonpb.KeyValue) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: kvs}}}
}
func kv(k string, v *commonpb.AnyValue) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: v}
}

func resourceLogs(attrs []*commonpb.KeyValue, scopes ...*logspb.ScopeLogs) *logspb.ResourceLogs {
	return &logspb.ResourceLogs{Resource: &resourcepb.Resource{Attributes: attrs}, ScopeLogs: scopes}
}

func scopeLogs(scope *commonpb.InstrumentationScope, records ...*logspb.LogRecord) *logspb.ScopeLogs {
	return &logspb.ScopeLogs{Scope: scope, LogRecords: records}
}

func marshal(t testing.TB, rls ...*logspb.ResourceLogs) []byte {
	t.Helper()
	b, err := proto.Marshal(&logspb.LogsData{ResourceLogs: rls})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dump renders a push request one line per entry, "labels ts line {metadata}", for
// comparisons whose failures show what differs.
func dump(req *logproto.PushRequest) string {
	var b strings.Builder
	for _, s := range req.Streams {
		for _, e := range s.Entries {
			fmt.Fprintf(&b, "%s %d %q %s\n", s.Labels, e.Timestamp, e.Line, metaString(e.StructuredMetadata))
		}
	}
	return b.String()
}

func metaString(ls labels.Labels) string {
	var parts []string
	ls.Range(func(l labels.Label) { parts = append(parts, fmt.Sprintf("%s=%q", l.Name, l.Value)) })
	return "{" + strings.Join(parts, ", ") + "}"
}
