package log_test

import (
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logql/log"
)

// The fuzz targets feed arbitrary lines to the parsers; they must never panic or hang, and the
// labels they produce must be a valid, sorted label set without duplicates.

func checkResult(t *testing.T, res log.LabelsResult) {
	t.Helper()
	prev := ""
	res.Labels().Range(func(l labels.Label) {
		if l.Name <= prev && prev != "" {
			t.Fatalf("labels not sorted or duplicated: %s", res)
		}
		prev = l.Name
		if l.Name == "" {
			t.Fatalf("empty label name in %s", res)
		}
	})
}

func FuzzLogfmt(f *testing.F) {
	for _, s := range []string{
		`at=info method=GET path=/ host=grafana.net fwd="124.133.124.161" service=8ms status=200`,
		`a="b\"c" d= e f=="g"`, `"`, `=`, `a="\u00e9\x"`, "k=\xff\xfe v", `a b c`, ``,
	} {
		f.Add(s)
	}
	parsers := []log.Stage{log.NewLogfmtParser(false, false), log.NewLogfmtParser(true, true)}
	px, _ := log.NewLogfmtExpressionParser([]log.LabelExtractionExpr{{Identifier: "a"}, {Identifier: "b", Expression: "c"}}, false, true)
	parsers = append(parsers, px)
	f.Fuzz(func(t *testing.T, line string) {
		for _, p := range parsers {
			_, res, ok := log.NewPipeline([]log.Stage{p}).ForStream(labels.FromStrings("a", "x")).Process(0, []byte(line), labels.EmptyLabels())
			if !ok {
				t.Fatal("parser dropped an entry")
			}
			checkResult(t, res)
		}
	})
}

func FuzzJSON(f *testing.F) {
	for _, s := range []string{
		docJSON, string(benchJSON), `{"a":"\ud83d\ude00","b":"\ud800"}`, `{"a":[[[[]]]],"b":{}}`, `[1,2]`,
		`{"a":1}}`, `{"_entry":"x","k":"v"}`, `{`, `{"a":tru}`, `{"a":"b\`,
	} {
		f.Add(s)
	}
	px, _ := log.NewJSONExpressionParser([]log.LabelExtractionExpr{{Identifier: "a", Expression: "a.b[1]"}, {Identifier: "c", Expression: `["c"]`}})
	parsers := []log.Stage{log.NewJSONParser(), px, log.NewUnpackParser()}
	f.Fuzz(func(t *testing.T, line string) {
		for _, p := range parsers {
			_, res, ok := log.NewPipeline([]log.Stage{p}).ForStream(labels.FromStrings("a", "x")).Process(0, []byte(line), labels.EmptyLabels())
			if !ok {
				t.Fatal("parser dropped an entry")
			}
			checkResult(t, res)
		}
	})
}

func FuzzPattern(f *testing.F) {
	f.Add(`<ip> - - <_> "<method> <uri> <_>" <status> <size> <_> "<agent>" <_>`,
		`0.191.12.2 - - [10/Jun/2021:09:14:29 +0000] "GET /api/plugins/versioncheck HTTP/1.1" 200 2 "-" "Go-http-client/2.0"`)
	f.Add(`[<level>] <msg>`, `[warn] x`)
	f.Add(`<a`, `<a`)
	f.Add(`<_> foo <_>`, ` foo `)
	f.Fuzz(func(t *testing.T, pattern, line string) {
		if p, err := log.NewPatternParser(pattern); err == nil {
			_, res, _ := log.NewPipeline([]log.Stage{p}).ForStream(labels.FromStrings("a", "x")).Process(0, []byte(line), labels.EmptyLabels())
			checkResult(t, res)
		}
		if flt, err := log.NewFilter(pattern, log.LineMatchPattern); err == nil {
			flt.Filter([]byte(line))
		}
	})
}
