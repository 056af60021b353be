package wal

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/race"
)

// sameRecord reports how got differs from the tenant and streams that were encoded, or "".
func sameRecord(got *Record, tenant string, want []logproto.Stream) string {
	if got.Tenant != tenant {
		return fmt.Sprintf("tenant %q, want %q", got.Tenant, tenant)
	}
	if len(got.Streams) != len(want) {
		return fmt.Sprintf("%d streams, want %d", len(got.Streams), len(want))
	}
	for i := range want {
		g, w := got.Streams[i], want[i]
		if g.Labels != w.Labels {
			return fmt.Sprintf("stream %d labels %q, want %q", i, g.Labels, w.Labels)
		}
		if len(g.Entries) != len(w.Entries) {
			return fmt.Sprintf("stream %d: %d entries, want %d", i, len(g.Entries), len(w.Entries))
		}
		for j := range w.Entries {
			ge, we := g.Entries[j], w.Entries[j]
			if ge.Timestamp != we.Timestamp || ge.Line != we.Line || !labels.Equal(ge.StructuredMetadata, we.StructuredMetadata) {
				return fmt.Sprintf("stream %d entry %d = %+v, want %+v", i, j, ge, we)
			}
		}
	}
	return ""
}

func testStreams() []logproto.Stream {
	return []logproto.Stream{
		{Labels: `{app="api", pod="api-1"}`, Entries: []logproto.Entry{
			{Timestamp: 1700000000000000000, Line: "GET /health 200"},
			{Timestamp: 1700000000000000001, Line: "GET /users 500", StructuredMetadata: labels.FromStrings("trace_id", "abc123", "user", "7")},
			{Timestamp: 1699999999000000000, Line: "out of order"},
		}},
		{Labels: `{app="db"}`, Entries: []logproto.Entry{
			{Timestamp: 5, Line: ""},
		}},
	}
}

func TestRecordRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		tenant  string
		streams []logproto.Stream
	}{
		{"no streams", "t1", nil},
		{"empty tenant", "", testStreams()},
		{"typical", "team-a", testStreams()},
		{"stream without entries", "t", []logproto.Stream{{Labels: `{a="b"}`}}},
		{"extreme timestamps", "t", []logproto.Stream{{Labels: `{a="b"}`, Entries: []logproto.Entry{
			{Timestamp: math.MaxInt64, Line: "max"},
			{Timestamp: math.MinInt64, Line: "min"},
			{Timestamp: 0, Line: "zero"},
			{Timestamp: -1, Line: "negative"},
		}}}},
		{"long line and unicode", "tenant-ü", []logproto.Stream{{Labels: `{job="ü"}`, Entries: []logproto.Entry{
			{Timestamp: 1, Line: strings.Repeat("x", 100000)},
			{Timestamp: 2, Line: "日本語\x00\xff"},
		}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := AppendRecord(nil, tc.tenant, tc.streams)
			if size := RecordSize(tc.tenant, tc.streams); size < len(b) {
				t.Errorf("RecordSize = %d, below the %d bytes AppendRecord wrote", size, len(b))
			}
			var d Decoder
			for _, alias := range []bool{false, true} {
				decode := d.Decode
				if alias {
					decode = d.DecodeAlias
				}
				got, err := decode(b)
				if err != nil {
					t.Fatalf("decode (alias %v): %v", alias, err)
				}
				if diff := sameRecord(got, tc.tenant, tc.streams); diff != "" {
					t.Errorf("decode (alias %v): %s", alias, diff)
				}
			}
		})
	}
}

func TestRecordAppendKeepsPrefix(t *testing.T) {
	prefix := []byte("prefix")
	b := AppendRecord(append([]byte(nil), prefix...), "t", testStreams())
	if string(b[:len(prefix)]) != "prefix" {
		t.Fatalf("AppendRecord overwrote dst's prefix: %q", b[:len(prefix)])
	}
	var d Decoder
	got, err := d.Decode(b[len(prefix):])
	if err != nil {
		t.Fatal(err)
	}
	if diff := sameRecord(got, "t", testStreams()); diff != "" {
		t.Error(diff)
	}
}

// Decode's strings must survive the input buffer being overwritten; DecodeAlias's need not.
func TestDecodeCopiesInput(t *testing.T) {
	b := AppendRecord(nil, "tenant", testStreams())
	var d Decoder
	got, err := d.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	tenant, lbls, line := got.Tenant, got.Streams[0].Labels, got.Streams[0].Entries[1].Line
	meta := got.Streams[0].Entries[1].StructuredMetadata
	for i := range b {
		b[i] = 'Z'
	}
	if tenant != "tenant" || lbls != `{app="api", pod="api-1"}` || line != "GET /users 500" || meta.Get("trace_id") != "abc123" {
		t.Errorf("strings changed after the input was overwritten: %q %q %q %v", tenant, lbls, line, meta)
	}
}

