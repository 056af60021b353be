package log_test

import (
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logql/log"
	"github.com/sluicelog/sluice/pkg/race"
)

func TestNoopPipeline(t *testing.T) {
	stream := lbls("app", "api", "env", "prod")
	sp := log.NewNoopPipeline().ForStream(stream)
	out, res, ok := sp.Process(1, []byte("hello"), labels.EmptyLabels())
	if !ok || string(out) != "hello" || !labels.Equal(res.Labels(), stream) {
		t.Fatalf("Process = %q, %v, %v", out, res, ok)
	}
	if res != sp.BaseLabels() {
		t.Error("unchanged entry did not get the stream's cached LabelsResult")
	}
	if res.Hash() != stream.Hash() || res.String() != stream.String() {
		t.Error("Hash or String differ from the label set's")
	}
	s, _, _ := sp.ProcessString(1, "str", labels.EmptyLabels())
	if s != "str" {
		t.Errorf("ProcessString = %q", s)
	}
}

func TestStructuredMetadataCategories(t *testing.T) {
	stream := lbls("app", "api")
	sp := log.NewPipeline([]log.Stage{log.NewLogfmtParser(false, false)}).ForStream(stream)
	_, res, _ := sp.Process(1, []byte("level=info app=x"), lbls("trace.id", "abc", "user", "u1", "app", "sm"))
	check := func(name string, got labels.Labels, want string) {
		t.Helper()
		if got.String() != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}
	// The parsed app_extracted replaces the structured metadata's app_extracted: parsed labels
	// take precedence, as in Loki.
	check("Labels", res.Labels(), `{app="api", app_extracted="x", level="info", trace_id="abc", user="u1"}`)
	check("Stream", res.Stream(), `{app="api"}`)
	check("StructuredMetadata", res.StructuredMetadata(), `{trace_id="abc", user="u1"}`)
	check("Parsed", res.Parsed(), `{app_extracted="x", level="info"}`)

	_, res, _ = log.NewNoopPipeline().ForStream(stream).Process(1, []byte("x"), lbls("app", "sm", "k", "v"))
	check("noop Labels", res.Labels(), `{app="api", app_extracted="sm", k="v"}`)
	check("noop StructuredMetadata", res.StructuredMetadata(), `{app_extracted="sm", k="v"}`)
	if res.Hash() != res.Labels().Hash() {
		t.Error("Hash is not Labels().Hash()")
	}
}

func TestLabelsResultCached(t *testing.T) {
	sp := log.NewPipeline([]log.Stage{log.NewLogfmtParser(false, false)}).ForStream(lbls("app", "api"))
	_, r1, _ := sp.Process(1, []byte("level=info"), labels.EmptyLabels())
	_, r2, _ := sp.Process(2, []byte("level=info"), labels.EmptyLabels())
	_, r3, _ := sp.Process(3, []byte("level=warn"), labels.EmptyLabels())
	if r1 != r2 {
		t.Error("same labels twice gave two LabelsResults")
	}
	if r3 == r1 || r3.Labels().Get("level") != "warn" {
		t.Errorf("different labels gave %s", r3)
	}
	if r1.Labels().Get("level") != "info" {
		t.Errorf("earlier result changed: %s", r1)
	}
}

// TestLabelsResultCachedAllocs checks that parsing an entry whose labels were seen before costs
// only the values' strings.
func TestLabelsResultCachedAllocs(t *testing.T) {
	race.SkipAllocs(t)
	sp := log.NewPipeline([]log.Stage{log.NewLogfmtParser(false, false)}).ForStream(lbls("app", "api"))
	line := []byte("level=info")
	sp.Process(1, line, labels.EmptyLabels())
	allocs := testing.AllocsPerRun(100, func() { sp.Process(1, line, labels.EmptyLabels()) })
	if allocs > 1 {
		t.Errorf("logfmt pipeline with cached labels: %v allocations per entry, want <= 1", allocs)
	}
}

func TestForStreamReusesStreamPipelines(t *testing.T) {
	p := log.NewPipeline(nil)
	a := p.ForStream(lbls("app", "a"))
	if p.ForStream(lbls("app", "a")) != a {
		t.Error("ForStream with equal labels returned a new StreamPipeline")
	}
	if p.ForStream(lbls("app", "b")) == a {
		t.Error("ForStream with other labels returned the same StreamPipeline")
	}
}

func TestLabelsBuilder(t *testing.T) {
	b := log.NewLabelsBuilder(lbls("app", "api", "env", "prod"))
	b.Set(log.ParsedLabel, "level", "info")
	b.Del("env")
	if _, ok := b.Get("env"); ok {
		t.Error("deleted label still present")
	}
	if v, cat, ok := b.GetWithCategory("app"); !ok || v != "api" || cat != log.StreamLabel {
		t.Errorf("GetWithCategory(app) = %q %v %v", v, cat, ok)
	}
	if !b.BaseHas("env") {
		t.Error("BaseHas must look at the stream, not the current labels")
	}
	b.SetErr("X")
	b.SetErrorDetails("d")
	if got := b.LabelsResult().String(); got != `{__error__="X", __error_details__="d", app="api", level="info"}` {
		t.Errorf("LabelsResult = %s", got)
	}
	b.Reset()
	if got := b.LabelsResult().String(); got != `{app="api", env="prod"}` {
		t.Errorf("after Reset = %s", got)
	}
}

func TestPipelineStopsAtFirstDrop(t *testing.T) {
	f, _ := log.NewFilter("keep", log.LineMatchEqual)
	lf, _ := log.NewLineFormatter("{{ __line__ }}!")
	sp := log.NewPipeline([]log.Stage{f.ToStage(), lf}).ForStream(lbls("app", "a"))
	if _, _, ok := sp.Process(0, []byte("drop me"), labels.EmptyLabels()); ok {
		t.Error("filtered entry kept")
	}
	out, _, ok := sp.Process(0, []byte("keep me"), labels.EmptyLabels())
	if !ok || string(out) != "keep me!" {
		t.Errorf("Process = %q, %v", out, ok)
	}
}

// One stream pipeline remembers what it did with the names of the last entry's structured
// metadata and replays it for the next entry with the same names: each entry must still get
// its own values, and a change of names (or of their order) must be decided afresh.
func TestStructuredMetadataReplayed(t *testing.T) {
	stream := lbls("app", "api")
	sp := log.NewNoopPipeline().ForStream(stream)
	for _, c := range []struct {
		sm   labels.Labels
		want string
	}{
		{lbls("level", "info"), `{app="api", level="info"}`},
		{lbls("level", "error"), `{app="api", level="error"}`},
		{lbls("app", "sm", "level", "warn"), `{app="api", app_extracted="sm", level="warn"}`},
		{lbls("app", "x", "level", "debug"), `{app="api", app_extracted="x", level="debug"}`},
		{lbls("level", "info", "trace.id", "abc"), `{app="api", level="info", trace_id="abc"}`},
		{lbls("__error__", "E", "level", "info"), `{__error__="E", app="api", level="info"}`},
		{lbls("__error__", "F", "level", "warn"), `{__error__="F", app="api", level="warn"}`},
		{lbls("level", "info"), `{app="api", level="info"}`},
		{labels.EmptyLabels(), `{app="api"}`},
		{lbls("level", "fatal"), `{app="api", level="fatal"}`},
	} {
		_, res, ok := sp.Process(1, []byte("line"), c.sm)
		if !ok || res.Labels().String() != c.want {
			t.Errorf("metadata %s: labels %s, want %s", c.sm, res.Labels(), c.want)
		}
	}
}
