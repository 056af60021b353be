package index_test

import (
	"context"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/index"
)

const tenant = "fake"

// day0 is the start of an arbitrary UTC day (2024-01-01).
const day0 = int64(19723) * index.DayNanos

const (
	minute = int64(60e9)
	hour   = 60 * minute
)

func openIndex(tb testing.TB, dir string, opts index.Options) *index.Index {
	tb.Helper()
	ix, err := index.Open(dir, opts)
	if err != nil {
		tb.Fatalf("Open(%s) = %v", dir, err)
	}
	tb.Cleanup(func() {
		if err := ix.Close(); err != nil {
			tb.Errorf("Close() = %v", err)
		}
	})
	return ix
}

func ref(from, through int64, sum uint32) index.ChunkRef {
	return index.ChunkRef{From: from, Through: through, Checksum: sum, Entries: 10, UncompressedBytes: 1000}
}

func mustAdd(tb testing.TB, ix *index.Index, lbls labels.Labels, refs ...index.ChunkRef) {
	tb.Helper()
	if err := ix.Add(context.Background(), tenant, lbls, refs...); err != nil {
		tb.Fatalf("Add(%s) = %v", lbls, err)
	}
}

func m(tb testing.TB, t labels.MatchType, name, value string) *labels.Matcher {
	tb.Helper()
	mm, err := labels.NewMatcher(t, name, value)
	if err != nil {
		tb.Fatalf("NewMatcher(%v, %q, %q) = %v", t, name, value, err)
	}
	return mm
}

func seriesStrings(ss []index.Series) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Labels.String()
	}
	return out
}
