package otlp

import (
	"math"
	"testing"
)

// TestValueString checks the renderings of OpenTelemetry's Value.AsString, which Loki stores.
func TestValueString(t *testing.T) {
	var l Logs
	double := func(f float64) Value { return Value{Kind: KindDouble, Num: math.Float64bits(f)} }
	check := func(v Value, want string) {
		t.Helper()
		if got := l.ValueString(v); got != want {
			t.Errorf("ValueString(%+v) = %q, want %q", v, got, want)
		}
	}
	check(Value{}, "")
	check(Value{Kind: KindString, Str: "a b"}, "a b")
	check(Value{Kind: KindBool, Num: 1}, "true")
	check(Value{Kind: KindBool}, "false")
	check(Value{Kind: KindInt, Num: uint64(0xffffffffffffffff)}, "-1")
	check(Value{Kind: KindInt, Num: 1 << 62}, "4611686018427387904")
	check(Value{Kind: KindBytes, Str: "\x00\xff"}, "AP8=")
	check(Value{Kind: KindBytes}, "")
	for _, c := range []struct {
		f    float64
		want string
	}{
		{0, "0"}, {math.Copysign(0, -1), "-0"}, {1.5, "1.5"}, {0.1, "0.1"}, {100, "100"},
		{123456789, "123456789"}, {1e20, "100000000000000000000"}, {1e21, "1e+21"},
		{0.000001, "0.000001"}, {1e-7, "1e-7"}, {-2.5e-10, "-2.5e-10"}, {1.7976931348623157e308, "1.7976931348623157e+308"},
		{math.NaN(), "json: unsupported value: NaN"}, {math.Inf(1), "json: unsupported value: +Inf"},
		{math.Inf(-1), "json: unsupported value: -Inf"},
	} {
		check(double(c.f), c.want)
	}

	// Maps and arrays: encoding/json of the raw values, keys sorted, a later key winning.
	l.KeyValues = []KeyValue{
		{Key: "z", Value: Value{Kind: KindString, Str: "<&>"}},
		{Key: "a", Value: Value{Kind: KindInt, Num: 1}},
		{Key: "z", Value: Value{Kind: KindString, Str: "last\u2028"}},
		{Key: "m", Value: Value{Kind: KindMap, List: Span{4, 1}}},
		{Key: "e", Value: Value{}},
	}
	l.Values = []Value{{Kind: KindBool, Num: 1}, double(2.5), {Kind: KindBytes, Str: "hi"}, {}, {Kind: KindArray, List: Span{0, 1}}}
	check(Value{Kind: KindMap, List: Span{0, 4}}, `{"a":1,"m":{"e":null},"z":"last\u2028"}`)
	check(Value{Kind: KindArray, List: Span{0, 5}}, `[true,2.5,"aGk=",null,[true]]`)
	check(Value{Kind: KindMap, List: Span{0, 1}}, `{"z":"\u003c\u0026\u003e"}`)
	l.Values[1] = double(math.NaN())
	check(Value{Kind: KindArray, List: Span{0, 2}}, "")
}

func TestLabelName(t *testing.T) {
	check := func(in, want string) {
		t.Helper()
		got, err := labelName(in)
		if err != nil || got != want {
			t.Errorf("labelName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	check("service.name", "service_name")
	check("already_fine9", "already_fine9")
	check("k8s.pod.name", "k8s_pod_name")
	check("http-status/code", "http_status_code")
	check("2xx", "key_2xx")
	check("_id", "key_id")
	check("_", "key_")
	check(".", "key_")
	check("__reserved__", "__reserved__")
	check("___", "___")
	check("héllo", "h_llo") // one underscore per character
	check("a\xffb", "a_b")  // and per byte of invalid UTF-8
	check("é", "key_")
	// Names that become nothing but underscores (and differ from what was sent) are refused.
	for _, in := range []string{"", "..", "...", "日本", "é"[:1] + "é"[:1]} {
		if got, err := labelName(in); err == nil {
			t.Errorf("labelName(%q) = %q, want an error", in, got)
		}
	}
}
