package log_test

import (
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logql/log"
)

// docJSON is the example line of Loki's json parser documentation.
const docJSON = `{
	"protocol": "HTTP/2.0",
	"servers": ["129.0.1.1","10.2.1.3"],
	"request": {
		"time": "6.032",
		"method": "GET",
		"host": "foo.grafana.net",
		"size": "55",
		"headers": {
			"Accept": "*/*",
			"User-Agent": "curl/7.68.0"
		}
	},
	"response": {
		"status": 401,
		"size": "228",
		"latency_seconds": "6.031"
	}
}`

type parserCase struct {
	name   string
	stream labels.Labels
	line   string
	want   labels.Labels // the full label set of the result
	parsed labels.Labels // nil: not checked
}

func runParserCases(t *testing.T, stage func() log.Stage, cases []parserCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stream := tc.stream
			if stream.IsEmpty() {
				stream = lbls("app", "test")
			}
			_, res, ok := run(t, stream, tc.line, stage())
			if !ok {
				t.Fatal("entry dropped")
			}
			if !labels.Equal(res.Labels(), tc.want) {
				t.Errorf("labels = %s\nwant     %s", res.Labels(), tc.want)
			}
			if tc.parsed.Len() > 0 && !labels.Equal(res.Parsed(), tc.parsed) {
				t.Errorf("parsed = %s, want %s", res.Parsed(), tc.parsed)
			}
		})
	}
}

func TestJSONParser(t *testing.T) {
	runParserCases(t, func() log.Stage { return log.NewJSONParser() }, []parserCase{
		{name: "loki docs example", line: docJSON, want: lbls("app", "test",
			"protocol", "HTTP/2.0",
			"request_time", "6.032",
			"request_method", "GET",
			"request_host", "foo.grafana.net",
			"request_size", "55",
			"request_headers_Accept", "*/*",
			"request_headers_User_Agent", "curl/7.68.0",
			"response_status", "401",
			"response_size", "228",
			"response_latency_seconds", "6.031")},
		{name: "scalars", line: `{"a":true,"b":false,"c":null,"d":-1.5e3,"e":"x\ty\u00e9\"","f":[1,{"g":2}]}`,
			want: lbls("app", "test", "a", "true", "b", "false", "d", "-1.5e3", "e", "x\tyé\"")},
		{name: "invalid utf-8 becomes spaces", line: "{\"a\":\"x\xffy\",\"b\":\"\\ufffd\"}", want: lbls("app", "test", "a", "x y", "b", " ")},
		{name: "clash with stream label", stream: lbls("app", "api", "level", "x"),
			line: `{"level":"info","app":"x"}`,
			want: lbls("app", "api", "app_extracted", "x", "level", "x", "level_extracted", "info")},
		{name: "sanitised names", line: `{"1st":"a","a.b-c":"b","n":{"2":"c"}," sp ":"d"}`,
			want: lbls("app", "test", "_1st", "a", "a_b_c", "b", "n_2", "c", "sp", "d")},
		{name: "empty object", line: `{}`, want: lbls("app", "test")},
		{name: "not json", line: `level=info`,
			want: lbls("app", "test", "__error__", "JSONParserErr",
				"__error_details__", `read object: unexpected character 'l' at offset 0`)},
		{name: "truncated keeps what was parsed", line: `{"a":"b","c":`,
			want: lbls("app", "test", "a", "b", "__error__", "JSONParserErr",
				"__error_details__", "unexpected end of JSON input")},
	})
}

