package syntax

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

func TestParseCanonical(t *testing.T) {
	check := func(in, want string) {
		t.Helper()
		e, err := ParseExpr(in)
		if err != nil {
			t.Errorf("ParseExpr(%q) error: %v", in, err)
			return
		}
		if got := e.String(); got != want {
			t.Errorf("ParseExpr(%q).String() = %q, want %q", in, got, want)
		}
		assertRoundTrip(t, in, e)
	}
	// stream selectors
	check(`{app="foo"}`, `{app="foo"}`)
	check(`{ app = "foo" , env!="dev",ns=~"a.*", x !~ "y|z" }`, `{app="foo", env!="dev", ns=~"a.*", x!~"y|z"}`)
	check("{app=`fo\\o`}", `{app="fo\\o"}`)
	check(`{app="a\"b"}`, `{app="a\"b"}`)
	check("{app=\"foo\"} # a comment\n |= \"x\"", `{app="foo"} |= "x"`)
	// line filters
	check(`{app="foo"} |= "err" != "timeout" |~ "5.." !~ "4.." |> "<_> GET <_>" !> "<_> POST"`,
		`{app="foo"} |= "err" != "timeout" |~ "5.." !~ "4.." |> "<_> GET <_>" !> "<_> POST"`)
	check(`{app="foo"} |= "a" or "b" or "c"`, `{app="foo"} |= "a" or "b" or "c"`)
	check(`{app="foo"} |= ip("10.0.0.0/8") != ip("10.1.1.1")`, `{app="foo"} |= ip("10.0.0.0/8") != ip("10.1.1.1")`)
	// parsers
	check(`{app="foo"} | json`, `{app="foo"} | json`)
	check(`{app="foo"} | json first="servers[0]", ua="request.headers[\"User-Agent\"]", b`,
		`{app="foo"} | json first="servers[0]", ua="request.headers[\"User-Agent\"]", b`)
	check(`{app="foo"} | logfmt --strict --keep-empty a="b", c`, `{app="foo"} | logfmt --strict --keep-empty a="b", c`)
	check(`{app="foo"} | logfmt`, `{app="foo"} | logfmt`)
	check(`{app="foo"} | regexp "(?P<method>\\w+) (?P<path>.*)"`, `{app="foo"} | regexp "(?P<method>\\w+) (?P<path>.*)"`)
	check("{app=\"foo\"} | pattern `<ip> - <_> \"<method> <uri>\"`", `{app="foo"} | pattern "<ip> - <_> \"<method> <uri>\""`)
	check(`{app="foo"} | unpack | decolorize`, `{app="foo"} | unpack | decolorize`)
	check(`{app="foo"} | json != "x"`, `{app="foo"} | json != "x"`)
	// label filters
	check(`{app="foo"} | level="error"`, `{app="foo"} | level="error"`)
	check(`{app="foo"} | level == "error"`, `{app="foo"} | level="error"`)
	check(`{app="foo"} | status >= 400 and status < 500`, `{app="foo"} | ( status>=400 , status<500 )`)
	check(`{app="foo"} | status >= 400, status < 500 or took > 1s`, `{app="foo"} | ( ( status>=400 , status<500 ) or took>1s )`)
	check(`{app="foo"} | status >= 400 and (status < 500 or took > 1m30s)`, `{app="foo"} | ( status>=400 , ( status<500 or took>1m30s ) )`)
	check(`{app="foo"} | a="b" c=~"d"`, `{app="foo"} | ( a="b" , c=~"d" )`)
	check(`{app="foo"} | size > 10KB | size <= 1MiB | n == -3.5 | d != 250ms`, `{app="foo"} | size>10000B | size<=1048576B | n==-3.5 | d!=250ms`)
	check(`{app="foo"} | addr = ip("192.168.0.0/16") | addr != ip("10.0.0.1")`, `{app="foo"} | addr=ip("192.168.0.0/16") | addr!=ip("10.0.0.1")`)
	check(`{app="foo"} | __error__=""`, `{app="foo"} | __error__=""`)
	check(`{app="foo"} | drop="x"`, `{app="foo"} | drop="x"`)
	// formatters
	check(`{app="foo"} | line_format "{{.msg}}"`, `{app="foo"} | line_format "{{.msg}}"`)
	check(`{app="foo"} | label_format a=b, c="{{.d}}"`, `{app="foo"} | label_format a=b, c="{{.d}}"`)
	check(`{app="foo"} | drop a, b="x", c=~"y" | keep d,e!="f" | distinct a, b`, `{app="foo"} | drop a,b="x",c=~"y" | keep d,e!="f" | distinct a,b`)
	// range aggregations
	check(`count_over_time({app="foo"}[5m])`, `count_over_time({app="foo"} [5m])`)
	check(`rate({app="foo"} |= "x" [1h30m])`, `rate({app="foo"} |= "x" [1h30m])`)
	check(`rate({app="foo"}[5m] |= "x")`, `rate({app="foo"} |= "x" [5m])`)
	check(`bytes_rate({app="foo"}[1d] offset 1w)`, `bytes_rate({app="foo"} [1d] offset 1w)`)
	check(`count_over_time({app="foo"}[5m] offset 1h |= "x" | json)`, `count_over_time({app="foo"} |= "x" | json [5m] offset 1h)`)
	check(`count_over_time({app="foo"}[5m] |= "x" offset 1h)`, `count_over_time({app="foo"} |= "x" [5m] offset 1h)`)
	check(`count_over_time(({app="foo"} |= "x")[5m] offset 1h)`, `count_over_time({app="foo"} |= "x" [5m] offset 1h)`)
	check(`count_over_time(({app="foo"})[5m])`, `count_over_time({app="foo"} [5m])`)
	check(`count_over_time((({app="foo"} |= "x" [5m])))`, `count_over_time({app="foo"} |= "x" [5m])`)
	check(`sum_over_time(({app="foo"} | unwrap x)[5m])`, `sum_over_time({app="foo"} | unwrap x [5m])`)
	check(`(({app="foo"} |= "x"))`, `{app="foo"} |= "x"`)
	check(`bytes_over_time({app="foo"}[100ms])`, `bytes_over_time({app="foo"} [100ms])`)
	check(`absent_over_time({app="foo"}[1m])`, `absent_over_time({app="foo"} [1m])`)
	check(`absent_over_time({app="foo"} | unwrap x [1m])`, `absent_over_time({app="foo"} | unwrap x [1m])`)
	check(`sum_over_time({app="foo"} | logfmt | unwrap bytes(size) | __error__="" [5m])`,
		`sum_over_time({app="foo"} | logfmt | unwrap bytes(size) | __error__="" [5m])`)
	check(`avg_over_time({app="foo"} | json | unwrap duration_seconds(took) [5m]) by (path)`,
		`avg_over_time({app="foo"} | json | unwrap duration_seconds(took) [5m]) by (path)`)
	check(`quantile_over_time(0.99, {app="foo"} | json | unwrap duration(took) [5m]) without (pod)`,
		`quantile_over_time(0.99,{app="foo"} | json | unwrap duration(took) [5m]) without (pod)`)
	check(`rate_counter({app="foo"} | unwrap bytes [5m])`, `rate_counter({app="foo"} | unwrap bytes [5m])`)
	check(`max_over_time({app="foo"} | unwrap latency [5m] offset 5m)`, `max_over_time({app="foo"} | unwrap latency [5m] offset 5m)`)
	for _, op := range []string{"min", "first", "last", "stdvar", "stddev"} {
		check(op+`_over_time({app="foo"} | unwrap x[1m])`, op+`_over_time({app="foo"} | unwrap x [1m])`)
	}
	// vector aggregations
	check(`sum by (level) (rate({app="foo"}[1m]))`, `sum by (level)(rate({app="foo"} [1m]))`)
	check(`sum(rate({app="foo"}[1m])) by (level, pod)`, `sum by (level,pod)(rate({app="foo"} [1m]))`)
	check(`sum by () (rate({app="foo"}[1m]))`, `sum(rate({app="foo"} [1m]))`)
	check(`avg without (pod) (count_over_time({app="foo"}[1m]))`, `avg without (pod)(count_over_time({app="foo"} [1m]))`)
	check(`topk(5, sum by (x) (rate({app="foo"}[1m])))`, `topk(5,sum by (x)(rate({app="foo"} [1m])))`)
	check(`bottomk by (a) (2, rate({app="foo"}[1m]))`, `bottomk by (a)(2,rate({app="foo"} [1m]))`)
	check(`approx_topk(3, rate({app="foo"}[1m]))`, `approx_topk(3,rate({app="foo"} [1m]))`)
	for _, op := range []string{"min", "max", "count", "stddev", "stdvar", "sort", "sort_desc"} {
		check(op+`(rate({app="foo"}[1m]))`, op+`(rate({app="foo"} [1m]))`)
	}
	// binary operations and literals
	check(`1 + 2 * 3`, `7`)
	check(`2 ^ 3 ^ 2`, `512`)
	check(`(1 + 2) * 3`, `9`)
	check(`-1.5`, `-1.5`)
	check(`1 > bool 2`, `0`)
	check(`vector(1) + vector(1)`, `(vector(1) + vector(1))`)
	check(`rate({a="b"}[1m]) + rate({a="c"}[1m]) * 2`, `(rate({a="b"} [1m]) + (rate({a="c"} [1m]) * 2))`)
	check(`rate({a="b"}[1m]) / on (x) group_left (y) rate({a="c"}[1m])`, `(rate({a="b"} [1m]) / on (x) group_left (y) rate({a="c"} [1m]))`)
	check(`rate({a="b"}[1m]) > ignoring (x) group_right rate({a="c"}[1m])`, `(rate({a="b"} [1m]) > ignoring (x) group_right () rate({a="c"} [1m]))`)
	check(`rate({a="b"}[1m]) > bool 10`, `(rate({a="b"} [1m]) > bool 10)`)
	check(`rate({a="b"}[1m]) or rate({a="c"}[1m]) and rate({a="d"}[1m]) unless rate({a="e"}[1m])`,
		`(rate({a="b"} [1m]) or ((rate({a="c"} [1m]) and rate({a="d"} [1m])) unless rate({a="e"} [1m])))`)
	check(`rate({a="b"}[1m]) - 1 > 2`, `((rate({a="b"} [1m]) - 1) > 2)`)
	check(`label_replace(rate({a="b"}[1m]), "dst", "$1", "src", "(.*)")`, `label_replace(rate({a="b"} [1m]),"dst","$1","src","(.*)")`)
	check(`vector(-2)`, `vector(-2)`)
	check(`1/0`, `NaN`)
	check(`2 > 1`, `1`)
	check(`1 > 2`, `0`)
	check(`1e308 * 10`, `+Inf`)
	check(`-1e308 * 10`, `-Inf`)
}

