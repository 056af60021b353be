package stages

import (
	"bufio"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/sluicelog/sluice/promtail/ack"
	"github.com/sluicelog/sluice/promtail/entry"
)

// run builds a pipeline from YAML and feeds it lines, returning what came out.
type result struct {
	line   string
	ts     int64
	labels model.LabelSet
	meta   string
}

func build(t testing.TB, y string, reg prometheus.Registerer) *Pipeline {
	t.Helper()
	var nodes []yaml.Node
	if err := yaml.Unmarshal([]byte(y), &nodes); err != nil {
		t.Fatalf("yaml: %v", err)
	}
	tmpl, err := Build(nodes, Options{JobName: "test", Registerer: reg})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return tmpl.New()
}

func feed(t testing.TB, p *Pipeline, tr *ack.Tracker, lines ...string) []result {
	t.Helper()
	var out []result
	emit := func(_ context.Context, it Item) error {
		out = append(out, result{line: it.Line, ts: it.Timestamp, labels: it.Labels().Clone(), meta: it.StructuredMetadata.String()})
		it.Ack.Done()
		return nil
	}
	base := model.LabelSet{"job": "x"}
	var off int64
	for _, l := range lines {
		off += int64(len(l) + 1)
		var a ack.Ack
		if tr != nil {
			a = tr.Add(off)
		}
		e := entry.New(base, "", l, 42, a)
		if err := p.Process(context.Background(), e, emit); err != nil {
			t.Fatalf("Process(%q): %v", l, err)
		}
	}
	return out
}

func TestCRIJoinsPartialLines(t *testing.T) {
	p := build(t, `[{cri: {}}]`, nil)
	tr := ack.NewTracker(0, 1)
	lines := []string{
		"2019-04-30T02:12:41.8443515Z stdout P part one ",
		"2019-04-30T02:12:42.0000000Z stderr F an error",
		"2019-04-30T02:12:43.0000000Z stdout P part two ",
		"2019-04-30T02:12:44.0000000Z stdout F the end",
		"not cri at all",
	}
	out := feed(t, p, tr, lines...)
	if len(out) != 3 {
		t.Fatalf("got %d entries, want 3: %+v", len(out), out)
	}
	if out[0].line != "an error" || out[0].labels["stream"] != "stderr" {
		t.Errorf("entry 0 = %+v", out[0])
	}
	if out[1].line != "part one part two the end" || out[1].labels["stream"] != "stdout" {
		t.Errorf("joined entry = %+v", out[1])
	}
	if want := time.Date(2019, 4, 30, 2, 12, 44, 0, time.UTC).UnixNano(); out[1].ts != want {
		t.Errorf("joined timestamp = %d, want %d", out[1].ts, want)
	}
	if out[2].line != "not cri at all" {
		t.Errorf("passthrough = %+v", out[2])
	}
	// Every line finished: the position reaches the end even though the stderr line was
	// acknowledged before the partial stdout lines around it.
	var total int64
	for _, l := range lines {
		total += int64(len(l) + 1)
	}
	if tr.Committed() != total || tr.Pending() != 0 {
		t.Errorf("committed %d pending %d, want %d and 0", tr.Committed(), tr.Pending(), total)
	}
}

func TestCRIMaxPartialLines(t *testing.T) {
	p := build(t, `[{cri: {max_partial_lines: 3}}]`, nil)
	var lines []string
	for i := 0; i < 7; i++ {
		lines = append(lines, "2019-04-30T02:12:41Z stdout P x")
	}
	out := feed(t, p, nil, lines...)
	if len(out) != 2 || out[0].line != "xxx" || out[1].line != "xxx" {
		t.Fatalf("got %+v, want two entries of 3 parts", out)
	}
}

