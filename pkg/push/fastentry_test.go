package push

import (
	"math"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/sluicelog/sluice/pkg/logproto"
)

// entryBytes encodes an entry field by field, in the order given, as any protobuf writer
// might.
type field struct {
	num protowire.Number
	typ protowire.Type
	v   []byte // bytes for BytesType, varint value in vint otherwise
	n   uint64
}

func encode(fields ...field) []byte {
	var b []byte
	for _, f := range fields {
		b = protowire.AppendTag(b, f.num, f.typ)
		if f.typ == protowire.BytesType {
			b = protowire.AppendBytes(b, f.v)
		} else {
			b = protowire.AppendVarint(b, f.n)
		}
	}
	return b
}

func ts(fields ...field) field {
	return field{num: fieldEntryTimestamp, typ: protowire.BytesType, v: encode(fields...)}
}
func secs(v uint64) field  { return field{num: fieldTimestampSeconds, typ: protowire.VarintType, n: v} }
func nanos(v uint64) field { return field{num: fieldTimestampNanos, typ: protowire.VarintType, n: v} }
func line(s string) field  { return field{num: fieldEntryLine, typ: protowire.BytesType, v: []byte(s)} }

// The fast path takes what clients write and agrees with the general decoder on everything
// else it takes; the rest goes to the general decoder, whose result the stream decoder returns.
func TestFastEntry(t *testing.T) {
	long := string(make([]byte, 70000)) // a three-byte length
	pair := field{num: fieldEntryMetadata, typ: protowire.BytesType, v: encode(
		field{num: fieldPairName, typ: protowire.BytesType, v: []byte("trace_id")},
		field{num: fieldPairValue, typ: protowire.BytesType, v: []byte("abc")})}
	tests := []struct {
		name string
		b    []byte
		fast bool
		want logproto.Entry
	}{
		{"canonical", encode(ts(secs(1700000000), nanos(123456789)), line("GET / 200")), true,
			logproto.Entry{Timestamp: 1700000000123456789, Line: "GET / 200"}},
		{"long line", encode(ts(secs(1), nanos(2)), line(long)), true, logproto.Entry{Timestamp: 1e9 + 2, Line: long}},
		{"no nanos", encode(ts(secs(5)), line("x")), true, logproto.Entry{Timestamp: 5e9, Line: "x"}},
		{"no seconds", encode(ts(nanos(7)), line("x")), true, logproto.Entry{Timestamp: 7, Line: "x"}},
		{"zero timestamp", encode(ts(), line("x")), true, logproto.Entry{Line: "x"}},
		{"empty line omitted", encode(ts(secs(3))), true, logproto.Entry{Timestamp: 3e9}},
		{"negative nanos", encode(ts(secs(3), nanos(uint64(math.MaxUint64))), line("x")), true, logproto.Entry{Timestamp: 3e9 - 1, Line: "x"}},
		{"line first", encode(line("x"), ts(secs(3))), false, logproto.Entry{Timestamp: 3e9, Line: "x"}},
		{"nanos first", encode(ts(nanos(1), secs(3)), line("x")), false, logproto.Entry{Timestamp: 3e9 + 1, Line: "x"}},
		{"repeated line", encode(ts(secs(3)), line("a"), line("b")), false, logproto.Entry{Timestamp: 3e9, Line: "b"}},
		{"unknown field", encode(ts(secs(3)), line("x"), field{num: 9, typ: protowire.VarintType, n: 1}), false,
			logproto.Entry{Timestamp: 3e9, Line: "x"}},
		{"metadata", encode(ts(secs(3)), line("x"), pair), false,
			logproto.Entry{Timestamp: 3e9, Line: "x", StructuredMetadata: labels.FromStrings("trace_id", "abc")}},
		{"no timestamp", encode(line("x")), false, logproto.Entry{Line: "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var fast logproto.Entry
			if got := fastEntry(tc.b, &fast); got != tc.fast {
				t.Fatalf("fastEntry took it: %v, want %v", got, tc.fast)
			}
			if tc.fast && !sameEntry(fast, tc.want) {
				t.Errorf("fastEntry = %+v, want %+v", fast, tc.want)
			}
			var general logproto.Entry
			if err := unmarshalEntry(tc.b, &general); err != nil {
				t.Fatal(err)
			}
			if !sameEntry(general, tc.want) {
				t.Errorf("unmarshalEntry = %+v, want %+v", general, tc.want)
			}
			// Through a stream, which tries the fast path first.
			var s logproto.Stream
			if err := unmarshalStream(protowire.AppendBytes(protowire.AppendTag(nil, fieldStreamEntries, protowire.BytesType), tc.b), &s); err != nil {
				t.Fatal(err)
			}
			if len(s.Entries) != 1 || !sameEntry(s.Entries[0], tc.want) {
				t.Errorf("unmarshalStream = %+v, want one entry %+v", s.Entries, tc.want)
			}
		})
	}
}

func sameEntry(a, b logproto.Entry) bool {
	return a.Timestamp == b.Timestamp && a.Line == b.Line && labels.Equal(a.StructuredMetadata, b.StructuredMetadata)
}

// Whatever the fast path takes, the general decoder takes too, with the same result.
func FuzzFastEntry(f *testing.F) {
	f.Add(encode(ts(secs(1700000000), nanos(123456789)), line("GET / 200")))
	f.Add(encode(ts(secs(3)), line("x"), field{num: 9, typ: protowire.VarintType, n: 1}))
	f.Add(encode(ts(nanos(1), secs(3)), line("x")))
	f.Add([]byte{0x0a, 0x02, 0x08, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast logproto.Entry
		if !fastEntry(b, &fast) {
			return
		}
		var general logproto.Entry
		if err := unmarshalEntry(b, &general); err != nil {
			t.Fatalf("fastEntry took %x, unmarshalEntry refused it: %v", b, err)
		}
		if !sameEntry(fast, general) {
			t.Fatalf("%x: fastEntry %+v, unmarshalEntry %+v", b, fast, general)
		}
	})
}
