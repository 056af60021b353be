package log

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode"
)

// templateFuncs are the functions line_format and label_format templates may call, with the
// names, argument orders and conversions of Loki (which takes most of them from sprig: the
// string being worked on comes last, so they chain with pipes: {{ .msg | trunc 10 | upper }}).
//
// __line__ and __timestamp__ are bound per entry by the formatter (see templateState).
func templateFuncs(st *templateState) template.FuncMap {
	return template.FuncMap{
		// strings; the capitalised ones are Loki's older names with Go's argument order
		"ToLower":    strings.ToLower,
		"ToUpper":    strings.ToUpper,
		"Replace":    strings.Replace,
		"Trim":       strings.Trim,
		"TrimLeft":   strings.TrimLeft,
		"TrimRight":  strings.TrimRight,
		"TrimPrefix": strings.TrimPrefix,
		"TrimSuffix": strings.TrimSuffix,
		"TrimSpace":  strings.TrimSpace,
		"lower":      strings.ToLower,
		"upper":      strings.ToUpper,
		"title":      titleCase,
		"trunc":      trunc,
		"substr":     substring,
		"replace":    func(old, new, src string) string { return strings.ReplaceAll(src, old, new) },
		"trim":       strings.TrimSpace,
		"trimAll":    func(cutset, s string) string { return strings.Trim(s, cutset) },
		"trimPrefix": func(prefix, s string) string { return strings.TrimPrefix(s, prefix) },
		"trimSuffix": func(suffix, s string) string { return strings.TrimSuffix(s, suffix) },
		"trimSpace":  strings.TrimSpace,
		"indent":     indent,
		"nindent":    func(n int, s string) string { return "\n" + indent(n, s) },
		"repeat":     repeat,
		"contains":   func(substr, s string) bool { return strings.Contains(s, substr) },
		"hasPrefix":  func(prefix, s string) bool { return strings.HasPrefix(s, prefix) },
		"hasSuffix":  func(suffix, s string) bool { return strings.HasSuffix(s, suffix) },
		"regexReplaceAll": func(re, s, repl string) (string, error) {
			r, err := st.regexp(re)
			if err != nil {
				return "", err
			}
			return r.ReplaceAllString(s, repl), nil
		},
		"regexReplaceAllLiteral": func(re, s, repl string) (string, error) {
			r, err := st.regexp(re)
			if err != nil {
				return "", err
			}
			return r.ReplaceAllLiteralString(s, repl), nil
		},
		"count": func(re, s string) (int, error) {
			r, err := st.regexp(re)
			if err != nil {
				return 0, err
			}
			return len(r.FindAllStringIndex(s, -1)), nil
		},
		"alignLeft":  alignLeft,
		"alignRight": alignRight,
		"default":    defaultValue,
		"urlencode":  url.QueryEscape,
		"urldecode":  url.QueryUnescape,
		"b64enc":     func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
		"b64dec": func(s string) string {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return err.Error()
			}
			return string(b)
		},
		"fromJson": func(s string) any {
			var v any
			_ = json.Unmarshal([]byte(s), &v)
			return v
		},
		"bytes":            func(s string) (float64, error) { b, err := ParseBytes(s); return float64(b), err },
		"int":              func(v any) int { return int(toInt64(v)) },
		"float64":          toFloat64,
		"duration":         parseDurationSeconds,
		"duration_seconds": parseDurationSeconds,

		// math: integer functions truncate their arguments like sprig's toInt64
		"add": func(vs ...any) int64 {
			var sum int64
			for _, v := range vs {
				sum += toInt64(v)
			}
			return sum
		},
		"sub": func(a, b any) int64 { return toInt64(a) - toInt64(b) },
		"mul": func(a any, vs ...any) int64 {
			p := toInt64(a)
			for _, v := range vs {
				p *= toInt64(v)
			}
			return p
		},
		// A zero divisor panics; text/template turns that into the template's error
		// ("runtime error: integer divide by zero"), as Loki reports it.
		"div": func(a, b any) int64 { return toInt64(a) / toInt64(b) },
		"mod": func(a, b any) int64 { return toInt64(a) % toInt64(b) },
		"max": func(a any, vs ...any) int64 {
			m := toInt64(a)
			for _, v := range vs {
				m = max(m, toInt64(v))
			}
			return m
		},
		"min": func(a any, vs ...any) int64 {
			m := toInt64(a)
			for _, v := range vs {
				m = min(m, toInt64(v))
			}
			return m
		},
		"addf": func(vs ...any) float64 { return decimalOp(0, vs, (*big.Rat).Add) },
		"subf": func(a any, vs ...any) float64 { return decimalOp(a, vs, (*big.Rat).Sub) },
		"mulf": func(a any, vs ...any) float64 { return decimalOp(a, vs, (*big.Rat).Mul) },
		"divf": func(a any, vs ...any) float64 { return decimalOp(a, vs, ratQuo) },
		"maxf": func(a any, vs ...any) float64 {
			m := toFloat64(a)
			for _, v := range vs {
				m = math.Max(m, toFloat64(v))
			}
			return m
		},
		"minf": func(a any, vs ...any) float64 {
			m := toFloat64(a)
			for _, v := range vs {
				m = math.Min(m, toFloat64(v))
			}
			return m
		},
		"ceil":  func(a any) float64 { return math.Ceil(toFloat64(a)) },
		"floor": func(a any) float64 { return math.Floor(toFloat64(a)) },
		"round": round,

		// dates
		"date": formatDate,
		"toDate": func(layout, s string) time.Time {
			t, _ := time.ParseInLocation(layout, s, time.UTC)
			return t
		},
		"toDateInZone":    toDateInZone,
		"now":             time.Now,
		"unixEpoch":       func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) },
		"unixEpochMillis": func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) },
		"unixEpochNanos":  func(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) },
		"unixToTime":      unixToTime,

		// per entry
		"__line__":      func() string { return st.line },
		"__timestamp__": func() time.Time { return time.Unix(0, st.ts).UTC() },
	}
}

