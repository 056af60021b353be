package index

import (
	"context"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"
)

// SeriesRefs is one series' label set and chunk references, an element of AddBatch.
type SeriesRefs struct {
	Labels labels.Labels
	Refs   []ChunkRef
}

// Add records refs as chunks of the series lbls of tenant. See AddBatch.
func (ix *Index) Add(ctx context.Context, tenant string, lbls labels.Labels, refs ...ChunkRef) error {
	return ix.AddBatch(ctx, tenant, []SeriesRefs{{Labels: lbls, Refs: refs}})
}

// AddBatch records the chunk references of many series of tenant, in one transaction per day
// table (a chunk goes to every day's table it overlaps). It is idempotent: adding a chunk again
// changes nothing but its entry and byte counts. A ref's empty Tenant and zero Fingerprint are
// filled in; set ones must match tenant and the fingerprint of the labels.
//
// Label sets must be non-empty, with non-empty names and values, valid UTF-8 and no repeated name.
// Nothing is written if any series or ref is invalid. When writing one table fails, the tables
// before it stay written; adding the batch again is safe.
func (ix *Index) AddBatch(ctx context.Context, tenant string, batch []SeriesRefs) error {
	if ix.opts.ReadOnly {
		return ErrReadOnly
	}
	if err := ValidateTenant(tenant); err != nil {
		return fmt.Errorf("add to index: %w", err)
	}
	byDay := map[int64][]tableSeries{}
	for i := range batch {
		s, err := ix.prepare(tenant, &batch[i])
		if err != nil {
			return err
		}
		for _, day := range seriesDays(s.refs) {
			ts := s
			ts.refs = nil
			dayFrom, dayThrough := DayRange(day)
			for _, r := range s.refs {
				if overlaps(r.From, r.Through, dayFrom, dayThrough) {
					ts.refs = append(ts.refs, r)
				}
			}
			byDay[day] = append(byDay[day], ts)
		}
	}
	days := make([]int64, 0, len(byDay))
	for day := range byDay {
		days = append(days, day)
	}
	slices.Sort(days)
	for _, day := range days {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := ix.addToTable(tenant, day, byDay[day]); err != nil {
			return err
		}
	}
	return nil
}

func (ix *Index) addToTable(tenant string, day int64, batch []tableSeries) error {
	t, release, err := ix.acquire(tenant, day, true)
	if err != nil {
		return fmt.Errorf("add to index of tenant %s day %d: %w", tenant, day, err)
	}
	defer release()
	return t.add(batch)
}

// seriesDays returns the days refs overlap, sorted.
func seriesDays(refs []ChunkRef) []int64 {
	var days []int64
	for _, r := range refs {
		for d := DayOf(r.From); d <= DayOf(r.Through); d++ {
			days = append(days, d)
		}
	}
	slices.Sort(days)
	return slices.Compact(days)
}

// maxChunkDays bounds the days one chunk may span, so that a wrong timestamp cannot make Add
// create thousands of tables.
const maxChunkDays = 31

// prepare checks one series and its refs and encodes its labels.
func (ix *Index) prepare(tenant string, s *SeriesRefs) (tableSeries, error) {
	if s.Labels.IsEmpty() {
		return tableSeries{}, fmt.Errorf("add to index: empty label set")
	}
	if name, dup := s.Labels.HasDuplicateLabelNames(); dup {
		return tableSeries{}, fmt.Errorf("add %s to index: label %q repeated", s.Labels, name)
	}
	var err error
	ts := tableSeries{fp: ix.opts.hash(s.Labels), enc: appendLabels(nil, s.Labels)}
	s.Labels.Range(func(l labels.Label) {
		switch {
		case err != nil:
		case l.Name == "" || l.Value == "":
			err = fmt.Errorf("add %s to index: empty label name or value", s.Labels)
		case !utf8.ValidString(l.Name) || !utf8.ValidString(l.Value):
			err = fmt.Errorf("add %s to index: label %q is not valid UTF-8", s.Labels, l.Name)
		}
		ts.pairs = append(ts.pairs, labelPair{l.Name, l.Value})
	})
	if err != nil {
		return tableSeries{}, err
	}
	ts.refs = make([]ChunkRef, len(s.Refs))
	for i, r := range s.Refs {
		switch {
		case r.Tenant == "":
			r.Tenant = tenant
		case r.Tenant != tenant:
			return tableSeries{}, fmt.Errorf("add %s to index of tenant %s: chunk of tenant %s", s.Labels, tenant, r.Tenant)
		}
		switch {
		case r.Fingerprint == 0:
			r.Fingerprint = ts.fp
		case r.Fingerprint != ts.fp:
			return tableSeries{}, fmt.Errorf("add %s to index: chunk fingerprint %016x, labels hash to %016x", s.Labels, r.Fingerprint, ts.fp)
		}
		if r.From > r.Through {
			return tableSeries{}, fmt.Errorf("add %s to index: chunk from %d after through %d", s.Labels, r.From, r.Through)
		}
		if DayOf(r.Through)-DayOf(r.From) >= maxChunkDays {
			return tableSeries{}, fmt.Errorf("add %s to index: chunk spans %d days, more than %d", s.Labels, DayOf(r.Through)-DayOf(r.From)+1, maxChunkDays)
		}
		ts.refs[i] = r
	}
	return ts, nil
}