// The decoder reuses its slices: a second, smaller record must not show the first one's data.
func TestDecoderReuse(t *testing.T) {
	var d Decoder
	big := AppendRecord(nil, "a", testStreams())
	small := AppendRecord(nil, "b", []logproto.Stream{{Labels: `{x="y"}`, Entries: []logproto.Entry{{Timestamp: 9, Line: "only"}}}})
	for i := 0; i < 3; i++ {
		got, err := d.Decode(big)
		if err != nil {
			t.Fatal(err)
		}
		if diff := sameRecord(got, "a", testStreams()); diff != "" {
			t.Fatalf("round %d big: %s", i, diff)
		}
		got, err = d.Decode(small)
		if err != nil {
			t.Fatal(err)
		}
		if diff := sameRecord(got, "b", []logproto.Stream{{Labels: `{x="y"}`, Entries: []logproto.Entry{{Timestamp: 9, Line: "only"}}}}); diff != "" {
			t.Fatalf("round %d small: %s", i, diff)
		}
	}
}

func TestDecodeCorrupt(t *testing.T) {
	good := AppendRecord(nil, "tenant", testStreams())
	check := func(name string, b []byte) {
		t.Helper()
		var d Decoder
		if _, err := d.Decode(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Decode(%x) error = %v, want ErrCorrupt", name, b, err)
		}
	}
	check("empty", nil)
	check("bad version", append([]byte{2}, good[1:]...))
	check("trailing byte", append(append([]byte(nil), good...), 0))
	check("huge stream count", []byte{1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	check("huge string", []byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	check("varint overflow", []byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02})
	for n := 0; n < len(good); n++ {
		check(fmt.Sprintf("cut at %d", n), good[:n])
	}
}

func TestRecordAllocs(t *testing.T) {
	race.SkipAllocs(t)
	streams := benchStreams(4, 64, 200)
	buf := AppendRecord(nil, "tenant", streams)
	if n := testing.AllocsPerRun(100, func() { buf = AppendRecord(buf[:0], "tenant", streams) }); n != 0 {
		t.Errorf("AppendRecord into a large enough buffer: %v allocs, want 0", n)
	}
	var d Decoder
	if _, err := d.DecodeAlias(buf); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() {
		if _, err := d.DecodeAlias(buf); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("DecodeAlias with warm decoder: %v allocs, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		if _, err := d.Decode(buf); err != nil {
			t.Fatal(err)
		}
	}); n != 1 {
		t.Errorf("Decode with warm decoder: %v allocs, want 1 (the copy of the input)", n)
	}
}

// benchStreams builds streams entries with lines of lineLen bytes and no structured metadata.
func benchStreams(streams, entries, lineLen int) []logproto.Stream {
	out := make([]logproto.Stream, streams)
	line := strings.Repeat("level=info msg=\"request served\" ", lineLen/32+1)[:lineLen]
	for i := range out {
		out[i].Labels = fmt.Sprintf(`{app="svc-%d", namespace="prod", pod="svc-%d-7d9f"}`, i, i)
		out[i].Entries = make([]logproto.Entry, entries)
		for j := range out[i].Entries {
			out[i].Entries[j] = logproto.Entry{Timestamp: 1700000000000000000 + int64(j)*1000003, Line: line}
		}
	}
	return out
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(AppendRecord(nil, "tenant", testStreams()))
	f.Add(AppendRecord(nil, "", nil))
	f.Add([]byte{})
	f.Add([]byte{1, 0, 1, 0, 1, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Decoder
		got, err := d.Decode(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decode error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		tenant, streams := got.Tenant, cloneStreams(got.Streams)
		again := AppendRecord(nil, tenant, streams)
		var d2 Decoder
		got2, err := d2.DecodeAlias(again)
		if err != nil {
			t.Fatalf("decode of re-encoded record: %v", err)
		}
		if diff := sameRecord(got2, tenant, streams); diff != "" {
			t.Fatalf("decode, encode, decode: %s", diff)
		}
	})
}

func cloneStreams(in []logproto.Stream) []logproto.Stream {
	out := make([]logproto.Stream, len(in))
	for i, s := range in {
		out[i] = logproto.Stream{Labels: s.Labels, Entries: append([]logproto.Entry(nil), s.Entries...)}
	}
	return out
}

// The worked example in FORMAT.md, byte for byte.
func TestRecordFormatExample(t *testing.T) {
	got := AppendRecord(nil, "t", []logproto.Stream{{Labels: `{a="b"}`, Entries: []logproto.Entry{
		{Timestamp: 100, Line: "hi"},
		{Timestamp: 105, Line: "yo", StructuredMetadata: labels.FromStrings("trace", "1")},
	}}})
	want := []byte{
		0x01,
		0x01, 't',
		0x01,
		0x07, '{', 'a', '=', '"', 'b', '"', '}',
		0x02,
		0xc8, 0x01, 0x02, 'h', 'i', 0x00,
		0x0a, 0x02, 'y', 'o', 0x01, 0x05, 't', 'r', 'a', 'c', 'e', 0x01, '1',
	}
	if string(got) != string(want) {
		t.Errorf("AppendRecord = % x\nwant            % x", got, want)
	}
}
