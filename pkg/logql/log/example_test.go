package log_test

import (
	"fmt"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logql/log"
)

// The pipeline of `{app="api"} |= "GET" | logfmt | status >= 500 | line_format "{{.method}} {{.path}}"`.
func ExampleNewPipeline() {
	contains, _ := log.NewFilter("GET", log.LineMatchEqual)
	format, _ := log.NewLineFormatter("{{.method}} {{.path}} {{.status}}")
	p := log.NewPipeline([]log.Stage{
		contains.ToStage(),
		log.NewLogfmtParser(false, false),
		log.NewNumericLabelFilter(log.LabelFilterGreaterThanOrEqual, "status", 500),
		format,
	})
	sp := p.ForStream(labels.FromStrings("app", "api"))
	for _, line := range []string{
		"method=GET path=/ok status=200",
		"method=GET path=/boom status=503",
		"method=POST path=/boom status=500",
	} {
		if out, res, ok := sp.Process(time.Now().UnixNano(), []byte(line), labels.EmptyLabels()); ok {
			fmt.Println(string(out), res)
		}
	}
	// Output:
	// GET /boom 503 {app="api", method="GET", path="/boom", status="503"}
}

// Line filters work on their own, as the engine pushes them down to storage.
func ExampleNewFilter() {
	f, _ := log.NewFilter("(?i)error|panic", log.LineMatchRegexp)
	filter := f.Filter // a func([]byte) bool
	fmt.Println(filter([]byte("level=ERROR msg=boom")), filter([]byte("level=info")))
	// Output: true false
}

func ExampleNewJSONParser() {
	sp := log.NewPipeline([]log.Stage{log.NewJSONParser()}).ForStream(labels.FromStrings("app", "api"))
	_, res, _ := sp.Process(0, []byte(`{"level":"info","app":"web","request":{"method":"GET"},"tags":["a"]}`), labels.EmptyLabels())
	fmt.Println(res.Stream(), res.Parsed())
	// Output: {app="api"} {app_extracted="web", level="info", request_method="GET"}
}

// `sum by (path) (rate({app="api"} | logfmt | unwrap duration(latency) [5m]))` extracts seconds.
func ExampleNewLabelSampleExtractor() {
	ex, _ := log.NewLabelSampleExtractor("latency", log.ConvertDuration, []log.Stage{log.NewLogfmtParser(false, false)}, nil)
	v, res, ok := ex.ForStream(labels.FromStrings("app", "api")).Process(0, []byte("path=/x latency=1m30s"), labels.EmptyLabels())
	fmt.Println(v, res, ok)
	// Output: 90 {app="api", path="/x"} true
}
