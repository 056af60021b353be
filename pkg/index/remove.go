package index

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"

	bolt "go.etcd.io/bbolt"
)

// This file is the compactor's side of the index: reading one table of a live Index, removing
// chunk references (retention and deletes), and checking whether a chunk is still referenced
// before its object is deleted.

// TableChunks returns every series of the table of tenant and day with all its chunks, sorted by
// labels (Table.All on a table of this index). A missing table gives (nil, nil).
func (ix *Index) TableChunks(ctx context.Context, tenant string, day int64) ([]SeriesChunks, error) {
	t, release, err := ix.acquire(tenant, day, false)
	if err != nil || t == nil {
		return nil, err
	}
	defer release()
	return t.All(ctx)
}

// RemoveChunks removes the chunk references in batch from the tables of tenant: each ref from
// the table of every day its time range overlaps, in one transaction per table. A series left
// without chunks in a table is removed from it (its record, fingerprint and postings), so label
// and series look-ups no longer report it; the time span of a series that keeps chunks shrinks
// to them. References that are not in the index are skipped, so removing twice is harmless.
// It returns the number of table entries removed.
func (ix *Index) RemoveChunks(ctx context.Context, tenant string, batch []SeriesRefs) (int, error) {
	if ix.opts.ReadOnly {
		return 0, ErrReadOnly
	}
	byDay := map[int64][]tableSeries{}
	var days []int64
	for i := range batch {
		ts, err := ix.prepare(tenant, &batch[i])
		if err != nil {
			return 0, fmt.Errorf("remove chunks: %w", err)
		}
		for _, day := range seriesDays(ts.refs) {
			if _, ok := byDay[day]; !ok {
				days = append(days, day)
			}
			byDay[day] = append(byDay[day], ts)
		}
	}
	removed := 0
	for _, day := range days {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		t, release, err := ix.acquire(tenant, day, false)
		if err != nil {
			return removed, err
		}
		if t == nil {
			continue
		}
		n := 0
		err = t.update(func(tx *bolt.Tx) error {
			n = 0
			var err error
			n, err = t.removeTx(tx, byDay[day])
			return err
		})
		release()
		if err != nil {
			return removed, err
		}
		removed += n
	}
	return removed, nil
}

// removeTx removes the refs of batch that overlap the table's day.
func (t *Table) removeTx(tx *bolt.Tx, batch []tableSeries) (int, error) {
	b, err := t.buckets(tx)
	if err != nil {
		return 0, err
	}
	dayFrom, dayThrough := DayRange(t.day)
	removed := 0
	for i := range batch {
		s := &batch[i]
		id, rec, found, err := t.findSeries(b, s.fp, s.enc)
		if err != nil {
			return removed, err
		}
		if !found {
			continue
		}
		changed := false
		for j := range s.refs {
			ref := &s.refs[j]
			if !overlaps(ref.From, ref.Through, dayFrom, dayThrough) {
				continue
			}
			key := chunkKey(nil, id, ref)
			if b.chunks.Get(key) == nil {
				continue
			}
			if err := b.chunks.Delete(key); err != nil {
				return removed, fmt.Errorf("delete chunk in %s: %w", t.path, err)
			}
			removed++
			changed = true
		}
		if !changed {
			continue
		}
		if err := t.shrinkSeries(b, id, rec, s.pairs); err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// shrinkSeries recomputes the time span of series id from its remaining chunks, or removes the
// series when none is left.
func (t *Table) shrinkSeries(b buckets, id uint64, rec seriesRecord, pairs []labelPair) error {
	prefix := binary.BigEndian.AppendUint64(nil, id)
	minFrom, maxThrough := int64(math.MaxInt64), int64(math.MinInt64)
	has := false
	c := b.chunks.Cursor()
	var ref ChunkRef
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if _, err := decodeChunkKey(k, &ref); err != nil {
			return fmt.Errorf("read chunks of series %d in %s: %w", id, t.path, err)
		}
		minFrom, maxThrough = min(minFrom, ref.From), max(maxThrough, ref.Through)
		has = true
	}
	if has {
		rec.minFrom, rec.maxThrough = minFrom, maxThrough
		if err := b.series.Put(seriesKey(id), appendSeriesRecord(nil, rec)); err != nil {
			return fmt.Errorf("update series in %s: %w", t.path, err)
		}
		return nil
	}
	if err := b.series.Delete(seriesKey(id)); err != nil {
		return fmt.Errorf("delete series %d in %s: %w", id, t.path, err)
	}
	fpKey := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, rec.fp), id)
	if err := b.fingerprints.Delete(fpKey); err != nil {
		return fmt.Errorf("delete fingerprint of series %d in %s: %w", id, t.path, err)
	}
	for _, p := range pairs {
		if err := t.removePosting(b.postings, p, id); err != nil {
			return err
		}
	}
	return nil
}