func assertRoundTrip(t *testing.T, in string, e Expr) {
	t.Helper()
	again, err := ParseExpr(e.String())
	if err != nil {
		t.Fatalf("ParseExpr(%q) (canonical of %q) error: %v", e.String(), in, err)
	}
	if again.String() != e.String() || !equalExpr(e, again) {
		t.Fatalf("round trip of %q: %#v, want %#v", in, again, e)
	}
	pretty := Pretty(e)
	again, err = ParseExpr(pretty)
	if err != nil {
		t.Fatalf("ParseExpr(%q) (Pretty of %q) error: %v", pretty, in, err)
	}
	if again.String() != e.String() || !equalExpr(e, again) {
		t.Fatalf("Pretty of %q parses back as %s, want %s", in, again, e)
	}
}

// equalExpr compares two trees; NaN literals compare equal to each other.
func equalExpr(a, b Expr) bool {
	if la, ok := a.(*Literal); ok {
		lb, ok := b.(*Literal)
		return ok && (la.Value == lb.Value || (math.IsNaN(la.Value) && math.IsNaN(lb.Value)))
	}
	if strings.Contains(a.String(), "NaN") {
		return a.String() == b.String()
	}
	return reflect.DeepEqual(a, b)
}

func TestParseTree(t *testing.T) {
	e, err := ParseExpr(`sum by (level) (count_over_time({app="foo", env=~"p.*"} |= "x" | json | status >= 400 | unwrap duration(took) | __error__="" [5m] offset 1h))`)
	if err == nil {
		t.Fatalf("count_over_time with unwrap parsed: %v", e)
	}
	e, err = ParseExpr(`sum by (level) (avg_over_time({app="foo", env=~"p.*"} |= "x" | json | status >= 400 | unwrap duration(took) | __error__="" [5m] offset 1h))`)
	if err != nil {
		t.Fatal(err)
	}
	want := &VectorAggregation{
		Op:       OpSum,
		Grouping: &Grouping{Labels: []string{"level"}},
		Left: &RangeAggregation{
			Op: OpAvgOverTime,
			Left: &LogRange{
				Left: &LogSelector{
					Matchers: []Matcher{{labels.MatchEqual, "app", "foo"}, {labels.MatchRegexp, "env", "p.*"}},
					Stages: []Stage{
						&LineFilter{Op: LineContains, Values: []LineFilterValue{{Value: "x"}}},
						&JSONParser{},
						&LabelFilter{Filter: &NumericLabelFilter{Name: "status", Op: OpGreaterEq, Value: 400}},
					},
				},
				Interval: 5 * time.Minute,
				Offset:   time.Hour,
				Unwrap: &Unwrap{Label: "took", Conv: ConvDuration, PostFilters: []LabelFilterer{
					&StringLabelFilter{Matcher: Matcher{labels.MatchEqual, "__error__", ""}},
				}},
			},
		},
	}
	if !reflect.DeepEqual(e, want) {
		t.Fatalf("ParseExpr = %#v, want %#v", e, want)
	}
}

