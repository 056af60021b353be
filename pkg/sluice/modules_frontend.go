package sluice

import (
	"github.com/sluicelog/sluice/pkg/api"
	"github.com/sluicelog/sluice/pkg/querier/queryrange"
)

// newFrontend puts the query frontend in front of the engine: it splits long range queries
// by each tenant's split_queries_by_interval and instant metric queries it can merge exactly
// by split_instant_metric_queries_by_interval, runs the pieces in parallel and caches metric
// range results over closed intervals. Cached results are keyed by the tenant's delete-request
// generation, so a new or cancelled delete request is seen at once.
//
// It estimates a query's size for max_query_bytes_read and max_querier_bytes_read from what
// /index/stats answers in this process: the store's index (with the tables shipped by other
// processes) plus this process's ingester. A read process with remote ingesters
// (-target=read) asks them nothing, so there the estimate covers the flushed chunks only;
// Loki's estimate likewise covers only what its index knows.
func (s *Sluice) newFrontend(next api.Engine) api.Engine {
	f := queryrange.New(s.cfg.QueryRange, next, s.overrides, s.reg)
	f.SetIndexStats(s.querier.ReadEstimate)
	if s.deletes != nil {
		f.SetCacheGeneration(s.deletes.CacheGeneration)
	}
	return f
}
