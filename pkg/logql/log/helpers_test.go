package log_test

import (
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logql/log"
)

// run processes one line through stages for a stream with the given labels.
func run(tb testing.TB, stream labels.Labels, line string, stages ...log.Stage) (string, log.LabelsResult, bool) {
	tb.Helper()
	sp := log.NewPipeline(stages).ForStream(stream)
	out, res, ok := sp.Process(1_700_000_000_000_000_000, []byte(line), labels.EmptyLabels())
	return string(out), res, ok
}

// lbls is labels.FromStrings, short for tables.
func lbls(kv ...string) labels.Labels { return labels.FromStrings(kv...) }

func must[T any](tb testing.TB) func(v T, err error) T {
	return func(v T, err error) T {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
}

func mustMatcher(tb testing.TB, t labels.MatchType, n, v string) *labels.Matcher {
	tb.Helper()
	m, err := labels.NewMatcher(t, n, v)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}
