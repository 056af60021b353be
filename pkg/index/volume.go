package index

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
)

// Aggregations for VolumeRequest.AggregateBy, as Loki's aggregateBy parameter names them.
const (
	AggregateBySeries = "series"
	AggregateByLabels = "labels"
)

// VolumeRequest shapes a Volume query like the parameters of Loki's /index/volume.
type VolumeRequest struct {
	// TargetLabels, when not empty, are the labels to group into (like sum by (...)); only series
	// carrying all of them count. When empty, the groups are the labels the matchers name, or
	// whole series when the matchers name none.
	TargetLabels []string
	// AggregateBy is AggregateBySeries (the default, also for "") or AggregateByLabels.
	AggregateBy string
	// Limit caps the number of results, largest first; 0 means no cap.
	Limit int
}

// Volume is the uncompressed bytes of one group.
type Volume struct {
	// Name is the group's labels in selector syntax ({app="api"}) when aggregating by series, or
	// the label name when aggregating by labels.
	Name string
	// Labels are the group's labels when aggregating by series; empty when aggregating by labels.
	Labels labels.Labels
	Bytes  uint64
}

// volumeQuery adds up bytes per series.
type volumeQuery struct {
	from, through int64
	ms            []*labels.Matcher
	bySeries      map[string]uint64 // encoded labels → bytes
	dedup         chunkDedup
}

func (q *volumeQuery) run(ctx context.Context, t *Table) error {
	if q.bySeries == nil {
		q.bySeries, q.dedup = map[string]uint64{}, chunkDedup{}
	}
	return t.visit(ctx, q.from, q.through, q.ms, seriesVisitor{chunk: func(_ uint64, rec seriesRecord, ref *ChunkRef) error {
		if ref.Entries == 0 || !q.dedup.first(ref) {
			return nil
		}
		b, _ := prorate(ref, q.from, q.through)
		q.bySeries[string(rec.lbls)] += b
		return nil
	}})
}

// checkVolumeRequest validates req and returns the matchers to run: with target labels, each
// must be present.
func checkVolumeRequest(req VolumeRequest, ms []*labels.Matcher) ([]*labels.Matcher, error) {
	switch req.AggregateBy {
	case "", AggregateBySeries, AggregateByLabels:
	default:
		return nil, fmt.Errorf("volume: aggregateBy %q is neither %q nor %q", req.AggregateBy, AggregateBySeries, AggregateByLabels)
	}
	if req.Limit < 0 {
		return nil, fmt.Errorf("volume: negative limit %d", req.Limit)
	}
	if len(req.TargetLabels) == 0 {
		return ms, nil
	}
	out := slices.Clip(ms)
	for _, name := range req.TargetLabels {
		m, err := labels.NewMatcher(labels.MatchRegexp, name, ".+")
		if err != nil {
			return nil, fmt.Errorf("volume: target label %q: %w", name, err)
		}
		out = append(out, m)
	}
	return out, nil
}

func (q *volumeQuery) result(req VolumeRequest) ([]Volume, error) {
	keep := map[string]bool{}
	for _, name := range req.TargetLabels {
		keep[name] = true
	}
	if len(req.TargetLabels) == 0 {
		for _, m := range q.ms {
			if m.Name != "" {
				keep[m.Name] = true
			}
		}
	}
	all := len(keep) == 0
	groups := map[string]*Volume{}
	var sb labels.ScratchBuilder
	for enc, bytes := range q.bySeries {
		ls, err := decodeLabels([]byte(enc), &sb)
		if err != nil {
			return nil, err
		}
		if req.AggregateBy == AggregateByLabels {
			ls.Range(func(l labels.Label) {
				if all || keep[l.Name] {
					addVolume(groups, l.Name, labels.EmptyLabels(), bytes)
				}
			})
			continue
		}
		if !all {
			b := labels.NewBuilder(ls)
			b.Keep(slices.Collect(maps.Keys(keep))...)
			ls = b.Labels()
		}
		addVolume(groups, ls.String(), ls, bytes)
	}
	out := make([]Volume, 0, len(groups))
	for _, v := range groups {
		out = append(out, *v)
	}
	slices.SortFunc(out, func(a, b Volume) int { return cmp.Or(cmp.Compare(b.Bytes, a.Bytes), cmp.Compare(a.Name, b.Name)) })
	if req.Limit > 0 && len(out) > req.Limit {
		out = out[:req.Limit]
	}
	return out, nil
}

func addVolume(groups map[string]*Volume, name string, ls labels.Labels, bytes uint64) {
	if v, ok := groups[name]; ok {
		v.Bytes += bytes
		return
	}
	groups[name] = &Volume{Name: name, Labels: ls, Bytes: bytes}
}
