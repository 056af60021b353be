package push_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/push"
)

func sampleRequest() *logproto.PushRequest {
	return &logproto.PushRequest{Streams: []logproto.Stream{
		{Labels: `{app="api", pod="api-1"}`, Entries: []logproto.Entry{
			{Timestamp: 1700000000123456789, Line: "GET /healthz 200"},
			{Timestamp: 1700000000123456790, Line: "level=info msg=\"ok\"", StructuredMetadata: labels.FromStrings("trace_id", "abc", "user", "u1")},
			{Timestamp: -1500000000, Line: "before the epoch"},
			{Timestamp: 0, Line: ""},
		}},
		{Labels: `{app="db"}`, Entries: []logproto.Entry{{Timestamp: 1, Line: "x"}}},
	}}
}

func equalRequests(t *testing.T, got, want *logproto.PushRequest) {
	t.Helper()
	if len(got.Streams) != len(want.Streams) {
		t.Fatalf("got %d streams, want %d", len(got.Streams), len(want.Streams))
	}
	for i := range want.Streams {
		g, w := got.Streams[i], want.Streams[i]
		if g.Labels != w.Labels || len(g.Entries) != len(w.Entries) {
			t.Fatalf("stream %d = %s with %d entries, want %s with %d", i, g.Labels, len(g.Entries), w.Labels, len(w.Entries))
		}
		for j := range w.Entries {
			ge, we := g.Entries[j], w.Entries[j]
			if ge.Timestamp != we.Timestamp || ge.Line != we.Line || !labels.Equal(ge.StructuredMetadata, we.StructuredMetadata) {
				t.Errorf("stream %d entry %d = %+v, want %+v", i, j, ge, we)
			}
		}
	}
}

func TestProtoRoundTrip(t *testing.T) {
	want := sampleRequest()
	var got logproto.PushRequest
	if err := push.UnmarshalProto(push.AppendProto(nil, want), &got); err != nil {
		t.Fatal(err)
	}
	equalRequests(t, &got, want)
}

func TestDecodeRequest(t *testing.T) {
	want := sampleRequest()
	jsonBody := `{"streams":[
		{"stream":{"pod":"api-1","app":"api"},"values":[
			["1700000000123456789","GET /healthz 200"],
			["1700000000123456790","level=info msg=\"ok\"",{"user":"u1","trace_id":"abc"}],
			["-1500000000","before the epoch"],
			[0,""]]},
		{"stream":{"app":"db"},"values":[["1","x"]]}]}`
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		return buf.Bytes()
	}
	cases := []struct {
		name, contentType, encoding string
		body                        []byte
	}{
		{"protobuf", push.ContentTypeProto, "", push.Encode(want)},
		{"protobuf without content type", "", "", push.Encode(want)},
		{"protobuf gzip", push.ContentTypeProto, "gzip", gz(push.Encode(want))},
		{"json", "application/json; charset=utf-8", "", []byte(jsonBody)},
		{"json gzip", push.ContentTypeJSON, "gzip", gz([]byte(jsonBody))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/loki/api/v1/push", bytes.NewReader(tc.body))
			if tc.contentType != "" {
				r.Header.Set("Content-Type", tc.contentType)
			}
			if tc.encoding != "" {
				r.Header.Set("Content-Encoding", tc.encoding)
			}
			got, err := push.DecodeRequest(r, 1<<20)
			if err != nil {
				t.Fatalf("DecodeRequest: %v", err)
			}
			equalRequests(t, got, want)
		})
	}
}

func TestDecodeLegacyJSON(t *testing.T) {
	body := `{"streams":[{"labels":"{foo=\"bar\"}","entries":[{"ts":"2018-12-18T08:28:06.801064-04:00","line":"fizzbuzz"}]}]}`
	var req logproto.PushRequest
	if err := push.UnmarshalJSON([]byte(body), &req); err != nil {
		t.Fatal(err)
	}
	want := logproto.PushRequest{Streams: []logproto.Stream{{Labels: `{foo="bar"}`, Entries: []logproto.Entry{{Timestamp: 1545136086801064000, Line: "fizzbuzz"}}}}}
	if !reflect.DeepEqual(req, want) {
		t.Fatalf("got %+v, want %+v", req, want)
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		name, contentType, encoding, body string
		want                              error
	}{
		{"bad json", "application/json", "", `{"streams":[`, push.ErrMalformed},
		{"json value too short", "application/json", "", `{"streams":[{"stream":{"a":"b"},"values":[["1"]]}]}`, push.ErrMalformed},
		{"json bad timestamp", "application/json", "", `{"streams":[{"stream":{"a":"b"},"values":[["yesterday","x"]]}]}`, push.ErrMalformed},
		{"json line not string", "application/json", "", `{"streams":[{"stream":{"a":"b"},"values":[["1",5]]}]}`, push.ErrMalformed},
		{"not snappy", "application/x-protobuf", "", "\xff\xff\xff\xff\xff", push.ErrMalformed},
		{"not gzip", "application/json", "gzip", `{}`, push.ErrMalformed},
		{"bad protobuf", "application/x-protobuf", "", string(snappy.Encode(nil, []byte{0x0a, 0xff})), push.ErrMalformed},
		{"unknown content type", "text/plain", "", "hi", push.ErrUnsupported},
		{"unknown encoding", "application/json", "br", "hi", push.ErrUnsupported},
		{"too large", "application/json", "", `{"streams":[]}` + strings.Repeat(" ", 2000), push.ErrTooLarge},
		{"snappy claims too large", "application/x-protobuf", "", string(snappy.Encode(nil, make([]byte, 5000))), push.ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/loki/api/v1/push", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", tc.contentType)
			if tc.encoding != "" {
				r.Header.Set("Content-Encoding", tc.encoding)
			}
			_, err := push.DecodeRequest(r, 1024)
			if !errors.Is(err, tc.want) {
				t.Fatalf("DecodeRequest = %v, want %v", err, tc.want)
			}
		})
	}
}