func TestJSONExpressionParser(t *testing.T) {
	exprs := []log.LabelExtractionExpr{
		{Identifier: "first_server", Expression: "servers[0]"},
		{Identifier: "ua", Expression: `request.headers["User-Agent"]`},
		{Identifier: "server_list", Expression: "servers"},
		{Identifier: "headers", Expression: "request.headers"},
		{Identifier: "protocol"},
		{Identifier: "missing", Expression: "request.nope"},
		{Identifier: "status", Expression: `["response"]["status"]`},
	}
	runParserCases(t, func() log.Stage { return must[*log.JSONExpressionParser](t)(log.NewJSONExpressionParser(exprs)) }, []parserCase{
		{name: "loki docs example", line: docJSON, want: lbls("app", "test",
			"first_server", "129.0.1.1",
			"ua", "curl/7.68.0",
			"server_list", `["129.0.1.1","10.2.1.3"]`,
			"headers", "{\n\t\t\t\"Accept\": \"*/*\",\n\t\t\t\"User-Agent\": \"curl/7.68.0\"\n\t\t}",
			"protocol", "HTTP/2.0",
			"missing", "",
			"status", "401")},
		{name: "invalid json", line: `{"a":`, want: lbls("app", "test", "__error__", "JSONParserErr",
			"__error_details__", "unexpected end of JSON input")},
		{name: "not json", line: `level=info`, want: lbls("app", "test", "__error__", "JSONParserErr")},
		{name: "empty line", line: ``, want: lbls("app", "test")},
	})
	for _, bad := range []log.LabelExtractionExpr{{Identifier: "1x"}, {Identifier: "a", Expression: "b[x]"}, {Identifier: "a", Expression: "b..c"}, {Identifier: "a", Expression: `b["c`}} {
		if _, err := log.NewJSONExpressionParser([]log.LabelExtractionExpr{bad}); err == nil {
			t.Errorf("NewJSONExpressionParser(%+v) = nil error, want one", bad)
		}
	}
}

func TestLogfmtParser(t *testing.T) {
	docLine := `at=info method=GET path=/ host=grafana.net fwd="124.133.124.161" service=8ms status=200`
	docWant := lbls("app", "test", "at", "info", "method", "GET", "path", "/", "host", "grafana.net",
		"fwd", "124.133.124.161", "service", "8ms", "status", "200")
	runParserCases(t, func() log.Stage { return log.NewLogfmtParser(false, false) }, []parserCase{
		{name: "loki docs example", line: docLine, want: docWant},
		{name: "quoted with escapes", line: `msg="hello \"world\"\n" k=v`,
			want: lbls("app", "test", "msg", "hello \"world\"\n", "k", "v")},
		{name: "standalone and empty keys skipped", line: `a b= c="" d=1`, want: lbls("app", "test", "d", "1")},
		{name: "invalid tokens skipped", line: `a=b=c d=e "x" f="unterminated`, want: lbls("app", "test", "d", "e")},
		{name: "clash with stream label", stream: lbls("app", "x"), line: `app=y`, want: lbls("app", "x", "app_extracted", "y")},
		{name: "sanitised", line: `a.b=1 2c=2`, want: lbls("app", "test", "a_b", "1", "_2c", "2")},
	})
	runParserCases(t, func() log.Stage { return log.NewLogfmtParser(true, false) }, []parserCase{
		{name: "strict ok", line: docLine, want: docWant},
		{name: "strict error", line: `foo=bar =baz x=y`, want: lbls("app", "test", "foo", "bar",
			"__error__", "LogfmtParserErr", "__error_details__", "logfmt syntax error at pos 9 : unexpected '='")},
		{name: "strict unterminated", line: `a="b`, want: lbls("app", "test",
			"__error__", "LogfmtParserErr", "__error_details__", "logfmt syntax error at pos 5 : unterminated quoted value")},
	})
	runParserCases(t, func() log.Stage { return log.NewLogfmtParser(false, true) }, []parserCase{
		{name: "keep empty", line: `a b= c="" d=1`, want: lbls("app", "test", "a", "", "b", "", "c", "", "d", "1")},
	})
	exprs := []log.LabelExtractionExpr{{Identifier: "host"}, {Identifier: "fwd_ip", Expression: "fwd"}}
	runParserCases(t, func() log.Stage {
		return must[*log.LogfmtExpressionParser](t)(log.NewLogfmtExpressionParser(exprs, false, false))
	}, []parserCase{
		{name: "with parameters", line: docLine, want: lbls("app", "test", "host", "grafana.net", "fwd_ip", "124.133.124.161")},
		{name: "missing keys are empty", line: "a=b host=", want: lbls("app", "test", "host", "", "fwd_ip", "")},
	})
}

