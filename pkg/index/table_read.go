package index

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/prometheus/prometheus/model/labels"
	bolt "go.etcd.io/bbolt"
)

// ctxCheckEvery is how many series a scan handles between looks at its context.
const ctxCheckEvery = 1024

// seriesVisitor is called for each series a query selects, with the series' record (aliasing
// bbolt's memory: valid until the visitor returns) and, when the query asked for chunks, the
// chunks that overlap the query's range (ref aliases a buffer reused for the next call).
type seriesVisitor struct {
	series func(rec seriesRecord) error
	chunk  func(id uint64, rec seriesRecord, ref *ChunkRef) error
}

// visit runs a query on the table: it selects the series that ms match and whose chunks overlap
// [from, through] and calls v for each, in ID order.
func (t *Table) visit(ctx context.Context, from, through int64, ms []*labels.Matcher, v seriesVisitor) error {
	return t.view(func(tx *bolt.Tx) error {
		b, err := t.buckets(tx)
		if err != nil {
			return err
		}
		ids, err := t.selectIDs(b, ms)
		if err != nil {
			return err
		}
		dayFrom, dayThrough := DayRange(t.day)
		wholeDay := from <= dayFrom && through >= dayThrough
		cc := b.chunks.Cursor()
		sc := b.series.Cursor()
		var key [8]byte
		for i, id := range ids {
			if i%ctxCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			// One cursor for all lookups: Bucket.Get would allocate a new cursor's stack each time.
			binary.BigEndian.PutUint64(key[:], id)
			k, val := sc.Seek(key[:])
			if !bytes.Equal(k, key[:]) {
				return fmt.Errorf("read series %d of %s: %w", id, t.path, corruptf("posted series missing"))
			}
			rec, err := decodeSeriesRecord(val)
			if err != nil {
				return fmt.Errorf("read series %d of %s: %w", id, t.path, err)
			}
			if !overlaps(rec.minFrom, rec.maxThrough, from, through) {
				continue
			}
			if v.chunk == nil {
				// Every chunk in the table overlaps its day, so a range covering the day, or the
				// series' whole span, needs no look at the chunks.
				covered := wholeDay || (from <= rec.minFrom && through >= rec.maxThrough)
				if !covered {
					has, err := t.chunks(cc, id, from, through, rec, func(uint64, seriesRecord, *ChunkRef) error { return errStop })
					if err != nil && !errors.Is(err, errStop) {
						return err
					}
					if !has {
						continue
					}
				}
				if err := v.series(rec); err != nil {
					return err
				}
				continue
			}
			if _, err := t.chunks(cc, id, from, through, rec, v.chunk); err != nil {
				return err
			}
		}
		return nil
	})
}

// errStop ends a scan early without an error.
var errStop = errors.New("stop scan")

// chunks calls fn for each chunk of the series id that overlaps [from, through], in order of
// start time, and reports whether there was any. fn's ref is reused between calls.
func (t *Table) chunks(c *bolt.Cursor, id uint64, from, through int64, rec seriesRecord, fn func(uint64, seriesRecord, *ChunkRef) error) (bool, error) {
	prefix := binary.BigEndian.AppendUint64(make([]byte, 0, chunkKeyLen), id)
	ref := ChunkRef{Tenant: t.tenant, Fingerprint: rec.fp}
	found := false
	for k, v := c.Seek(prefix); len(k) >= 8 && binary.BigEndian.Uint64(k) == id; k, v = c.Next() {
		if _, err := decodeChunkKey(k, &ref); err != nil {
			return found, fmt.Errorf("read chunks of series %d in %s: %w", id, t.path, err)
		}
		if ref.From > through {
			break // keys are sorted by start time
		}
		if ref.Through < from {
			continue
		}
		if err := decodeChunkStats(v, &ref); err != nil {
			return found, fmt.Errorf("read chunk of series %d in %s: %w", id, t.path, err)
		}
		found = true
		if err := fn(id, rec, &ref); err != nil {
			return found, err
		}
	}
	return found, nil
}
