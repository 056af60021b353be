package otlp_test

import (
	"bytes"
	"errors"
	"testing"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/push"
	"github.com/sluicelog/sluice/pkg/push/otlp"
)

// encode writes l back as protobuf, deterministically, for the fuzzer's round trip: fields in
// number order, zero scalars and empty bodies left out.
func encode(l *otlp.Logs) []byte {
	var b []byte
	for i := range l.Resources {
		r := &l.Resources[i]
		var rl []byte
		rl = protowire.AppendTag(rl, 1, protowire.BytesType)
		rl = protowire.AppendBytes(rl, encodeAttrs(nil, 1, l, r.Attributes))
		for j := range l.ResourceScopes(r) {
			rl = protowire.AppendTag(rl, 2, protowire.BytesType)
			rl = protowire.AppendBytes(rl, encodeScope(l, &l.ResourceScopes(r)[j]))
		}
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, rl)
	}
	return b
}

func encodeScope(l *otlp.Logs, s *otlp.Scope) []byte {
	var sc []byte
	sc = appendString(sc, 1, s.Name)
	sc = appendString(sc, 2, s.Version)
	sc = encodeAttrs(sc, 3, l, s.Attributes)
	sc = appendVarint(sc, 4, uint64(s.DroppedAttributesCount))
	b := protowire.AppendTag(nil, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, sc)
	for _, r := range l.ScopeRecords(s) {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, encodeRecord(l, &r))
	}
	return b
}

func encodeRecord(l *otlp.Logs, r *otlp.Record) []byte {
	var b []byte
	if r.TimeUnixNano != 0 {
		b = protowire.AppendFixed64(protowire.AppendTag(b, 1, protowire.Fixed64Type), r.TimeUnixNano)
	}
	b = appendVarint(b, 2, uint64(r.SeverityNumber))
	b = appendString(b, 3, r.SeverityText)
	if r.Body.Kind != otlp.KindEmpty {
		b = protowire.AppendTag(b, 5, protowire.BytesType)
		b = protowire.AppendBytes(b, encodeValue(l, r.Body))
	}
	b = encodeAttrs(b, 6, l, r.Attributes)
	b = appendVarint(b, 7, uint64(r.DroppedAttributesCount))
	if r.Flags != 0 {
		b = protowire.AppendFixed32(protowire.AppendTag(b, 8, protowire.Fixed32Type), r.Flags)
	}
	if r.TraceID != ([16]byte{}) {
		b = appendString(b, 9, string(r.TraceID[:]))
	}
	if r.SpanID != ([8]byte{}) {
		b = appendString(b, 10, string(r.SpanID[:]))
	}
	if r.ObservedTimeUnixNano != 0 {
		b = protowire.AppendFixed64(protowire.AppendTag(b, 11, protowire.Fixed64Type), r.ObservedTimeUnixNano)
	}
	return appendString(b, 12, r.EventName)
}

func encodeAttrs(b []byte, num protowire.Number, l *otlp.Logs, s otlp.Span) []byte {
	for _, kv := range l.Attrs(s) {
		e := appendString(nil, 1, kv.Key)
		e = protowire.AppendTag(e, 2, protowire.BytesType)
		e = protowire.AppendBytes(e, encodeValue(l, kv.Value))
		b = protowire.AppendTag(b, num, protowire.BytesType)
		b = protowire.AppendBytes(b, e)
	}
	return b
}

func encodeValue(l *otlp.Logs, v otlp.Value) []byte {
	var b []byte
	switch v.Kind {
	case otlp.KindString:
		b = protowire.AppendString(protowire.AppendTag(b, 1, protowire.BytesType), v.Str)
	case otlp.KindBool:
		b = protowire.AppendVarint(protowire.AppendTag(b, 2, protowire.VarintType), v.Num)
	case otlp.KindInt:
		b = protowire.AppendVarint(protowire.AppendTag(b, 3, protowire.VarintType), v.Num)
	case otlp.KindDouble:
		b = protowire.AppendFixed64(protowire.AppendTag(b, 4, protowire.Fixed64Type), v.Num)
	case otlp.KindArray:
		var a []byte
		for _, e := range l.Elems(v.List) {
			a = protowire.AppendTag(a, 1, protowire.BytesType)
			a = protowire.AppendBytes(a, encodeValue(l, e))
		}
		b = protowire.AppendBytes(protowire.AppendTag(b, 5, protowire.BytesType), a)
	case otlp.KindMap:
		b = protowire.AppendBytes(protowire.AppendTag(b, 6, protowire.BytesType), encodeAttrs(nil, 1, l, v.List))
	case otlp.KindBytes:
		b = protowire.AppendString(protowire.AppendTag(b, 7, protowire.BytesType), v.Str)
	}
	return b
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	return protowire.AppendString(protowire.AppendTag(b, num, protowire.BytesType), s)
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), v)
}

// FuzzDecode checks that no body makes the protobuf decoder or the mapping panic, that every
// refusal is a malformed-body error, and that decode, encode, decode gives the same value.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{})
	f.Add(marshal(f, resourceLogs([]*commonpb.KeyValue{kv("service.name", sv("svc")), kv("a.b", mapv(kv("c", arrv(iv(1), dv(2.5), bv(true), bytesv([]byte{1})))))},
		scopeLogs(&commonpb.InstrumentationScope{Name: "s", Version: "1", Attributes: []*commonpb.KeyValue{kv("x", sv("y"))}, DroppedAttributesCount: 1},
			&logspb.LogRecord{TimeUnixNano: t0, ObservedTimeUnixNano: obs, SeverityNumber: 9, SeverityText: "INFO", Body: mapv(kv("k", sv("v"))),
				Attributes: []*commonpb.KeyValue{kv("2", sv("")), kv("", iv(-1))}, DroppedAttributesCount: 2, Flags: 1, TraceId: traceID, SpanId: spanID, EventName: "e"}))))
	f.Add(realisticRequest(f, 4<<10))
	f.Add(record(str(9, "12345")))
	f.Add(msg(1, msg(1, msg(1, str(1, "k"), msg(2, msg(6, msg(1, str(1, "n"), msg(2, msg(5, msg(1)))))))), msg(2, msg(2, fixed64(1, t0)))))
	f.Fuzz(func(t *testing.T, body []byte) {
		var l otlp.Logs
		if err := otlp.UnmarshalProto(body, &l); err != nil {
			if !errors.Is(err, push.ErrMalformed) {
				t.Fatalf("UnmarshalProto = %v, not a malformed-body error", err)
			}
			return
		}
		enc := encode(&l)
		var again otlp.Logs
		if err := otlp.UnmarshalProto(enc, &again); err != nil {
			t.Fatalf("decoding the re-encoded body: %v", err)
		}
		if enc2 := encode(&again); !bytes.Equal(enc, enc2) {
			t.Fatalf("decode, encode, decode changed the request:\n%x\n%x", enc, enc2)
		}
		var req logproto.PushRequest
		if err := otlp.Map(&l, defaultConfig(), &req); err != nil && !errors.Is(err, push.ErrMalformed) {
			t.Fatalf("Map = %v, not a malformed-body error", err)
		}
	})
}
