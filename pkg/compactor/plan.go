package compactor

import (
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/compactor/deletion"
	"github.com/sluicelog/sluice/pkg/index"
)

// tablePlan is what one table's chunks need.
type tablePlan struct {
	// drop are chunks to remove whole: expired, or covered by a delete request.
	drop []index.SeriesRefs
	// rewrite are chunks some delete request removes part of.
	rewrite []rewriteItem
	// expired and covered count the chunks of drop by reason, for the metrics.
	expired, covered int
}

// rewriteItem is a chunk to rewrite without the entries of reqs.
type rewriteItem struct {
	lbls labels.Labels
	ref  index.ChunkRef
	reqs []*deletion.Request
}

// plan decides the fate of every chunk of a table's series at now.
func (c *Compactor) plan(now time.Time, tenant string, series []index.SeriesChunks, reqs []*deletion.Request) tablePlan {
	var p tablePlan
	ret := retentionOf(c.d.Limits, tenant)
	for _, s := range series {
		var cutoff int64 // chunks ending before cutoff expired; 0: none
		if !ret.none() {
			if period := ret.periodOf(s.Labels); period > 0 {
				cutoff = now.Add(-period).UnixNano()
			}
		}
		var mine []*deletion.Request
		for _, r := range reqs {
			if r.MatchesStream(s.Labels) {
				mine = append(mine, r)
			}
		}
		for _, ref := range s.Chunks {
			if cutoff != 0 && ref.Through < cutoff {
				p.drop = appendRef(p.drop, s.Labels, ref)
				p.expired++
				continue
			}
			var partial []*deletion.Request
			covered := false
			for _, r := range mine {
				if !r.Overlaps(ref.From, ref.Through) {
					continue
				}
				if r.Covers(ref.From, ref.Through) {
					covered = true
					break
				}
				partial = append(partial, r)
			}
			switch {
			case covered:
				p.drop = appendRef(p.drop, s.Labels, ref)
				p.covered++
			case len(partial) > 0:
				p.rewrite = append(p.rewrite, rewriteItem{lbls: s.Labels, ref: ref, reqs: partial})
			}
		}
	}
	return p
}
