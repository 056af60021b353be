package log_test

import (
	"fmt"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logql/log"
)

// The parsers remember the keys (and values) of the previous line of each stream, and the
// builder the label sets it built. These tests run long sequences of lines through one
// pipeline and check each result against a pipeline built fresh for that line alone, which
// has nothing cached: a stale slot or cache entry shows as a difference.

// cacheEntry is one line of a sequence, for the stream with labels stream.
type cacheEntry struct {
	stream labels.Labels
	line   string
	sm     labels.Labels
}

func cacheSequence() []cacheEntry {
	a := lbls("app", "api", "level", "stream-level")
	b := lbls("app", "web")
	var out []cacheEntry
	add := func(s labels.Labels, line string, sm ...string) {
		out = append(out, cacheEntry{s, line, lbls(sm...)})
	}
	for i := 0; i < 40; i++ {
		// Values that change every line, keys in the usual order.
		add(a, fmt.Sprintf(`{"ts":"t%d","level":"info","status":%d,"user":{"id":%d,"name":"u%d"}}`, i, 200+i%3, i, i%4), "trace_id", fmt.Sprint(i))
		// Same stream, keys in another order and one key missing.
		add(a, fmt.Sprintf(`{"status":500,"ts":"t%d","user":{"name":"u%d"}}`, i, i%2))
		// A parse error between good lines, keeping the labels found before it.
		if i%5 == 0 {
			add(a, `{"level":"error","status":`)
		}
		// The same key at the same position under a prefix of the same length.
		add(a, fmt.Sprintf(`{"req":{"id":%d}}`, i%3))
		add(a, fmt.Sprintf(`{"res":{"id":%d}}`, i%3))
		// The same key bytes under another prefix, escaped keys and keys to sanitise.
		add(b, fmt.Sprintf(`{"user":"u%d","user_id":%d,"us\u0065r":"e%d","1st":"x","a-b":{"c d":%d}}`, i%3, i, i, i%2))
		// Another stream sharing the parser: the _extracted suffix differs per stream.
		add(b, fmt.Sprintf(`{"app":"inner","level":"l%d"}`, i%2))
		// Invalid UTF-8 in a value that otherwise repeats.
		if i%7 == 0 {
			add(b, "{\"app\":\"in\xffner\",\"level\":\"l1\"}")
		}
		add(a, fmt.Sprintf(`{"level":"%s"}`, []string{"info", "warn", "info"}[i%3]))
	}
	return out
}

func logfmtSequence() []cacheEntry {
	a := lbls("app", "api", "level", "stream-level")
	b := lbls("app", "web")
	var out []cacheEntry
	for i := 0; i < 40; i++ {
		out = append(out,
			cacheEntry{stream: a, line: fmt.Sprintf(`ts=t%d level=info status=%d msg="req %d"`, i, 200+i%3, i%2)},
			cacheEntry{stream: a, line: fmt.Sprintf(`status=500 ts=t%d`, i)},
			cacheEntry{stream: b, line: fmt.Sprintf(`app=x level=%d user-id=%d 1st=y`, i%2, i)},
			cacheEntry{stream: b, line: `level=warn broken="x app=y`},
			cacheEntry{stream: a, line: fmt.Sprintf(`level=l%d`, i%3)},
		)
	}
	return out
}

// checkAgainstFresh processes seq through one pipeline of newStages and each entry through a
// fresh pipeline too, and fails on any difference.
func checkAgainstFresh(t *testing.T, seq []cacheEntry, newStages func() []log.Stage) {
	t.Helper()
	long := log.NewPipeline(newStages())
	for i, e := range seq {
		out, res, ok := long.ForStream(e.stream).Process(0, []byte(e.line), e.sm)
		fout, fres, fok := log.NewPipeline(newStages()).ForStream(e.stream).Process(0, []byte(e.line), e.sm)
		if ok != fok || string(out) != string(fout) {
			t.Fatalf("entry %d %q: kept %v line %q, fresh pipeline %v %q", i, e.line, ok, out, fok, fout)
		}
		if !ok {
			continue
		}
		if !labels.Equal(res.Labels(), fres.Labels()) || !labels.Equal(res.Parsed(), fres.Parsed()) ||
			!labels.Equal(res.Stream(), fres.Stream()) || !labels.Equal(res.StructuredMetadata(), fres.StructuredMetadata()) ||
			res.Hash() != fres.Hash() || res.String() != fres.String() {
			t.Fatalf("entry %d %q:\n got %s (parsed %s)\nwant %s (parsed %s)", i, e.line, res, res.Parsed(), fres, fres.Parsed())
		}
	}
}

