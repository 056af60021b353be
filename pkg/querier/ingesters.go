package querier

import (
	"context"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/ingester"
	"github.com/sluicelog/sluice/pkg/iter"
	"github.com/sluicelog/sluice/pkg/logql"
)

// Ingesters is what the ingesters hold in memory and have not flushed to the store: the
// ingester of this process (Local) or those of other processes (Remote).
type Ingesters interface {
	SelectLogs(ctx context.Context, tenant string, p logql.SelectLogParams) (iter.EntryIterator, error)
	Series(ctx context.Context, tenant string, from, through int64, ms []*labels.Matcher) ([]labels.Labels, error)
}

// Local is the ingester of this process.
type Local struct{ *ingester.Ingester }

var _ Ingesters = Local{}

// Series implements Ingesters.
func (l Local) Series(ctx context.Context, tenant string, from, through int64, ms []*labels.Matcher) ([]labels.Labels, error) {
	return l.Ingester.Series(ctx, tenant, from, through, ms), nil
}
