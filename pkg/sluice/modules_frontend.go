package sluice

import (
	"github.com/sluicelog/sluice/pkg/api"
	"github.com/sluicelog/sluice/pkg/querier/queryrange"
)

// newFrontend puts the query frontend in front of the engine: it splits long range queries
// by each tenant's split_queries_by_interval, runs the pieces in parallel and caches metric
// results over closed intervals.

func (s *Sluice) newFrontend(next api.Engine) api.Engine {
	return queryrange.New(s.cfg.QueryRange, next, s.overrides, s.reg)
}
