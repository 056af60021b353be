package querier

import (
	"github.com/sluicelog/sluice/pkg/logql"
	"github.com/sluicelog/sluice/pkg/validation"
)

// Limits gives each tenant's limits; *validation.Overrides is one.
type Limits interface {
	For(tenant string) *validation.Limits
}

// SetLimits makes the querier refuse, as Loki's do, a selection whose stored chunks are more
// than the tenant's max_chunks_per_query (ChunkLimitError). Call it before the first query;
// without it there is no limit.
func (q *Querier) SetLimits(l Limits) { q.limits = l }

// ChunkLimitError is the error of a selection that would read more stored chunks than the
// tenant's max_chunks_per_query. The API answers it with 400 and Loki's message.
type ChunkLimitError = logql.ChunkLimitError

// maxChunks is tenant id's max_chunks_per_query, for the store to enforce on the chunks it
// looks up anyway (SelectLogParams.MaxChunks). Like Loki it counts the store's chunks only:
// the ingesters' open chunks are not chunk references of the index.
func (q *Querier) maxChunks(id string) int {
	if q.limits == nil {
		return 0
	}
	return q.limits.For(id).MaxChunksPerQuery
}
