package log_test

import (
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logql/log"
)

var (
	benchJSON = []byte(`{"level":"info","ts":"2024-01-15T10:30:00.123Z","caller":"http.go:194","component":"querier",` +
		`"org_id":"29","traceID":"4d6e8f9a2b1c3d5e","msg":"GET /loki/api/v1/query_range (200) 1.352ms",` +
		`"request":{"method":"GET","path":"/loki/api/v1/query_range","headers":{"User-Agent":"Grafana/10.2"}},` +
		`"status":200,"duration":"1.352ms","bytes":1423,"tags":["a","b"]}`)
	benchRegexp  = `^level=(?P<level>\w+) ts=(?P<ts>\S+) caller=(?P<caller>\S+) .* status=(?P<status>\d+) duration=(?P<duration>\S+)`
	benchPattern = `level=<level> ts=<ts> caller=<caller> component=<component> <_> msg="<msg>" <_> status=<status> duration=<duration> <_>`
)

func benchStage(b *testing.B, line []byte, stages ...log.Stage) {
	sp := log.NewPipeline(stages).ForStream(labels.FromStrings("app", "loki", "namespace", "prod"))
	if _, _, ok := sp.Process(0, line, labels.EmptyLabels()); !ok {
		b.Fatal("entry dropped")
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		sp.Process(0, line, labels.EmptyLabels())
	}
}

func BenchmarkParsers(b *testing.B) {
	b.Run("json", func(b *testing.B) { benchStage(b, benchJSON, log.NewJSONParser()) })
	b.Run("json_params", func(b *testing.B) {
		p, err := log.NewJSONExpressionParser([]log.LabelExtractionExpr{
			{Identifier: "status"}, {Identifier: "ua", Expression: `request.headers["User-Agent"]`}})
		if err != nil {
			b.Fatal(err)
		}
		benchStage(b, benchJSON, p)
	})
	b.Run("logfmt", func(b *testing.B) { benchStage(b, benchLine, log.NewLogfmtParser(false, false)) })
	b.Run("logfmt_params", func(b *testing.B) {
		p, err := log.NewLogfmtExpressionParser([]log.LabelExtractionExpr{{Identifier: "status"}, {Identifier: "method"}}, false, false)
		if err != nil {
			b.Fatal(err)
		}
		benchStage(b, benchLine, p)
	})
	b.Run("regexp", func(b *testing.B) {
		p, err := log.NewRegexpParser(benchRegexp)
		if err != nil {
			b.Fatal(err)
		}
		benchStage(b, benchLine, p)
	})
	b.Run("pattern", func(b *testing.B) {
		p, err := log.NewPatternParser(benchPattern)
		if err != nil {
			b.Fatal(err)
		}
		benchStage(b, benchLine, p)
	})
	b.Run("unpack", func(b *testing.B) {
		benchStage(b, []byte(`{"container":"api","pod":"api-7d9f","_entry":"level=info msg=\"hello\""}`), log.NewUnpackParser())
	})
}

func BenchmarkLabelFilters(b *testing.B) {
	m, _ := labels.NewMatcher(labels.MatchRegexp, "method", "GET|POST")
	f := log.NewAndLabelFilter(
		log.NewNumericLabelFilter(log.LabelFilterGreaterThanOrEqual, "status", 200),
		log.NewOrLabelFilter(
			log.NewDurationLabelFilter(log.LabelFilterGreaterThan, "duration", time.Millisecond),
			log.NewStringLabelFilter(m)))
	b.Run("logfmt+filters", func(b *testing.B) { benchStage(b, benchLine, log.NewLogfmtParser(false, false), f) })
	b.Run("bytes", func(b *testing.B) {
		benchStage(b, benchLine, log.NewLogfmtParser(false, false), log.NewBytesLabelFilter(log.LabelFilterGreaterThan, "bytes", 1000))
	})
}

func BenchmarkFormat(b *testing.B) {
	lf, err := log.NewLineFormatter(`{{.level | upper}} {{.status}} {{.path}}`)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("line_format", func(b *testing.B) { benchStage(b, benchLine, log.NewLogfmtParser(false, false), lf) })
	lb, err := log.NewLabelsFormatter([]log.LabelFmt{log.NewRenameLabelFmt("code", "status"), log.NewTemplateLabelFmt("x", "{{.method}}-{{.org_id}}")})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("label_format", func(b *testing.B) { benchStage(b, benchLine, log.NewLogfmtParser(false, false), lb) })
	b.Run("decolorize", func(b *testing.B) {
		benchStage(b, []byte("\x1b[32mINFO\x1b[0m "+string(benchLine)), log.NewDecolorizer())
	})
}
