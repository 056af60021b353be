package otlp

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
)

// ValueString returns v as Loki stores it in a label, structured metadata or line. Loki uses
// OpenTelemetry's pcommon.Value.AsString, whose rules this follows: a string as it is, a bool
// as true or false, an int in decimal, a double as JavaScript prints numbers (1.5, 1e+21,
// 1e-7) or, for NaN and infinities, the error text encoding/json gives for them, bytes in
// standard base64, and a map or array as the JSON encoding/json makes of it (map keys sorted,
// a later duplicate key winning, bytes in base64, HTML characters escaped); an empty value,
// and a map or array holding a NaN or infinity anywhere, is "".
func (l *Logs) ValueString(v Value) string {
	if v.Kind == KindString {
		return v.Str
	}
	return string(l.AppendValue(nil, v))
}

// AppendValue appends ValueString(v) to dst.
func (l *Logs) AppendValue(dst []byte, v Value) []byte {
	switch v.Kind {
	case KindString:
		return append(dst, v.Str...)
	case KindBool:
		return strconv.AppendBool(dst, v.Num != 0)
	case KindInt:
		return strconv.AppendInt(dst, int64(v.Num), 10)
	case KindDouble:
		return appendDouble(dst, math.Float64frombits(v.Num))
	case KindBytes:
		return base64.StdEncoding.AppendEncode(dst, []byte(v.Str))
	case KindMap, KindArray:
		// Rare enough (nested attributes are flattened; only arrays and map bodies get
		// here) that going through encoding/json, exactly as OpenTelemetry does, wins over
		// reimplementing its escaping rules.
		b, err := json.Marshal(l.raw(v))
		if err != nil {
			return dst
		}
		return append(dst, b...)
	}
	return dst
}

// appendDouble formats f as encoding/json does, which OpenTelemetry copied for doubles.
func appendDouble(dst []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		dst = append(dst, "json: unsupported value: "...)
		return strconv.AppendFloat(dst, f, 'g', -1, 64)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 is written 1e-7.
		b := dst[start:]
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			dst = dst[:len(dst)-1]
		}
	}
	return dst
}

// raw returns v as the Go value OpenTelemetry's Value.AsRaw gives, for encoding/json.
func (l *Logs) raw(v Value) any {
	switch v.Kind {
	case KindString:
		return v.Str
	case KindBool:
		return v.Num != 0
	case KindInt:
		return int64(v.Num)
	case KindDouble:
		return math.Float64frombits(v.Num)
	case KindBytes:
		if v.Str == "" {
			return []byte(nil) // OpenTelemetry copies empty bytes to a nil slice: null
		}
		return []byte(v.Str)
	case KindMap:
		m := make(map[string]any, v.List.Len)
		for _, kv := range l.Attrs(v.List) {
			m[kv.Key] = l.raw(kv.Value)
		}
		return m
	case KindArray:
		a := make([]any, 0, v.List.Len)
		for _, e := range l.Elems(v.List) {
			a = append(a, l.raw(e))
		}
		return a
	}
	return nil
}
