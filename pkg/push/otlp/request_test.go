package otlp_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/push"
	"github.com/sluicelog/sluice/pkg/push/otlp"
)

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zstded(t testing.TB, b []byte) []byte {
	t.Helper()
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zw.Close()
	return zw.EncodeAll(b, nil)
}

func lz4ed(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := lz4.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decode(t *testing.T, contentType, encoding string, body []byte, maxBytes int64) (string, error) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/otlp/v1/logs", bytes.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if encoding != "" {
		r.Header.Set("Content-Encoding", encoding)
	}
	b, err := otlp.Decode(r, maxBytes, defaultConfig())
	if err != nil {
		return "", err
	}
	defer b.Release()
	return dump(&b.Request), nil
}

func TestDecode(t *testing.T) {
	pb := marshal(t, resourceLogs([]*commonpb.KeyValue{kv("service.name", sv("svc"))},
		scopeLogs(nil, &logspb.LogRecord{TimeUnixNano: t0, Body: sv("hello")})))
	js := []byte(`{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeLogs":[{"logRecords":[{"timeUnixNano":"1700000000123456789","body":{"stringValue":"hello"}}]}]}]}`)
	const want = `{service_name="svc"} 1700000000123456789 "hello" {}` + "\n"
	for _, c := range []struct {
		name, contentType, encoding string
		body                        []byte
	}{
		{"protobuf", "application/x-protobuf", "", pb},
		{"protobuf gzip", "application/x-protobuf", "gzip", gzipped(t, pb)},
		{"protobuf zstd", "application/x-protobuf", "zstd", zstded(t, pb)},
		{"protobuf lz4", "application/x-protobuf", "lz4", lz4ed(t, pb)},
		{"json", "application/json", "", js},
		{"json gzip", "application/json", "gzip", gzipped(t, js)},
		{"json with a charset", "application/json; charset=utf-8", "", js},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := decode(t, c.contentType, c.encoding, c.body, 1<<20)
			if err != nil || got != want {
				t.Fatalf("Decode = %q, %v; want %q", got, err, want)
			}
		})
	}

	// The pool hands the same Body back: a second, different request must not see the first.
	t.Run("reused bodies", func(t *testing.T) {
		for range 3 {
			if got, err := decode(t, "application/x-protobuf", "", pb, 1<<20); err != nil || got != want {
				t.Fatalf("Decode = %q, %v", got, err)
			}
			if got, err := decode(t, "application/x-protobuf", "", nil, 1<<20); err != nil || got != "" {
				t.Fatalf("Decode(empty) = %q, %v", got, err)
			}
		}
	})

	var status interface{ StatusCode() int }
	for _, c := range []struct {
		name, contentType, encoding string
		body                        []byte
		check                       func(error) bool
	}{
		// Loki answers 400 to an encoding it does not take, deflate and snappy included.
		{"deflate", "application/x-protobuf", "deflate", pb, func(err error) bool { return errors.As(err, &status) && status.StatusCode() == 400 }},
		{"snappy", "application/x-protobuf", "snappy", pb, func(err error) bool { return errors.As(err, &status) && status.StatusCode() == 400 }},
		{"no content type", "", "", pb, func(err error) bool { return errors.As(err, &status) && status.StatusCode() == 400 }},
		{"text/plain", "text/plain", "", pb, func(err error) bool { return errors.As(err, &status) && status.StatusCode() == 400 }},
		{"Loki's push body", "application/x-protobuf", "", []byte{0xff, 0x01}, func(err error) bool { return errors.Is(err, push.ErrMalformed) }},
		{"corrupt gzip", "application/x-protobuf", "gzip", []byte("not gzip"), func(err error) bool { return errors.Is(err, push.ErrMalformed) }},
		{"corrupt zstd", "application/x-protobuf", "zstd", []byte("not zstd at all"), func(err error) bool { return errors.Is(err, push.ErrMalformed) }},
		{"truncated gzip", "application/x-protobuf", "gzip", gzipped(t, pb)[:20], func(err error) bool { return errors.Is(err, push.ErrMalformed) }},
		{"too large", "application/x-protobuf", "", bytes.Repeat([]byte{0}, 101), func(err error) bool { return errors.Is(err, push.ErrTooLarge) }},
		{"too large once decompressed", "application/x-protobuf", "gzip", gzipped(t, bytes.Repeat(varint(99, 1), 60)), func(err error) bool { return errors.Is(err, push.ErrTooLarge) }},
		{"too large zstd", "application/json", "zstd", zstded(t, bytes.Repeat([]byte(" "), 101)), func(err error) bool { return errors.Is(err, push.ErrTooLarge) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := decode(t, c.contentType, c.encoding, c.body, 100)
			if err == nil || !c.check(err) {
				t.Fatalf("Decode = %q, %v; want a %s error", got, err, c.name)
			}
		})
	}
}

