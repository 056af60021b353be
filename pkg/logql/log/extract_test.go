package log_test

import (
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logql/log"
)

func TestLineSampleExtractor(t *testing.T) {
	lf, _ := log.NewLineFormatter("{{.msg}}")
	for _, tc := range []struct {
		name string
		ex   log.LineExtractor
		want float64
	}{
		{"count", log.CountExtractor, 1},
		{"bytes of the processed line", log.BytesExtractor, 5},
	} {
		e := log.NewLineSampleExtractor(tc.ex, []log.Stage{log.NewLogfmtParser(false, false), lf})
		v, res, ok := e.ForStream(lbls("app", "a")).Process(0, []byte("msg=hello level=info"), labels.EmptyLabels())
		if !ok || v != tc.want || res.Labels().Get("level") != "info" {
			t.Errorf("%s: Process = %v, %s, %v; want %v", tc.name, v, res, ok, tc.want)
		}
	}
}

func TestLabelSampleExtractor(t *testing.T) {
	noErr := log.NewStringLabelFilter(mustMatcher(t, labels.MatchEqual, "__error__", ""))
	tests := []struct {
		name, conv, line string
		post             log.Stage
		want             float64
		ok               bool
		err              string
	}{
		{"float", log.ConvertFloat, "latency=1.25 status=200", nil, 1.25, true, ""},
		{"duration", log.ConvertDuration, "latency=1m30s status=200", nil, 90, true, ""},
		{"duration_seconds", log.ConvertDurationSeconds, "latency=250ms status=200", nil, 0.25, true, ""},
		{"bytes", log.ConvertBytes, "latency=2KiB status=200", nil, 2048, true, ""},
		{"missing label: no sample", log.ConvertFloat, "status=200", nil, 0, false, ""},
		{"bad value", log.ConvertFloat, "latency=fast status=200", nil, 0, true, "SampleExtractionErr"},
		{"bad value dropped by post filter", log.ConvertFloat, "latency=fast status=200", noErr, 0, false, ""},
		{"bad duration", log.ConvertDuration, "latency=12 status=200", nil, 0, true, "SampleExtractionErr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := log.NewLabelSampleExtractor("latency", tt.conv, []log.Stage{log.NewLogfmtParser(false, false)}, tt.post)
			if err != nil {
				t.Fatal(err)
			}
			v, res, ok := e.ForStream(lbls("app", "a")).Process(0, []byte(tt.line), labels.EmptyLabels())
			if ok != tt.ok || v != tt.want {
				t.Fatalf("Process(%q) = %v, %v; want %v, %v", tt.line, v, ok, tt.want, tt.ok)
			}
			if !ok {
				return
			}
			if res.Labels().Has("latency") {
				t.Errorf("unwrapped label kept: %s", res)
			}
			if got := res.Labels().Get("__error__"); got != tt.err {
				t.Errorf("__error__ = %q, want %q", got, tt.err)
			}
			if res.Labels().Get("status") != "200" {
				t.Errorf("labels %s lack status", res)
			}
		})
	}
	if _, err := log.NewLabelSampleExtractor("x", "nope", nil, nil); err == nil {
		t.Error("unknown conversion: want an error")
	}
}
