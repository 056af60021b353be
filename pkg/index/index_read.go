package index

import (
	"context"
	"fmt"

	"github.com/prometheus/prometheus/model/labels"
)

// run runs q over the tenant's tables for the days [from, through] overlaps, one after another.
func (ix *Index) run(ctx context.Context, tenant string, from, through int64, q queryer) error {
	if err := ValidateTenant(tenant); err != nil {
		return fmt.Errorf("query index: %w", err)
	}
	if from > through {
		return nil
	}
	// Only days with a table: a query may span years, or be unbounded.
	days, err := tenantDays(ix.dir, tenant)
	if err != nil {
		return err
	}
	first, last := DayOf(from), DayOf(through)
	for _, day := range days {
		if day < first || day > last {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := ix.runTable(ctx, tenant, day, q); err != nil {
			return err
		}
	}
	return nil
}

func (ix *Index) runTable(ctx context.Context, tenant string, day int64, q queryer) error {
	t, release, err := ix.acquire(tenant, day, false)
	if err != nil {
		return fmt.Errorf("query index of tenant %s day %d: %w", tenant, day, err)
	}
	if t == nil {
		return nil // removed since it was listed
	}
	defer release()
	return q.run(ctx, t)
}

// Series returns the tenant's series that ms select and that have a chunk overlapping
// [from, through] (Unix ns, inclusive), sorted by labels.
func (ix *Index) Series(ctx context.Context, tenant string, from, through int64, ms ...*labels.Matcher) ([]Series, error) {
	q := &seriesQuery{from: from, through: through, ms: ms}
	if err := ix.run(ctx, tenant, from, through, q); err != nil {
		return nil, err
	}
	return q.result(), nil
}

// ChunkRefs returns the chunks overlapping [from, through] of the tenant's series that ms select,
// grouped by series and sorted by labels; a chunk that spans days appears once.
func (ix *Index) ChunkRefs(ctx context.Context, tenant string, from, through int64, ms ...*labels.Matcher) ([]SeriesChunks, error) {
	q := &chunksQuery{from: from, through: through, ms: ms}
	if err := ix.run(ctx, tenant, from, through, q); err != nil {
		return nil, err
	}
	return q.result(), nil
}

// LabelNames returns the sorted label names of the tenant's series that ms select (all series
// when ms is empty) with chunks overlapping [from, through].
func (ix *Index) LabelNames(ctx context.Context, tenant string, from, through int64, ms ...*labels.Matcher) ([]string, error) {
	q := &namesQuery{from: from, through: through, ms: ms}
	if err := ix.run(ctx, tenant, from, through, q); err != nil {
		return nil, err
	}
	return q.result(), nil
}

// LabelValues returns the sorted values of the label name among the tenant's series that ms
// select (all series when ms is empty) with chunks overlapping [from, through].
func (ix *Index) LabelValues(ctx context.Context, tenant string, from, through int64, name string, ms ...*labels.Matcher) ([]string, error) {
	q := &valuesQuery{from: from, through: through, name: name, ms: ms}
	if err := ix.run(ctx, tenant, from, through, q); err != nil {
		return nil, err
	}
	return q.result(), nil
}

// Stats returns the streams, chunks, bytes and entries of the tenant's series that ms select
// over [from, through], as Loki's /index/stats does.
func (ix *Index) Stats(ctx context.Context, tenant string, from, through int64, ms ...*labels.Matcher) (Stats, error) {
	q := &statsQuery{from: from, through: through, ms: ms}
	if err := ix.run(ctx, tenant, from, through, q); err != nil {
		return Stats{}, err
	}
	return q.result(), nil
}

// Volume returns the uncompressed bytes over [from, through] of the tenant's series that ms
// select, grouped as req says (Loki's /index/volume), largest first.
func (ix *Index) Volume(ctx context.Context, tenant string, from, through int64, req VolumeRequest, ms ...*labels.Matcher) ([]Volume, error) {
	run, err := checkVolumeRequest(req, ms)
	if err != nil {
		return nil, err
	}
	q := &volumeQuery{from: from, through: through, ms: run}
	if err := ix.run(ctx, tenant, from, through, q); err != nil {
		return nil, err
	}
	q.ms = ms
	return q.result(req)
}

// The same queries on one table, for example a downloaded one opened with OpenTable.

// Series is Index.Series on this table alone.
func (t *Table) Series(ctx context.Context, from, through int64, ms ...*labels.Matcher) ([]Series, error) {
	q := &seriesQuery{from: from, through: through, ms: ms}
	if err := q.run(ctx, t); err != nil {
		return nil, err
	}
	return q.result(), nil
}

// ChunkRefs is Index.ChunkRefs on this table alone.
func (t *Table) ChunkRefs(ctx context.Context, from, through int64, ms ...*labels.Matcher) ([]SeriesChunks, error) {
	q := &chunksQuery{from: from, through: through, ms: ms}
	if err := q.run(ctx, t); err != nil {
		return nil, err
	}
	return q.result(), nil
}

// LabelNames is Index.LabelNames on this table alone.
func (t *Table) LabelNames(ctx context.Context, from, through int64, ms ...*labels.Matcher) ([]string, error) {
	q := &namesQuery{from: from, through: through, ms: ms}
	if err := q.run(ctx, t); err != nil {
		return nil, err
	}
	return q.result(), nil
}

// LabelValues is Index.LabelValues on this table alone.
func (t *Table) LabelValues(ctx context.Context, from, through int64, name string, ms ...*labels.Matcher) ([]string, error) {
	q := &valuesQuery{from: from, through: through, name: name, ms: ms}
	if err := q.run(ctx, t); err != nil {
		return nil, err
	}
	return q.result(), nil
}

// Stats is Index.Stats on this table alone.
func (t *Table) Stats(ctx context.Context, from, through int64, ms ...*labels.Matcher) (Stats, error) {
	q := &statsQuery{from: from, through: through, ms: ms}
	if err := q.run(ctx, t); err != nil {
		return Stats{}, err
	}
	return q.result(), nil
}

// All returns every series in the table with all its chunks, sorted by labels: what the compactor
// reads to merge tables (feeding the result to AddBatch).
func (t *Table) All(ctx context.Context) ([]SeriesChunks, error) {
	from, through := DayRange(t.day)
	return t.ChunkRefs(ctx, from, through)
}
