package querier

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/index"
	"github.com/sluicelog/sluice/pkg/ingester"
	"github.com/sluicelog/sluice/pkg/tenant"
)

// IndexStats returns the streams, chunks, bytes and entries that ms select over
// [from, through] (Loki's /index/stats): the store's index plus the ingester's unflushed
// chunks. Streams are counted once even when both hold part of them.
func (q *Querier) IndexStats(ctx context.Context, from, through int64, ms []*labels.Matcher) (index.Stats, error) {
	return q.indexStats(ctx, from, through, ms, true)
}

// ReadEstimate returns IndexStats' chunks, bytes and entries without its stream count, which
// costs a second index look-up when the ingester holds part of the streams: what the query
// frontend needs to estimate how many bytes a query would read (max_query_bytes_read).
func (q *Querier) ReadEstimate(ctx context.Context, from, through int64, ms []*labels.Matcher) (index.Stats, error) {
	return q.indexStats(ctx, from, through, ms, false)
}

// indexStats is IndexStats, with Streams left as the store's count unless streams is set.
func (q *Querier) indexStats(ctx context.Context, from, through int64, ms []*labels.Matcher, streams bool) (index.Stats, error) {
	id, err := tenant.From(ctx)
	if err != nil {
		return index.Stats{}, err
	}
	st, err := q.store.Stats(ctx, id, from, through, ms...)
	if err != nil {
		return index.Stats{}, fmt.Errorf("index stats: %w", err)
	}
	ing := q.local()
	if ing == nil {
		return st, nil
	}
	mem := ing.UnflushedStats(ctx, id, from, through, ms)
	if len(mem) == 0 {
		return st, nil
	}
	for _, s := range mem {
		st.Chunks += s.Chunks
		st.Bytes += s.Bytes
		st.Entries += s.Entries
	}
	if !streams {
		return st, nil
	}
	// The stream count needs the union of both sides: a stream can have flushed chunks and an
	// open head at once.
	stored, err := q.store.Series(ctx, id, from, through+1, ms)
	if err != nil {
		return index.Stats{}, fmt.Errorf("index stats: %w", err)
	}
	seen := make(map[uint64]struct{}, len(stored)+len(mem))
	for _, s := range stored {
		seen[s.Hash()] = struct{}{}
	}
	for _, s := range mem {
		seen[s.Labels.Hash()] = struct{}{}
	}
	st.Streams = uint64(len(seen))
	return st, nil
}

// Volume returns the uncompressed bytes over [from, through] of the series ms select, grouped
// as req says (Loki's /index/volume), largest first and cut at req.Limit: the store's index plus
// the ingester's unflushed chunks.
func (q *Querier) Volume(ctx context.Context, from, through int64, req index.VolumeRequest, ms []*labels.Matcher) ([]index.Volume, error) {
	id, err := tenant.From(ctx)
	if err != nil {
		return nil, err
	}
	all := req
	all.Limit = 0 // cut only after merging with the ingester's part
	stored, err := q.store.Volume(ctx, id, from, through, all, ms...)
	if err != nil {
		return nil, fmt.Errorf("volume: %w", err)
	}
	run := slices.Clip(ms)
	for _, name := range req.TargetLabels {
		m, err := labels.NewMatcher(labels.MatchRegexp, name, ".+")
		if err != nil {
			return nil, fmt.Errorf("volume: target label %q: %w", name, err)
		}
		run = append(run, m)
	}
	groups := make(map[string]*index.Volume, len(stored))
	for i := range stored {
		groups[stored[i].Name] = &stored[i]
	}
	if ing := q.local(); ing != nil {
		addVolumes(groups, ing.UnflushedStats(ctx, id, from, through, run), req, ms)
	}
	out := make([]index.Volume, 0, len(groups))
	for _, v := range groups {
		out = append(out, *v)
	}
	slices.SortFunc(out, func(a, b index.Volume) int {
		return cmp.Or(cmp.Compare(b.Bytes, a.Bytes), cmp.Compare(a.Name, b.Name))
	})
	if req.Limit > 0 && len(out) > req.Limit {
		out = out[:req.Limit]
	}
	return out, nil
}

// addVolumes groups in-memory streams the way the index groups stored series: by the target
// labels, else by the labels the matchers name, else by whole series; or by label name alone
// when aggregating by labels.
func addVolumes(groups map[string]*index.Volume, streams []ingester.StreamStats, req index.VolumeRequest, ms []*labels.Matcher) {
	keep := map[string]bool{}
	for _, name := range req.TargetLabels {
		keep[name] = true
	}
	if len(req.TargetLabels) == 0 {
		for _, m := range ms {
			if m.Name != "" {
				keep[m.Name] = true
			}
		}
	}
	add := func(name string, ls labels.Labels, bytes uint64) {
		if v, ok := groups[name]; ok {
			v.Bytes += bytes
			return
		}
		groups[name] = &index.Volume{Name: name, Labels: ls, Bytes: bytes}
	}
	names := slices.Collect(maps.Keys(keep))
	for _, s := range streams {
		// A stream whose share of a chunk rounds to no entry still has bytes in range.
		if s.Entries == 0 && s.Bytes == 0 {
			continue
		}
		if req.AggregateBy == index.AggregateByLabels {
			s.Labels.Range(func(l labels.Label) {
				if len(keep) == 0 || keep[l.Name] {
					add(l.Name, labels.EmptyLabels(), s.Bytes)
				}
			})
			continue
		}
		ls := s.Labels
		if len(keep) > 0 {
			b := labels.NewBuilder(ls)
			b.Keep(names...)
			ls = b.Labels()
		}
		add(ls.String(), ls, s.Bytes)
	}
}
