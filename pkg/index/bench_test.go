package index_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/index"
)

// benchBatch returns n series like a Kubernetes cluster's streams, each with chunks chunks of
// 30 minutes within day0.
func benchBatch(n, chunks int) []index.SeriesRefs {
	batch := make([]index.SeriesRefs, n)
	for i := range batch {
		ls := labels.FromStrings(
			"app", fmt.Sprintf("app-%d", i%100),
			"container", fmt.Sprintf("c-%d", i%5),
			"namespace", fmt.Sprintf("ns-%d", i%10),
			"pod", fmt.Sprintf("pod-%d-%05d", i%100, i),
			"stream", []string{"stdout", "stderr"}[i%2],
		)
		refs := make([]index.ChunkRef, chunks)
		for j := range refs {
			from := day0 + int64(j)*30*minute
			refs[j] = index.ChunkRef{From: from, Through: from + 30*minute - 1, Checksum: uint32(i*chunks + j), Entries: 1000, UncompressedBytes: 256 << 10}
		}
		batch[i] = index.SeriesRefs{Labels: ls, Refs: refs}
	}
	return batch
}

// BenchmarkAddBatch adds 10k chunks (1k series × 10) to a fresh table in one transaction,
// with fsync.
func BenchmarkAddBatch(b *testing.B) {
	batch := benchBatch(1000, 10)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		ix, err := index.Open(b.TempDir(), index.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := ix.AddBatch(ctx, tenant, batch); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := ix.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10000, "ns/chunk")
}

// BenchmarkAdd adds 10k chunks one Add (one transaction) at a time: 2.5k series × 4 chunks,
// without fsync (NoSync) so it measures the index, not the disk.
func BenchmarkAdd(b *testing.B) {
	batch := benchBatch(2500, 4)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		ix, err := index.Open(b.TempDir(), index.Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for _, s := range batch {
			for _, r := range s.Refs {
				if err := ix.Add(ctx, tenant, s.Labels, r); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.StopTimer()
		if err := ix.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10000, "ns/chunk")
}

// BenchmarkLookup selects series among 10k (each with 4 chunks) by matchers.
func BenchmarkLookup(b *testing.B) {
	ix := openIndex(b, b.TempDir(), index.Options{NoSync: true})
	ctx := context.Background()
	if err := ix.AddBatch(ctx, tenant, benchBatch(10000, 4)); err != nil {
		b.Fatal(err)
	}
	from, through := day0, day0+index.DayNanos-1
	cases := []struct {
		name string
		ms   []*labels.Matcher
	}{
		{"one pod", []*labels.Matcher{m(b, labels.MatchEqual, "pod", "pod-7-00007")}},
		{"app", []*labels.Matcher{m(b, labels.MatchEqual, "app", "app-7")}},
		{"namespace and app regexp", []*labels.Matcher{m(b, labels.MatchEqual, "namespace", "ns-3"), m(b, labels.MatchRegexp, "app", "app-1.*")}},
		{"namespace and not app", []*labels.Matcher{m(b, labels.MatchEqual, "namespace", "ns-3"), m(b, labels.MatchNotEqual, "app", "app-3")}},
		{"pod regexp scan", []*labels.Matcher{m(b, labels.MatchRegexp, "pod", ".*-0001.")}},
		{"all namespaces", []*labels.Matcher{m(b, labels.MatchRegexp, "namespace", ".+")}},
	}
	for _, tc := range cases {
		b.Run("Series/"+tc.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				ss, err := ix.Series(ctx, tenant, from, through, tc.ms...)
				if err != nil {
					b.Fatal(err)
				}
				n = len(ss)
			}
			b.ReportMetric(float64(n), "series")
		})
	}
	for _, tc := range cases[1:3] {
		b.Run("ChunkRefs/"+tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ix.ChunkRefs(ctx, tenant, from, through, tc.ms...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("Stats/app", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ix.Stats(ctx, tenant, from, through, cases[1].ms...); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("LabelValues/pod", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ix.LabelValues(ctx, tenant, from, through, "pod"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("LabelValues/pod of app", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ix.LabelValues(ctx, tenant, from, through, "pod", cases[1].ms...); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAddConcurrent adds one chunk per Add (with fsync) from 8 goroutines per core: concurrent adds
// to a table share a commit.
func BenchmarkAddConcurrent(b *testing.B) {
	ix := openIndex(b, b.TempDir(), index.Options{})
	batch := benchBatch(10000, 1)
	ctx := context.Background()
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s := batch[next.Add(1)%int64(len(batch))]
			r := s.Refs[0]
			r.Checksum = uint32(next.Load())
			if err := ix.Add(ctx, tenant, s.Labels, r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