func TestParseErrors(t *testing.T) {
	check := func(in, want string) {
		t.Helper()
		_, err := ParseExpr(in)
		if err == nil {
			t.Errorf("ParseExpr(%q) succeeded, want error %q", in, want)
			return
		}
		if _, ok := err.(*ParseError); !ok {
			t.Errorf("ParseExpr(%q) error %T, want *ParseError", in, err)
		}
		if err.Error() != want {
			t.Errorf("ParseExpr(%q) error = %q, want %q", in, err.Error(), want)
		}
	}
	check(`{app="foo"`, `parse error at line 1, col 11: syntax error: unexpected $end, expecting , or }`)
	check(`{}`, `parse error : `+errNoNonEmptyMatcher)
	check(`count_over_time({app="foo"}[5m] offset 1h |= "x" offset 1h)`, `parse error at line 1, col 50: syntax error: unexpected OFFSET, expecting )`)
	check(`{app=foo}`, `parse error at line 1, col 6: syntax error: unexpected IDENTIFIER, expecting STRING`)
	check(`foo`, `parse error at line 1, col 1: syntax error: unexpected IDENTIFIER`)
	check(`{app=~".*"}`, `parse error : `+errNoNonEmptyMatcher)
	check(`{app="foo"} |= `, `parse error at line 1, col 16: syntax error: unexpected $end, expecting STRING`)
	check("{app=\"foo\"}\n | json | by", `parse error at line 2, col 13: syntax error: unexpected $end, expecting =`+
		` or != or =~ or !~ or == or > or >= or < or <=`)
	check(`rate({app="foo"})`, `parse error at line 1, col 17: syntax error: unexpected ), expecting RANGE`)
	check(`rate({app="foo"}[5x])`, `parse error at line 1, col 17: syntax error: invalid range "[5x]": invalid duration "5x": missing unit`)
	check(`count_over_time({app="foo"} | unwrap x [5m])`, `parse error : invalid aggregation count_over_time with unwrap`)
	check(`sum_over_time({app="foo"}[5m])`, `parse error : invalid aggregation sum_over_time without unwrap`)
	check(`sum_over_time({app="foo"} | unwrap x [5m]) by (a)`, `parse error : grouping not allowed for sum_over_time aggregation`)
	check(`sum(5, rate({a="b"}[1m]))`, `parse error : unsupported parameter for operation sum(5,`)
	check(`topk(rate({a="b"}[1m]))`, `parse error : parameter required for operation topk`)
	check(`topk(0, rate({a="b"}[1m]))`, `parse error : invalid parameter (must be greater than 0) topk(0`)
	check(`topk(1.5, rate({a="b"}[1m]))`, `parse error : invalid parameter topk(1.5,`)
	check(`{app="foo"} | unwrap x`, `parse error at line 1, col 15: syntax error: unexpected UNWRAP`)
	check(`{app="foo"} | regexp "(a)"`, `parse error at line 1, col 22: at least one named capture must be supplied`)
	check(`{app="foo"} |~ "("`, "parse error at line 1, col 16: invalid regexp \"(\": error parsing regexp: missing closing ): `(`")
	check(`{app="foo"} | label_format a=b, a=c`, `parse error at line 1, col 33: multiple label name 'a' in a single label_format stage`)
	check(`rate({a="b"}[1m]) + 1 +`, `parse error at line 1, col 24: syntax error: unexpected $end`)
	check(`{foo="bar"} foo`, `parse error at line 1, col 13: syntax error: unexpected IDENTIFIER, expecting != or !~ or |~ or |=`)
	check(`{duration>=1}`, `parse error at line 1, col 10: syntax error: unexpected >=, expecting = or != or =~ or !~`)
	check(`{app="foo"} @`, `parse error at line 1, col 13: syntax error: unexpected character: '@'`)
	check(`{app="foo`, `parse error at line 1, col 6: syntax error: unterminated string`)
	check(`sort by (a) (rate({a="b"}[1m]))`, `parse error : grouping not allowed for sort and sort_desc aggregations`)
	check(`vector(1) and 1`, `parse error at line 1, col 11: unexpected literal for right leg of logical/set binary operation (and): 1`)
	check(`1 + bool 2`, `parse error at line 1, col 5: bool modifier can only be used on comparison operators`)
	check(strings.Repeat("(", 300)+"1"+strings.Repeat(")", 300), `parse error at line 1, col 201: syntax error: expression nested too deeply`)
}