func TestDockerStage(t *testing.T) {
	p := build(t, `[{docker: {}}]`, nil)
	out := feed(t, p, nil, `{"log":"hello\n","stream":"stderr","time":"2019-04-30T02:12:41.8443515Z"}`)
	if len(out) != 1 || out[0].line != "hello\n" || out[0].labels["stream"] != "stderr" {
		t.Fatalf("got %+v", out)
	}
	if want := time.Date(2019, 4, 30, 2, 12, 41, 844351500, time.UTC).UnixNano(); out[0].ts != want {
		t.Errorf("ts = %d, want %d", out[0].ts, want)
	}
}

func TestParsersLabelsTimestampOutput(t *testing.T) {
	check := func(name, cfg, line, wantLine string, wantLabels model.LabelSet, wantTS int64) {
		t.Helper()
		out := feed(t, build(t, cfg, nil), nil, line)
		if len(out) != 1 {
			t.Fatalf("%s: got %d entries", name, len(out))
		}
		if out[0].line != wantLine {
			t.Errorf("%s: line = %q, want %q", name, out[0].line, wantLine)
		}
		for k, v := range wantLabels {
			if out[0].labels[k] != v {
				t.Errorf("%s: label %s = %q, want %q (all %v)", name, k, out[0].labels[k], v, out[0].labels)
			}
		}
		if wantTS != 0 && out[0].ts != wantTS {
			t.Errorf("%s: ts = %d, want %d", name, out[0].ts, wantTS)
		}
	}
	check("regex", `
- regex: {expression: '^(?P<level>\w+) (?P<msg>.*)$'}
- labels: {level: ""}
- output: {source: msg}`, "warn disk full", "disk full", model.LabelSet{"level": "warn"}, 0)
	check("json jmespath", `
- json: {expressions: {lvl: level, user: "ctx.user", ts: time}}
- labels: {lvl: "", user: ""}
- timestamp: {source: ts, format: RFC3339}`, `{"level":"info","ctx":{"user":"ann"},"time":"2024-05-01T10:00:00Z"}`,
		`{"level":"info","ctx":{"user":"ann"},"time":"2024-05-01T10:00:00Z"}`, model.LabelSet{"lvl": "info", "user": "ann"},
		time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC).UnixNano())
	check("logfmt unix ms", `
- logfmt: {mapping: {t: ts, level: ""}}
- timestamp: {source: t, format: UnixMs}
- labels: {level: ""}`, `level=debug ts=1700000000123 msg="a b"`, `level=debug ts=1700000000123 msg="a b"`,
		model.LabelSet{"level": "debug"}, 1700000000123*int64(time.Millisecond))
	check("timestamp fallback and location", `
- regex: {expression: '^(?P<t>\S+ \S+)'}
- timestamp: {source: t, format: "2006-01-02T15:04:05Z07:00", fallback_formats: ["2006-01-02 15:04:05"], location: "America/New_York"}`,
		"2024-01-02 03:04:05 hi", "2024-01-02 03:04:05 hi", nil,
		time.Date(2024, 1, 2, 8, 4, 5, 0, time.UTC).UnixNano())
	check("timestamp skip on failure", `
- regex: {expression: '^(?P<t>\S+)'}
- timestamp: {source: t, format: RFC3339, action_on_failure: skip}`, "garbage", "garbage", nil, 42)
	check("static labels, drop, allow", `
- static_labels: {env: prod, team: a}
- labeldrop: [team]
- labelallow: [env, job]`, "x", "x", model.LabelSet{"env": "prod", "job": "x"}, 0)
	check("replace", `
- replace: {expression: 'password=(\S+)', replace: '****'}`, "user=a password=secret x", "user=a password=**** x", nil, 0)
	check("template", `
- regex: {expression: '^(?P<level>\w+)'}
- template: {source: level, template: '{{ ToUpper .Value }}'}
- labels: {level: ""}`, "warn x", "warn x", model.LabelSet{"level": "WARN"}, 0)
	check("tenant", `
- tenant: {value: team-a}`, "x", "x", model.LabelSet{"__tenant_id__": "team-a"}, 0)
	check("decolorize", `[{decolorize: {}}]`, "\x1b[31mred\x1b[0m text", "red text", nil, 0)
	check("pack", `
- static_labels: {pod: p1}
- pack: {labels: [pod], ingest_timestamp: false}`, "hello", `{"_entry":"hello","pod":"p1"}`, nil, 42)
}