func FuzzUnmarshalProto(f *testing.F) {
	f.Add(push.AppendProto(nil, sampleRequest()))
	f.Add([]byte{0x0a, 0x02, 0x12, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		var req logproto.PushRequest
		if err := push.UnmarshalProto(b, &req); err != nil {
			return
		}
		// What decodes must encode and decode again to the same value.
		var again logproto.PushRequest
		if err := push.UnmarshalProto(push.AppendProto(nil, &req), &again); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		equalRequests(t, &again, &req)
	})
}

func FuzzUnmarshalJSON(f *testing.F) {
	f.Add([]byte(`{"streams":[{"stream":{"a":"b"},"values":[["1","x",{"k":"v"}]]}]}`))
	f.Add([]byte(`{"streams":[{"labels":"{a=\"b\"}","entries":[{"ts":"2018-12-18T08:28:06Z","line":"x"}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var req logproto.PushRequest
		_ = push.UnmarshalJSON(b, &req)
	})
}

func benchRequest(streams, entries int) *logproto.PushRequest {
	req := &logproto.PushRequest{}
	for s := 0; s < streams; s++ {
		st := logproto.Stream{Labels: fmt.Sprintf(`{namespace="prod", app="app-%d", pod="app-%d-7d9f8b6c5-x2x4q", container="main"}`, s, s)}
		for e := 0; e < entries; e++ {
			st.Entries = append(st.Entries, logproto.Entry{
				Timestamp: 1700000000000000000 + int64(e)*1e6,
				Line:      fmt.Sprintf(`10.0.%d.%d - - [14/Nov/2023:22:13:20 +0000] "GET /api/v1/users/%d HTTP/1.1" 200 %d "-" "Mozilla/5.0 (X11; Linux x86_64)"`, s, e%255, e, 1000+e),
			})
		}
		req.Streams = append(req.Streams, st)
	}
	return req
}

func BenchmarkDecodeProto(b *testing.B) {
	body := push.Encode(benchRequest(10, 400))
	raw, _ := snappy.Decode(nil, body)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	rd := bytes.NewReader(body)
	r, _ := http.NewRequest(http.MethodPost, "/", rd)
	r.Header.Set("Content-Type", push.ContentTypeProto)
	for b.Loop() {
		rd.Reset(body)
		d, err := push.Decode(r, 100<<20)
		if err != nil {
			b.Fatal(err)
		}
		d.Release()
	}
}

// TestDecodePooled checks that pooled bodies decode correctly when reused.
func TestDecodePooled(t *testing.T) {
	want := sampleRequest()
	body := push.Encode(want)
	rd := bytes.NewReader(body)
	r, _ := http.NewRequest(http.MethodPost, "/", rd)
	r.Header.Set("Content-Type", push.ContentTypeProto)
	for i := 0; i < 3; i++ {
		rd.Reset(body)
		d, err := push.Decode(r, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		equalRequests(t, &d.Request, want)
		d.Release()
	}
}

func BenchmarkEncode(b *testing.B) {
	req := benchRequest(10, 400)
	raw := push.AppendProto(nil, req)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	buf := make([]byte, 0, len(raw))
	for b.Loop() {
		buf = push.AppendProto(buf[:0], req)
	}
}

// TestEncoderReuse checks that an Encoder's bodies decode to their requests, when it encodes a
// big request after a small one and a small one after a big one (reused, shrinking buffers).
func TestEncoderReuse(t *testing.T) {
	small := sampleRequest()
	big := &logproto.PushRequest{Streams: []logproto.Stream{{Labels: `{app="big"}`}}}
	for i := 0; i < 5000; i++ {
		big.Streams[0].Entries = append(big.Streams[0].Entries, logproto.Entry{Timestamp: int64(i), Line: strings.Repeat("y", i%300)})
	}
	var enc push.Encoder
	for _, want := range []*logproto.PushRequest{small, big, small} {
		body := enc.Encode(want)
		if !bytes.Equal(body, push.Encode(want)) {
			t.Fatal("Encoder.Encode differs from Encode")
		}
		raw, err := snappy.Decode(nil, body)
		if err != nil {
			t.Fatal(err)
		}
		var got logproto.PushRequest
		if err := push.UnmarshalProto(raw, &got); err != nil {
			t.Fatal(err)
		}
		equalRequests(t, &got, want)
	}
}