// templateState is what a formatter's functions see of the entry being formatted.
type templateState struct {
	line string
	ts   int64
	res  map[string]*regexp.Regexp
}

// regexp compiles re once per formatter.
func (st *templateState) regexp(re string) (*regexp.Regexp, error) {
	if r, ok := st.res[re]; ok {
		return r, nil
	}
	r, err := regexp.Compile(re)
	if err != nil {
		return nil, err
	}
	if st.res == nil || len(st.res) > 64 {
		st.res = map[string]*regexp.Regexp{}
	}
	st.res[re] = r
	return r, nil
}

// titleCase upper-cases the first letter of every word, words being separated by anything
// but letters, digits and '_' (the rule of the standard library's deprecated strings.Title,
// which sprig's title uses).
func titleCase(s string) string {
	prev := ' '
	return strings.Map(func(r rune) rune {
		out := r
		if isTitleSeparator(prev) {
			out = unicode.ToTitle(r)
		}
		prev = r
		return out
	}, s)
}

func isTitleSeparator(r rune) bool {
	if r <= 0x7F {
		switch {
		case '0' <= r && r <= '9', 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', r == '_':
			return false
		}
		return true
	}
	if unicode.IsLetter(r) || unicode.IsDigit(r) {
		return false
	}
	return unicode.IsSpace(r)
}

// trunc keeps the first n runes of s, or the last -n when n is negative.
func trunc(n int, s string) string {
	r := []rune(s)
	switch {
	case n < 0 && len(r)+n > 0:
		return string(r[len(r)+n:])
	case n >= 0 && len(r) > n:
		return string(r[:n])
	}
	return s
}

// substring returns runes [start, end) of s: a negative start means from the beginning, a
// negative end (or one past the end) means to the end.
func substring(start, end int, s string) string {
	r := []rune(s)
	n := len(r)
	if end > n {
		end = n
	}
	if start > n {
		start = n
	}
	if start < 0 {
		if end < 0 {
			return ""
		}
		return string(r[:end])
	}
	if end < 0 {
		return string(r[start:])
	}
	if start > end {
		return ""
	}
	return string(r[start:end])
}

func indent(n int, s string) string {
	if n < 0 {
		n = 0
	}
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}

// maxRepeat keeps a template from building huge strings out of one line.
const maxRepeat = 1 << 20

func repeat(n int, s string) (string, error) {
	if n < 0 || len(s)*n > maxRepeat {
		return "", fmt.Errorf("repeat: count %d out of range", n)
	}
	return strings.Repeat(s, n), nil
}

// alignLeft pads s with spaces or cuts it to n runes, text on the left.
func alignLeft(n int, s string) string {
	r := []rune(s)
	if n < 0 || n == len(r) {
		return s
	}
	if n > len(r) {
		return s + strings.Repeat(" ", n-len(r))
	}
	return string(r[:n])
}

// alignRight pads or cuts s to n runes, text on the right.
func alignRight(n int, s string) string {
	r := []rune(s)
	if n < 0 || n == len(r) {
		return s
	}
	if n > len(r) {
		return strings.Repeat(" ", n-len(r)) + s
	}
	return string(r[len(r)-n:])
}

