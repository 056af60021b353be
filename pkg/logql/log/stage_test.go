package log_test

import (
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logql/log"
)

func TestDecolorize(t *testing.T) {
	for in, want := range map[string]string{
		"plain line":                          "plain line",
		"\x1b[31mred\x1b[0m text":             "red text",
		"\x1b[1;32mbold green\x1b[39;49m!":    "bold green!",
		"a\x1b[2Kb":                           "ab",
		"\x1b]0;title\x07after":               "after",
		"lone \x1b escape":                    "lone \x1b escape",
		"\x1b[38;5;208morange\x1b[m and more": "orange and more",
	} {
		out, _, _ := run(t, lbls("app", "a"), in, log.NewDecolorizer())
		if out != want {
			t.Errorf("decolorize(%q) = %q, want %q", in, out, want)
		}
	}
}

func TestDropKeep(t *testing.T) {
	stream := lbls("app", "api", "env", "prod")
	line := "level=debug method=GET status=200"
	mk := func(ms ...any) []log.NamedLabelMatcher {
		var out []log.NamedLabelMatcher
		for _, m := range ms {
			switch m := m.(type) {
			case string:
				out = append(out, log.NamedLabelMatcher{Name: m})
			case *labels.Matcher:
				out = append(out, log.NamedLabelMatcher{Name: m.Name, Matcher: m})
			}
		}
		return out
	}
	tests := []struct {
		name  string
		stage log.Stage
		want  string
	}{
		{"drop names", log.NewDropLabels(mk("level", "env")), `{app="api", method="GET", status="200"}`},
		{"drop matcher hit", log.NewDropLabels(mk(mustMatcher(t, labels.MatchEqual, "level", "debug"))), `{app="api", env="prod", method="GET", status="200"}`},
		{"drop matcher miss", log.NewDropLabels(mk(mustMatcher(t, labels.MatchEqual, "level", "info"))), `{app="api", env="prod", level="debug", method="GET", status="200"}`},
		{"drop regexp matcher", log.NewDropLabels(mk(mustMatcher(t, labels.MatchRegexp, "method", "G.*"))), `{app="api", env="prod", level="debug", status="200"}`},
		{"keep names", log.NewKeepLabels(mk("app", "status")), `{app="api", status="200"}`},
		{"keep matcher", log.NewKeepLabels(mk("app", mustMatcher(t, labels.MatchEqual, "level", "info"), mustMatcher(t, labels.MatchEqual, "method", "GET"))), `{app="api", method="GET"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, res, _ := run(t, stream, line, log.NewLogfmtParser(false, false), tt.stage)
			if res.String() != tt.want {
				t.Errorf("labels = %s, want %s", res, tt.want)
			}
		})
	}
	// keep never removes the error labels; drop __error__ clears them.
	_, res, _ := run(t, stream, "{", log.NewJSONParser(), log.NewKeepLabels(mk("app")))
	if res.Labels().Get("__error__") != "JSONParserErr" || res.Labels().Get("env") != "" {
		t.Errorf("keep: labels %s, want app and the error labels", res)
	}
	_, res, _ = run(t, stream, "{", log.NewJSONParser(), log.NewDropLabels(mk("__error__", "__error_details__")))
	if res.String() != `{app="api", env="prod"}` {
		t.Errorf("drop __error__: labels %s", res)
	}
}

func TestDistinct(t *testing.T) {
	p := log.NewPipeline([]log.Stage{log.NewLogfmtParser(false, false), log.NewDistinctFilter([]string{"id", "kind"})})
	sp := p.ForStream(lbls("app", "a"))
	var kept []string
	// Each label is deduplicated on its own, and entries missing a label pass.
	for _, l := range []string{"id=1 kind=a", "id=1 kind=b", "id=2 kind=a", "id=2 kind=b", "id=3", "id=3", "other=1"} {
		if _, _, ok := sp.Process(0, []byte(l), labels.EmptyLabels()); ok {
			kept = append(kept, l)
		}
	}
	// "id=2 kind=a" records id=2 before kind=a is found seen, so "id=2 kind=b" is dropped too;
	// "id=3" passes because kind is missing, but records id=3.
	want := []string{"id=1 kind=a", "id=3", "other=1"}
	if len(kept) != len(want) {
		t.Fatalf("kept %q, want %q", kept, want)
	}
	for i := range want {
		if kept[i] != want[i] {
			t.Fatalf("kept %q, want %q", kept, want)
		}
	}
	// Distinct spans streams of the same pipeline.
	if _, _, ok := p.ForStream(lbls("app", "b")).Process(0, []byte("id=1 kind=c"), labels.EmptyLabels()); ok {
		t.Error("distinct kept a duplicate from another stream")
	}
}
