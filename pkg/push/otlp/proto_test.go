package otlp_test

import (
	"errors"
	"strings"
	"testing"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/sluicelog/sluice/pkg/push"
	"github.com/sluicelog/sluice/pkg/push/otlp"
)

// Hand-written protobuf, for what proto.Marshal will not write.
func tag(num protowire.Number, typ protowire.Type) []byte { return protowire.AppendTag(nil, num, typ) }
func msg(num protowire.Number, parts ...[]byte) []byte {
	var body []byte
	for _, p := range parts {
		body = append(body, p...)
	}
	return protowire.AppendBytes(tag(num, protowire.BytesType), body)
}
func str(num protowire.Number, s string) []byte { return msg(num, []byte(s)) }
func varint(num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(tag(num, protowire.VarintType), v)
}
func fixed64(num protowire.Number, v uint64) []byte {
	return protowire.AppendFixed64(tag(num, protowire.Fixed64Type), v)
}

// record wraps LogRecord fields in a request.
func record(fields ...[]byte) []byte {
	return msg(1, msg(2, msg(2, fields...)))
}

func TestUnmarshalProto(t *testing.T) {
	valid := marshal(t, resourceLogs([]*commonpb.KeyValue{kv("service.name", sv("svc"))},
		scopeLogs(&commonpb.InstrumentationScope{Name: "s"}, &logspb.LogRecord{TimeUnixNano: t0, Body: sv("line"), TraceId: traceID, SpanId: spanID})))

	t.Run("empty body", func(t *testing.T) {
		var l otlp.Logs
		if err := otlp.UnmarshalProto(nil, &l); err != nil || len(l.Resources) != 0 {
			t.Fatalf("UnmarshalProto(nil) = %v with %d resources", err, len(l.Resources))
		}
	})

	t.Run("unknown fields are skipped at every level", func(t *testing.T) {
		unknown := append(varint(99, 7), str(98, "x")...)
		unknown = append(unknown, fixed64(97, 1)...)
		unknown = append(unknown, protowire.AppendFixed32(tag(96, protowire.Fixed32Type), 1)...)
		// A group, a wire type no OTLP message uses.
		unknown = append(unknown, append(tag(95, protowire.StartGroupType), append(varint(1, 1), tag(95, protowire.EndGroupType)...)...)...)
		body := append([]byte(nil), unknown...)
		body = append(body, msg(1, unknown,
			msg(1, unknown, msg(1, str(1, "service.name"), msg(2, str(1, "svc"), unknown), unknown)),
			str(3, "https://schema"),
			msg(2, unknown, str(3, "https://schema"),
				msg(1, str(1, "scope"), unknown),
				msg(2, unknown, fixed64(1, t0), msg(5, str(1, "line"), unknown, varint(8, 3))),
			),
		)...)
		req, err := mapProto(t, body, defaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		checkDump(t, req, `
{service_name="svc"} 1700000000123456789 "line" {scope_name="scope"}
`)
	})

	t.Run("merges and last values", func(t *testing.T) {
		// A resource (or scope) sent twice is one, its attributes together; of a value's
		// oneof, the last field wins; a second body that sets nothing keeps the first.
		body := msg(1,
			msg(1, msg(1, str(1, "service.name"), msg(2, str(1, "svc")))),
			msg(2,
				msg(2, fixed64(1, t0), msg(5, str(1, "first")), msg(5, varint(3, 5), str(1, "last")), msg(5, varint(99, 1)),
					msg(6, str(1, "a"), msg(2, str(1, "x"), varint(3, 7)))),
				msg(1, str(1, "scope-a"), msg(3, str(1, "sa"), msg(2, str(1, "1")))),
				msg(1, str(1, "scope-b"), msg(3, str(1, "sb"), msg(2, str(1, "2")))),
			),
			msg(1, msg(1, str(1, "host.name"), msg(2, str(1, "h")))),
		)
		req, err := mapProto(t, body, defaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		checkDump(t, req, `
{service_name="svc"} 1700000000123456789 "last" {a="7", host_name="h", sa="1", sb="2", scope_name="scope-b"}
`)
	})

	for _, c := range []struct {
		name, want string
		body       []byte
	}{
		{"bad tag", "request", []byte{0x00}},
		{"truncated length", "request", append(tag(1, protowire.BytesType), 0x05, 0x01)},
		{"varint too long", "request", append(tag(99, protowire.VarintType), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)},
		{"resource_logs as a varint", "wire type", varint(1, 1)},
		{"time_unix_nano as a varint", "wire type", record(varint(1, t0))},
		{"flags as a varint", "wire type", record(varint(8, 1))},
		{"severity_number as bytes", "wire type", record(str(2, "x"))},
		{"int value as fixed64", "wire type", record(msg(5, fixed64(3, 1)))},
		{"trace_id of 5 bytes", "trace_id has 5 bytes, want 16", record(str(9, "12345"))},
		{"span_id of 16 bytes", "span_id has 16 bytes, want 8", record(msg(10, traceID))},
		{"truncated attribute", "log record", record(append(tag(6, protowire.BytesType), 0x10, 0x0a))},
		{"end of an unopened group", "request", tag(5, protowire.EndGroupType)},
	} {
		t.Run(c.name, func(t *testing.T) {
			var l otlp.Logs
			err := otlp.UnmarshalProto(c.body, &l)
			if !errors.Is(err, push.ErrMalformed) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("UnmarshalProto = %v, want a malformed-body error mentioning %q", err, c.want)
			}
		})
	}

	t.Run("nesting deeper than the limit", func(t *testing.T) {
		// An array in an array in ... 101 levels; built from the inside out.
		v := []byte{}
		for range 101 {
			v = msg(5, msg(1, v)) // AnyValue{array_value: ArrayValue{values: [v]}}
		}
		var l otlp.Logs
		err := otlp.UnmarshalProto(record(msg(5, v)), &l)
		if !errors.Is(err, push.ErrMalformed) || !strings.Contains(err.Error(), "deeper than") {
			t.Fatalf("UnmarshalProto = %v, want a depth error", err)
		}
	})

	t.Run("every truncation fails cleanly or decodes", func(t *testing.T) {
		var l otlp.Logs
		for n := range len(valid) {
			if err := otlp.UnmarshalProto(valid[:n], &l); err != nil && !errors.Is(err, push.ErrMalformed) {
				t.Fatalf("UnmarshalProto(first %d bytes) = %v, want nil or a malformed-body error", n, err)
			}
		}
	})
}