// defaultValue returns d when v is empty (sprig's default, with the value piped last).
func defaultValue(d any, v ...any) any {
	if len(v) == 0 || isEmpty(v[0]) {
		return d
	}
	return v[0]
}

func isEmpty(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String, reflect.Slice, reflect.Map, reflect.Array:
		return rv.Len() == 0
	case reflect.Bool:
		return !rv.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return rv.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return rv.Float() == 0
	case reflect.Pointer, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// toInt64 converts like sprig (spf13/cast): strings are parsed (base prefixes allowed,
// a ".0" fraction tolerated), floats truncated, anything unconvertible is 0.
func toInt64(v any) int64 {
	switch x := v.(type) {
	case string:
		s := strings.TrimSpace(x)
		if i := strings.IndexByte(s, '.'); i >= 0 && strings.Trim(s[i+1:], "0") == "" {
			s = s[:i]
		}
		n, err := strconv.ParseInt(s, 0, 64)
		if err != nil {
			return 0
		}
		return n
	case float64:
		return int64(x)
	case float32:
		return int64(x)
	case bool:
		if x {
			return 1
		}
		return 0
	case nil:
		return 0
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(rv.Uint())
	}
	return 0
}

// toFloat64 converts like sprig: strings are parsed, anything unconvertible is 0.
func toFloat64(v any) float64 {
	switch x := v.(type) {
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0
		}
		return f
	case float64:
		return x
	case float32:
		return float64(x)
	case bool:
		if x {
			return 1
		}
		return 0
	case nil:
		return 0
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint())
	}
	return 0
}

// decimalOp folds vs into a with op in exact decimal arithmetic, each float taken at its
// shortest decimal form, as sprig does: addf 1.1 2.2 is 3.3, not 3.3000000000000003.
func decimalOp(a any, vs []any, op func(z, x, y *big.Rat) *big.Rat) float64 {
	acc := toRat(a)
	for _, v := range vs {
		op(acc, acc, toRat(v))
	}
	f, _ := acc.Float64()
	return f
}

func toRat(v any) *big.Rat {
	f := toFloat64(v)
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(f, 'g', -1, 64))
	if !ok { // NaN or Inf
		return new(big.Rat)
	}
	return r
}

// ratQuo is big.Rat's Quo. Division by zero panics with sprig's message, which text/template
// reports as the template's error.
func ratQuo(z, x, y *big.Rat) *big.Rat {
	if y.Sign() == 0 {
		panic("decimal division by 0")
	}
	return z.Quo(x, y)
}

// round rounds a to p decimal places; the optional r is the rounding threshold (default .5).
func round(a any, p int, r ...float64) float64 {
	roundOn := .5
	if len(r) > 0 {
		roundOn = r[0]
	}
	val := toFloat64(a)
	pow := math.Pow(10, float64(p))
	digit := pow * val
	_, div := math.Modf(digit)
	var rounded float64
	if div >= roundOn {
		rounded = math.Ceil(digit)
	} else {
		rounded = math.Floor(digit)
	}
	return rounded / pow
}

// formatDate formats a time.Time, *time.Time or Unix seconds (int, int64, int32) with a Go
// layout, in UTC.
func formatDate(layout string, date any) string {
	var t time.Time
	switch d := date.(type) {
	case time.Time:
		t = d
	case *time.Time:
		if d != nil {
			t = *d
		}
	case int64:
		t = time.Unix(d, 0)
	case int:
		t = time.Unix(int64(d), 0)
	case int32:
		t = time.Unix(int64(d), 0)
	case string:
		t = time.Unix(toInt64(d), 0)
	default:
		t = time.Now()
	}
	return t.UTC().Format(layout)
}

// toDateInZone parses s with layout in the named zone (UTC when the zone is unknown).
func toDateInZone(layout, zone, s string) time.Time {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc = time.UTC
	}
	t, _ := time.ParseInLocation(layout, s, loc)
	return t
}

// unixToTime reads a Unix timestamp whose unit its length gives: days (5 digits), seconds
// (10), milliseconds (13), microseconds (16) or nanoseconds (19).
func unixToTime(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("unable to parse time '%v': %w", s, err)
	}
	switch len(s) {
	case 5:
		return time.Unix(n*86400, 0).UTC(), nil
	case 10:
		return time.Unix(n, 0).UTC(), nil
	case 13:
		return time.UnixMilli(n).UTC(), nil
	case 16:
		return time.UnixMicro(n).UTC(), nil
	case 19:
		return time.Unix(0, n).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("unable to parse time '%v': unknown length", s)
}