// removePosting removes id from the postings list of the label pair p. The segment holding it is
// re-encoded, or deleted when it becomes empty; a label name left without values loses its
// bucket, so it is no longer listed. Later appends still find the list's last segment, since
// segment numbers only need to increase, not to be contiguous.
func (t *Table) removePosting(pb *bolt.Bucket, p labelPair, id uint64) error {
	nb := pb.Bucket([]byte(p.name))
	if nb == nil {
		return nil
	}
	prefix := append([]byte(p.value), valueEnd)
	c := nb.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(k) != len(prefix)+4 {
			return fmt.Errorf("remove posting of %s=%q in %s: %w", p.name, p.value, t.path, corruptf("key length %d", len(k)))
		}
		ids, err := decodePostings(nil, 0, v)
		if err != nil {
			return fmt.Errorf("remove posting of %s=%q in %s: %w", p.name, p.value, t.path, err)
		}
		i := -1
		for j, x := range ids {
			if x == id {
				i = j
				break
			}
		}
		if i < 0 {
			continue
		}
		key := bytes.Clone(k)
		ids = append(ids[:i], ids[i+1:]...)
		if len(ids) == 0 {
			if err := nb.Delete(key); err != nil {
				return fmt.Errorf("delete postings segment of %s=%q in %s: %w", p.name, p.value, t.path, err)
			}
		} else if err := nb.Put(key, appendPostings(nil, 0, ids)); err != nil {
			return fmt.Errorf("put postings of %s=%q in %s: %w", p.name, p.value, t.path, err)
		}
		break
	}
	if k, _ := nb.Cursor().First(); k == nil {
		if err := pb.DeleteBucket([]byte(p.name)); err != nil {
			return fmt.Errorf("delete postings bucket %q in %s: %w", p.name, t.path, err)
		}
	}
	return nil
}

// HasChunk reports whether a table of tenant still references the chunk ref names (its
// fingerprint, time range and checksum, as ParseKey returns them): the compactor checks this
// before deleting a chunk's object.
func (ix *Index) HasChunk(ctx context.Context, tenant string, ref ChunkRef) (bool, error) {
	if ref.From > ref.Through {
		return false, fmt.Errorf("look up chunk: from %d after through %d", ref.From, ref.Through)
	}
	last := DayOf(ref.Through)
	if last-DayOf(ref.From) >= maxChunkDays {
		last = DayOf(ref.From) + maxChunkDays - 1
	}
	for day := DayOf(ref.From); day <= last; day++ {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		t, release, err := ix.acquire(tenant, day, false)
		if err != nil {
			return false, err
		}
		if t == nil {
			continue
		}
		found := false
		err = t.view(func(tx *bolt.Tx) error {
			b, err := t.buckets(tx)
			if err != nil {
				return err
			}
			fp := binary.BigEndian.AppendUint64(nil, ref.Fingerprint)
			c := b.fingerprints.Cursor()
			for k, _ := c.Seek(fp); k != nil && bytes.HasPrefix(k, fp); k, _ = c.Next() {
				if len(k) != 16 {
					return fmt.Errorf("look up chunk in %s: %w", t.path, corruptf("fingerprint key length %d", len(k)))
				}
				if b.chunks.Get(chunkKey(nil, binary.BigEndian.Uint64(k[8:]), &ref)) != nil {
					found = true
					return nil
				}
			}
			return nil
		})
		release()
		if err != nil || found {
			return found, err
		}
	}
	return false, nil
}