func TestStructuredMetadata(t *testing.T) {
	out := feed(t, build(t, `
- logfmt: {}
- structured_metadata: {trace_id: ""}`, nil), nil, "trace_id=abc msg=x")
	if len(out) != 1 || out[0].meta != `{trace_id="abc"}` {
		t.Fatalf("got %+v", out)
	}
	if _, ok := out[0].labels["trace_id"]; ok {
		t.Error("structured metadata became a label")
	}
}

func TestMatchAndDrop(t *testing.T) {
	p := build(t, `
- match:
    selector: '{job="x"} |= "debug"'
    action: drop
- match:
    selector: '{job=~"x|y"} !~ "skip"'
    stages:
      - static_labels: {matched: "yes"}
- drop: {expression: "^noise"}
- drop: {longer_than: 20}`, nil)
	tr := ack.NewTracker(0, 1)
	out := feed(t, p, tr, "a debug line", "keep me", "skip me", "noise here", "this line is far too long to keep")
	if len(out) != 2 {
		t.Fatalf("got %+v", out)
	}
	if out[0].line != "keep me" || out[0].labels["matched"] != "yes" {
		t.Errorf("entry 0 = %+v", out[0])
	}
	if out[1].line != "skip me" || out[1].labels["matched"] != "" {
		t.Errorf("entry 1 = %+v", out[1])
	}
	if tr.Pending() != 0 {
		t.Errorf("dropped lines left %d pending acks", tr.Pending())
	}
}

func TestMultiline(t *testing.T) {
	p := build(t, `
- multiline: {firstline: '^\d{4}-', max_wait_time: 50ms}`, nil)
	tr := ack.NewTracker(0, 1)
	out := feed(t, p, tr, "2024-01-01 start", "  at frame 1", "  at frame 2", "2024-01-01 next")
	if len(out) != 1 || out[0].line != "2024-01-01 start\n  at frame 1\n  at frame 2" {
		t.Fatalf("got %+v", out)
	}
	var flushed []string
	err := p.Flush(context.Background(), time.Now().Add(time.Second), func(_ context.Context, it Item) error {
		flushed = append(flushed, it.Line)
		it.Ack.Done()
		return nil
	})
	if err != nil || len(flushed) != 1 || flushed[0] != "2024-01-01 next" {
		t.Fatalf("Flush = %v, %v", flushed, err)
	}
	if tr.Pending() != 0 {
		t.Errorf("%d lines pending after flush", tr.Pending())
	}
}

func TestMetricsStage(t *testing.T) {
	reg := prometheus.NewRegistry()
	p := build(t, `
- regex: {expression: '^(?P<level>\w+) (?P<dur>\S+)'}
- metrics:
    lines_total: {type: Counter, description: all lines, config: {match_all: true, action: inc}}
    errors_total: {type: Counter, source: level, config: {value: error, action: inc}}
    last_dur: {type: Gauge, source: dur, config: {action: set}}
    dur_hist: {type: Histogram, source: dur, config: {buckets: [1, 10]}}`, reg)
	feed(t, p, nil, "info 0.5", "error 5", "error 20")
	check := func(name string, want float64) {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			found = true
			if len(mf.GetMetric()) != 1 {
				t.Fatalf("%s: %d series, want 1", name, len(mf.GetMetric()))
			}
			m := mf.GetMetric()[0]
			var got float64
			switch {
			case m.Counter != nil:
				got = m.Counter.GetValue()
			case m.Gauge != nil:
				got = m.Gauge.GetValue()
			case m.Histogram != nil:
				got = float64(m.Histogram.GetSampleCount())
			}
			if got != want {
				t.Errorf("%s = %v, want %v", name, got, want)
			}
		}
		if !found {
			t.Fatalf("%s not gathered", name)
		}
	}
	check("promtail_custom_lines_total", 3)
	check("promtail_custom_errors_total", 2)
	check("promtail_custom_last_dur", 20)
	check("promtail_custom_dur_hist", 3)
}