func TestParseMatchers(t *testing.T) {
	ms, err := ParseMatchers(`{app="foo", env!="dev"}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].String() != `app="foo"` || ms[1].String() != `env!="dev"` {
		t.Fatalf("ParseMatchers = %v", ms)
	}
	if _, err := ParseMatchers(`{app="foo"} |= "x"`); err == nil {
		t.Fatal("ParseMatchers with a pipeline succeeded")
	}
}

func TestDurationsAndBytes(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"5m": 5 * time.Minute, "1h30m": 90 * time.Minute, "1d": 24 * time.Hour, "1w": 7 * 24 * time.Hour,
		"100ms": 100 * time.Millisecond, "1.5s": 1500 * time.Millisecond, "2us": 2 * time.Microsecond,
		"1y": 365 * 24 * time.Hour,
	} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v, want %v", in, got, err, want)
		}
		if back, err := ParseDuration(FormatDuration(got)); err != nil || back != got {
			t.Errorf("ParseDuration(FormatDuration(%v)=%q) = %v, %v", got, FormatDuration(got), back, err)
		}
	}
	for _, bad := range []string{"", "5", "m", "5x", "1..5s"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", bad)
		}
	}
	for in, want := range map[string]uint64{"10KB": 10000, "1KiB": 1024, "1.5MB": 1500000, "3b": 3, "2GiB": 2 << 30} {
		got, err := ParseBytes(in)
		if err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %v, %v, want %v", in, got, err, want)
		}
	}
}
