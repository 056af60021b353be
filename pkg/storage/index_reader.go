package storage

import (
	"cmp"
	"context"
	"slices"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/index"
)

// IndexReader is what the chunk store reads from a label index: *index.Index (the local,
// writable tables), the shipped tables a querier downloaded (package shipper), or a Union of
// several. Ranges are Unix ns, inclusive, as in package index.
type IndexReader interface {
	ChunkRefs(ctx context.Context, tenant string, from, through int64, ms ...*labels.Matcher) ([]index.SeriesChunks, error)
	Series(ctx context.Context, tenant string, from, through int64, ms ...*labels.Matcher) ([]index.Series, error)
}

var _ IndexReader = (*index.Index)(nil)

// Union returns an IndexReader that asks every reader and merges their answers: a series found
// in several appears once, with the chunks of all of them, and a chunk several of them know
// (a table and its shipped copy) appears once.
func Union(readers ...IndexReader) IndexReader {
	if len(readers) == 1 {
		return readers[0]
	}
	return union(readers)
}

type union []IndexReader

func (u union) ChunkRefs(ctx context.Context, tenant string, from, through int64, ms ...*labels.Matcher) ([]index.SeriesChunks, error) {
	var all []index.SeriesChunks
	for _, r := range u {
		got, err := r.ChunkRefs(ctx, tenant, from, through, ms...)
		if err != nil {
			return nil, err
		}
		all = append(all, got...)
	}
	return MergeSeriesChunks(all), nil
}

func (u union) Series(ctx context.Context, tenant string, from, through int64, ms ...*labels.Matcher) ([]index.Series, error) {
	var all []index.Series
	for _, r := range u {
		got, err := r.Series(ctx, tenant, from, through, ms...)
		if err != nil {
			return nil, err
		}
		all = append(all, got...)
	}
	return MergeSeries(all), nil
}

// MergeSeries merges answers of several Series calls: sorted by labels, without duplicates. It
// reuses ss.
func MergeSeries(ss []index.Series) []index.Series {
	slices.SortFunc(ss, func(a, b index.Series) int { return labels.Compare(a.Labels, b.Labels) })
	return slices.CompactFunc(ss, func(a, b index.Series) bool { return labels.Equal(a.Labels, b.Labels) })
}

// MergeSeriesChunks merges answers of several ChunkRefs calls: sorted by labels, one element per
// series, its chunks sorted by From, Through and Checksum without duplicates. It reuses ss.
func MergeSeriesChunks(ss []index.SeriesChunks) []index.SeriesChunks {
	slices.SortStableFunc(ss, func(a, b index.SeriesChunks) int { return labels.Compare(a.Labels, b.Labels) })
	out := ss[:0]
	for i := 0; i < len(ss); {
		j := i + 1
		for j < len(ss) && labels.Equal(ss[i].Labels, ss[j].Labels) {
			j++
		}
		s := ss[i]
		if j > i+1 {
			var refs []index.ChunkRef
			for _, o := range ss[i:j] {
				refs = append(refs, o.Chunks...)
			}
			slices.SortFunc(refs, compareRefs)
			s.Chunks = slices.CompactFunc(refs, func(a, b index.ChunkRef) bool { return compareRefs(a, b) == 0 })
		}
		out = append(out, s)
		i = j
	}
	return out
}

func compareRefs(a, b index.ChunkRef) int {
	return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.Through, b.Through), cmp.Compare(a.Checksum, b.Checksum))
}