func TestLimitDrop(t *testing.T) {
	p := build(t, `[{limit: {rate: 1, burst: 2, drop: true}}]`, nil)
	tr := ack.NewTracker(0, 1)
	out := feed(t, p, tr, "a", "b", "c", "d")
	if len(out) != 2 || tr.Pending() != 0 {
		t.Fatalf("got %d entries, %d pending; want 2 and 0", len(out), tr.Pending())
	}
}

func TestSampling(t *testing.T) {
	tr := ack.NewTracker(0, 1)
	lines := make([]string, 2000)
	for i := range lines {
		lines[i] = "x"
	}
	out := feed(t, build(t, `[{sampling: {rate: 0.25}}]`, nil), tr, lines...)
	if len(out) < 350 || len(out) > 650 || tr.Pending() != 0 {
		t.Fatalf("kept %d of 2000 at rate 0.25 (%d pending)", len(out), tr.Pending())
	}
}

func TestBuildErrors(t *testing.T) {
	for _, y := range []string{
		`[{nope: {}}]`,
		`[{regex: {expression: "("}}]`,
		`[{json: {expressions: {a: "[["}}}]`,
		`[{timestamp: {source: t}}]`,
		`[{match: {selector: "{a=}", stages: [{docker: {}}]}}]`,
		`[{match: {selector: '{a="b"}'}}]`,
		`[{multiline: {}}]`,
		`[{metrics: {m: {type: Counter, config: {action: set}}}}]`,
		`[{tenant: {}}]`,
		`[{cri: {}, docker: {}}]`,
		`[{sampling: {rate: 2}}]`,
	} {
		var nodes []yaml.Node
		if err := yaml.Unmarshal([]byte(y), &nodes); err != nil {
			t.Fatalf("yaml %s: %v", y, err)
		}
		if _, err := Build(nodes, Options{}); err == nil {
			t.Errorf("Build(%s) succeeded, want an error", y)
		}
	}
}

func seeds(f *testing.F, name string) {
	fh, err := os.Open(name)
	if err != nil {
		f.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		f.Add(sc.Text())
	}
}

func FuzzCRI(f *testing.F) {
	seeds(f, "testdata/cri.txt")
	f.Fuzz(func(t *testing.T, line string) {
		l, err := ParseCRI(line)
		if err != nil {
			return
		}
		if l.Stream != "stdout" && l.Stream != "stderr" {
			t.Fatalf("stream %q", l.Stream)
		}
		if !strings.HasSuffix(line, l.Content) {
			t.Fatalf("content %q is not the end of %q", l.Content, line)
		}
		// Re-encode and decode: same record.
		flag := "F"
		if l.Partial {
			flag = "P"
		}
		again, err := ParseCRI(l.Time.Format(time.RFC3339Nano) + " " + l.Stream + " " + flag + " " + l.Content)
		if err != nil || !again.Time.Equal(l.Time) || again.Content != l.Content || again.Partial != l.Partial {
			t.Fatalf("round trip of %q: %+v, %v", line, again, err)
		}
	})
}

func FuzzDocker(f *testing.F) {
	seeds(f, "testdata/docker.txt")
	f.Fuzz(func(t *testing.T, line string) {
		d, err := ParseDocker(line)
		if err != nil {
			return
		}
		p := build(t, `[{docker: {}}]`, nil)
		out := feed(t, p, nil, line)
		if len(out) != 1 || out[0].line != d.Log {
			t.Fatalf("stage output %+v, parsed %+v", out, d)
		}
	})
}

func BenchmarkCRIPipeline(b *testing.B) {
	p := build(b, `[{cri: {}}]`, nil)
	line := "2019-04-30T02:12:41.8443515Z stdout F " + strings.Repeat("x", 200)
	base := model.LabelSet{"job": "x"}
	emit := func(context.Context, Item) error { return nil }
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		_ = p.Process(context.Background(), entry.New(base, `{job="x"}`, line, 1, ack.Ack{}), emit)
	}
}