func TestParserCachesMatchFreshPipelines(t *testing.T) {
	lvl := func(v string) log.Stage {
		return log.NewStringLabelFilter(mustMatcher(t, labels.MatchNotEqual, "level", v))
	}
	t.Run("json", func(t *testing.T) {
		checkAgainstFresh(t, cacheSequence(), func() []log.Stage { return []log.Stage{log.NewJSONParser()} })
	})
	t.Run("json then filter", func(t *testing.T) {
		checkAgainstFresh(t, cacheSequence(), func() []log.Stage { return []log.Stage{log.NewJSONParser(), lvl("warn")} })
	})
	t.Run("json twice", func(t *testing.T) {
		checkAgainstFresh(t, cacheSequence(), func() []log.Stage {
			return []log.Stage{log.NewJSONParser(), log.NewJSONParser()}
		})
	})
	t.Run("logfmt", func(t *testing.T) {
		checkAgainstFresh(t, logfmtSequence(), func() []log.Stage { return []log.Stage{log.NewLogfmtParser(false, false)} })
	})
	t.Run("logfmt strict keep-empty", func(t *testing.T) {
		checkAgainstFresh(t, logfmtSequence(), func() []log.Stage { return []log.Stage{log.NewLogfmtParser(true, true), lvl("l1")} })
	})
}

// TestRepeatedLabelSetsDoNotAllocate checks the zero-allocation path: lines whose labels equal
// an earlier line's reuse its result.
func TestRepeatedLabelSetsDoNotAllocate(t *testing.T) {
	sp := log.NewPipeline([]log.Stage{log.NewJSONParser()}).ForStream(lbls("app", "api"))
	lines := [][]byte{[]byte(`{"level":"info","status":200}`), []byte(`{"level":"warn","status":200}`), []byte(`{"level":"info","status":500}`)}
	first := make([]log.LabelsResult, len(lines))
	for i, l := range lines {
		_, first[i], _ = sp.Process(0, l, labels.EmptyLabels())
	}
	for i, l := range lines {
		if _, r, _ := sp.Process(0, l, labels.EmptyLabels()); r != first[i] {
			t.Errorf("line %d: result %s is not the cached %s", i, r, first[i])
		}
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, l := range lines {
			sp.Process(0, l, labels.EmptyLabels())
		}
	})
	if allocs != 0 {
		t.Errorf("processing known lines allocates %v times, want 0", allocs)
	}
}

func TestWithRequiredLabels(t *testing.T) {
	status := log.NewNumericLabelFilter(log.LabelFilterGreaterThanOrEqual, "status", 300)
	lf, err := log.NewLineFormatter("{{.ts}}")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		stages     func() []log.Stage
		required   []string
		reads      []string // the names the stages' filters read
		restricted bool     // labels outside required, reads and the stream's may be missing
	}{
		{"json by level", func() []log.Stage { return []log.Stage{log.NewJSONParser()} }, []string{"level"}, nil, true},
		{"json by nothing with a filter", func() []log.Stage { return []log.Stage{log.NewJSONParser(), status} }, nil, []string{"status"}, true},
		{"json by a nested and a duplicate name", func() []log.Stage { return []log.Stage{log.NewJSONParser()} }, []string{"user_name", "app_extracted", "trace_id"}, nil, true},
		{"logfmt by level", func() []log.Stage { return []log.Stage{log.NewLogfmtParser(false, false), status} }, []string{"level"}, []string{"status"}, true},
		{"line_format reads any label: not restricted", func() []log.Stage { return []log.Stage{log.NewJSONParser(), lf} }, []string{"level"}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seq := append(cacheSequence(), logfmtSequence()...)
			full := log.NewLineSampleExtractor(log.BytesExtractor, tc.stages())
			part := log.WithRequiredLabels(log.NewLineSampleExtractor(log.BytesExtractor, tc.stages()), tc.required)
			keep := map[string]bool{"__error__": true, "__error_details__": true}
			for _, n := range append(tc.required, tc.reads...) {
				keep[n] = true
			}
			dropped := 0
			for i, e := range seq {
				fv, fres, fok := full.ForStream(e.stream).Process(0, []byte(e.line), e.sm)
				pv, pres, pok := part.ForStream(e.stream).Process(0, []byte(e.line), e.sm)
				if fok != pok || fv != pv {
					t.Fatalf("entry %d %q: restricted gives %v, %v; full %v, %v", i, e.line, pv, pok, fv, fok)
				}
				if !fok {
					continue
				}
				// The restricted result is the full one less some labels outside keep.
				want := labels.NewBuilder(fres.Labels())
				fres.Labels().Range(func(l labels.Label) {
					if tc.restricted && !keep[l.Name] && !e.stream.Has(l.Name) {
						want.Del(l.Name)
					}
				})
				if !labels.Equal(pres.Labels(), want.Labels()) {
					t.Fatalf("entry %d %q: restricted labels %s, want %s (full %s)", i, e.line, pres, want.Labels(), fres)
				}
				dropped += fres.Labels().Len() - pres.Labels().Len()
			}
			if tc.restricted && dropped == 0 {
				t.Error("the restriction dropped no label: the test data does not exercise it")
			}
		})
	}
}