// BenchmarkDecode decodes and maps a 1 MiB request like those of the OpenTelemetry Collector
// tailing Kubernetes pods: ten resources with the usual k8s attributes, each a scope and
// records with a JSON line, a few attributes, severity and trace context.
func BenchmarkDecode(b *testing.B) {
	body := realisticRequest(b, 1<<20)
	records := 0
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/otlp/v1/logs", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/x-protobuf")
		d, err := otlp.Decode(r, 100<<20, defaultConfig())
		if err != nil {
			b.Fatal(err)
		}
		records = 0
		for _, s := range d.Request.Streams {
			records += len(s.Entries)
		}
		d.Release()
	}
	b.ReportMetric(float64(records), "records/op")
}

// realisticRequest returns a protobuf request of about size bytes.
func realisticRequest(tb testing.TB, size int) []byte {
	tb.Helper()
	var rls []*logspb.ResourceLogs
	total := 0
	for i := 0; total < size; i++ {
		pod := "checkout-7d9f8c6b5-" + string(rune('a'+i%26))
		var records []*logspb.LogRecord
		for j := range 300 {
			records = append(records, &logspb.LogRecord{
				TimeUnixNano: uint64(t0 + i*1000 + j), ObservedTimeUnixNano: uint64(t0 + i*1000 + j + 5),
				SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_INFO, SeverityText: "INFO",
				Body: sv(`{"level":"info","ts":"2024-05-01T10:00:00.123Z","msg":"request served","method":"GET","path":"/api/v1/cart/items","status":200,"duration_ms":12.5}`),
				Attributes: []*commonpb.KeyValue{
					kv("log.file.path", sv("/var/log/pods/shop_"+pod+"/checkout/0.log")),
					kv("log.iostream", sv("stdout")), kv("logtag", sv("F")),
					kv("http.status_code", iv(200)), kv("user.id", sv("u-12345")),
				},
				TraceId: traceID, SpanId: spanID, Flags: 1,
			})
		}
		rl := resourceLogs([]*commonpb.KeyValue{
			kv("service.name", sv("checkout")), kv("service.namespace", sv("shop")), kv("k8s.namespace.name", sv("shop")),
			kv("k8s.pod.name", sv(pod)), kv("k8s.container.name", sv("checkout")), kv("k8s.node.name", sv("node-3")),
			kv("k8s.pod.uid", sv("0b8f5e0a-8d4e-4a52-9d2c-7f6f0b1a2c3d")), kv("container.image.name", sv("registry/checkout")),
			kv("host.arch", sv("amd64")), kv("os.type", sv("linux")),
		}, scopeLogs(&commonpb.InstrumentationScope{Name: "otelcol/filelogreceiver", Version: "0.98.0"}, records...))
		rls = append(rls, rl)
		total = len(marshal(tb, rls...))
	}
	return marshal(tb, rls...)
}

// BenchmarkDecodeParts times the two steps of BenchmarkDecode apart: protobuf to Logs, and
// Logs to streams.
func BenchmarkDecodeParts(b *testing.B) {
	body := realisticRequest(b, 1<<20)
	b.Run("unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		var l otlp.Logs
		for b.Loop() {
			if err := otlp.UnmarshalProto(body, &l); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("map", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		var l otlp.Logs
		if err := otlp.UnmarshalProto(body, &l); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			var req logproto.PushRequest
			if err := otlp.Map(&l, defaultConfig(), &req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
