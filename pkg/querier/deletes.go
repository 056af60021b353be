package querier

import (
	"context"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/iter"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql"
	"github.com/sluicelog/sluice/pkg/tenant"
	"github.com/sluicelog/sluice/pkg/unsafestr"
)

// DeleteRequests tells which entries a tenant's delete requests hide (the compactor's
// deletion.Store). DeleteFilter returns nil when no request overlaps [from, through] (Unix ns,
// inclusive); otherwise a function that gives, for a stream's labels, nil when no request
// selects the stream, or a function reporting whether an entry of the stream is deleted. The
// functions must be safe for concurrent use.
type DeleteRequests interface {
	DeleteFilter(ctx context.Context, tenant string, from, through int64) (func(labels.Labels) func(ts int64, line []byte) bool, error)
}

// Deleting is a Querier whose log results leave out the entries of pending and processed
// delete requests, as Loki's queriers do from the moment a request is created. Series and
// label look-ups are the Querier's, unfiltered, as in Loki.
type Deleting struct {
	*Querier
	deletes DeleteRequests
}

var _ logql.Querier = (*Deleting)(nil)

// WithDeletes returns q filtered by deletes.
func WithDeletes(q *Querier, deletes DeleteRequests) *Deleting {
	return &Deleting{Querier: q, deletes: deletes}
}

// SelectLogs implements logql.Querier. While a delete request covers part of p's range, every
// entry keeps its line (p.NoLinesBefore is dropped): a request's line filters read it.
func (d *Deleting) SelectLogs(ctx context.Context, p logql.SelectLogParams) (iter.EntryIterator, error) {
	id, err := tenant.From(ctx)
	if err != nil {
		return nil, err
	}
	forStream, err := deleteFilter(ctx, d.deletes, id, p)
	if err != nil {
		return nil, err
	}
	if forStream != nil {
		p.NoLinesBefore = 0
	}
	it, err := d.Querier.SelectLogs(ctx, p)
	if err != nil || forStream == nil {
		return it, err
	}
	return newDeletedFilter(it, forStream), nil
}

// FilterDeleted wraps it, the result of a SelectLogs with p for tenant, so that it skips the
// entries deletes hides. It returns it unchanged when no delete request overlaps p's range.
func FilterDeleted(ctx context.Context, deletes DeleteRequests, tenant string, p logql.SelectLogParams, it iter.EntryIterator) (iter.EntryIterator, error) {
	forStream, err := deleteFilter(ctx, deletes, tenant, p)
	if err != nil {
		it.Close()
		return nil, err
	}
	if forStream == nil {
		return it, nil
	}
	return newDeletedFilter(it, forStream), nil
}

// deleteFilter returns the delete requests' filter of p's range, nil when none overlaps it.
func deleteFilter(ctx context.Context, deletes DeleteRequests, tenant string, p logql.SelectLogParams) (func(labels.Labels) func(ts int64, line []byte) bool, error) {
	if deletes == nil || p.End <= p.Start {
		return nil, nil
	}
	return deletes.DeleteFilter(ctx, tenant, p.Start, p.End-1)
}

func newDeletedFilter(it iter.EntryIterator, forStream func(labels.Labels) func(ts int64, line []byte) bool) *deletedFilter {
	return &deletedFilter{EntryIterator: it, forStream: forStream, streams: map[uint64]streamFilter{}}
}

// deletedFilter skips deleted entries. It looks up each stream's filter once.
type deletedFilter struct {
	iter.EntryIterator
	forStream func(labels.Labels) func(ts int64, line []byte) bool
	streams   map[uint64]streamFilter
}

type streamFilter struct {
	lbls    labels.Labels
	deleted func(ts int64, line []byte) bool
}

func (f *deletedFilter) Next() bool {
	for f.EntryIterator.Next() {
		deleted := f.filterOf(f.EntryIterator.StreamHash())
		if deleted == nil {
			return true
		}
		e := f.EntryIterator.At()
		if !deleted(e.Timestamp, unsafestr.Bytes(e.Line)) {
			return true
		}
	}
	return false
}

// filterOf returns the delete filter of the current stream, whose labels hash to h.
func (f *deletedFilter) filterOf(h uint64) func(int64, []byte) bool {
	lbls := f.EntryIterator.Labels()
	if sf, ok := f.streams[h]; ok && labels.Equal(sf.lbls, lbls) {
		return sf.deleted
	}
	sf := streamFilter{lbls: lbls, deleted: f.forStream(lbls)}
	f.streams[h] = sf
	return sf.deleted
}

func (f *deletedFilter) At() *logproto.Entry { return f.EntryIterator.At() }