func TestRegexpParser(t *testing.T) {
	re := `(?P<method>\w+) (?P<path>[\w|/]+) \((?P<status>\d+?)\) (?P<duration>.*)`
	runParserCases(t, func() log.Stage { return must[*log.RegexpParser](t)(log.NewRegexpParser(re)) }, []parserCase{
		{name: "loki docs example", line: "POST /api/prom/api/v1/query_range (200) 1.5s", want: lbls("app", "test",
			"method", "POST", "path", "/api/prom/api/v1/query_range", "status", "200", "duration", "1.5s")},
		{name: "no match", line: "nothing", want: lbls("app", "test")},
	})
	for _, bad := range []string{"(", "(a)", "(?P<1a>x)", "(?P<a>x)(?P<a>y)"} {
		if _, err := log.NewRegexpParser(bad); err == nil {
			t.Errorf("NewRegexpParser(%q) = nil error, want one", bad)
		}
	}
}

func TestPatternParser(t *testing.T) {
	line := `0.191.12.2 - - [10/Jun/2021:09:14:29 +0000] "GET /api/plugins/versioncheck HTTP/1.1" 200 2 "-" "Go-http-client/2.0" "13.76.247.102, 34.120.177.193" "TLSv1.2" "US" ""`
	p := `<ip> - - <_> "<method> <uri> <_>" <status> <size> <_> "<agent>" <_>`
	runParserCases(t, func() log.Stage { return must[*log.PatternParser](t)(log.NewPatternParser(p)) }, []parserCase{
		{name: "loki docs example", line: line, want: lbls("app", "test",
			"ip", "0.191.12.2", "method", "GET", "uri", "/api/plugins/versioncheck", "status", "200",
			"size", "2", "agent", "Go-http-client/2.0")},
	})
	runParserCases(t, func() log.Stage { return must[*log.PatternParser](t)(log.NewPatternParser("[<level>] <msg> (<code>)")) }, []parserCase{
		{name: "missing literal: capture takes the rest", line: "[warn] disk almost full", want: lbls("app", "test", "level", "warn", "msg", "disk almost full")},
		{name: "leading literal must start the line", line: "warn disk", want: lbls("app", "test")},
		{name: "clash with stream label", stream: lbls("level", "x"), line: "[warn] a (1)", want: lbls("level", "x", "level_extracted", "warn", "msg", "a", "code", "1")},
	})
	for _, bad := range []string{"<_>", "no captures", "<a><b>", "<a> <a>"} {
		if _, err := log.NewPatternParser(bad); err == nil {
			t.Errorf("NewPatternParser(%q) = nil error, want one", bad)
		}
	}
}

func TestUnpackParser(t *testing.T) {
	runParserCases(t, func() log.Stage { return log.NewUnpackParser() }, []parserCase{
		{name: "loki docs example", line: `{"container":"myapp","pod":"pod-3223f","_entry":"original log message"}`,
			want: lbls("app", "test", "container", "myapp", "pod", "pod-3223f")},
		{name: "non-strings ignored", line: `{"a":1,"b":{"c":"d"},"e":"f","_entry":"x"}`, want: lbls("app", "test", "e", "f")},
		{name: "without _entry nothing is extracted", line: `{"e":"f"}`, want: lbls("app", "test")},
		{name: "clash with stream label", stream: lbls("pod", "p"), line: `{"pod":"q","_entry":"x"}`, want: lbls("pod", "p", "pod_extracted", "q")},
		{name: "empty line", line: ``, want: lbls("app", "test")},
		{name: "not an object", line: `nope`, want: lbls("app", "test", "__error__", "JSONParserErr",
			"__error_details__", `expecting json object(6), but it is not`)},
		{name: "broken object", line: `{"_entry":"x",`, want: lbls("app", "test", "__error__", "JSONParserErr",
			"__error_details__", `unexpected end of JSON input`)},
	})
	out, _, _ := run(t, lbls("app", "x"), `{"_entry":"line \"one\"","a":"b"}`, log.NewUnpackParser())
	if out != `line "one"` {
		t.Errorf("unpack line = %q, want %q", out, `line "one"`)
	}
}
