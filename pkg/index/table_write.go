package index

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// tableSeries is one series to record in a table: its checked, encoded labels and fingerprint,
// and the refs that overlap the table's day.
type tableSeries struct {
	fp   uint64
	enc  []byte // appendLabels of the label set
	refs []ChunkRef
	// pairs are the series' label pairs, for the postings of a new series.
	pairs []labelPair
}

type labelPair struct{ name, value string }

// newPosting is a series ID to add to the postings list of a label pair.
type newPosting struct {
	labelPair
	id uint64
}

// addTx records batch in the table in the transaction tx.
func (t *Table) addTx(tx *bolt.Tx, batch []tableSeries) error {
	b, err := t.buckets(tx)
	if err != nil {
		return err
	}
	var posts []newPosting
	for i := range batch {
		s := &batch[i]
		id, isNew, err := t.putSeries(b, s)
		if err != nil {
			return err
		}
		if isNew {
			for _, p := range s.pairs {
				posts = append(posts, newPosting{p, id})
			}
		}
		for j := range s.refs {
			// bbolt keeps the key and value slices until the commit: never reuse them.
			if err := b.chunks.Put(chunkKey(nil, id, &s.refs[j]), appendChunkStats(nil, &s.refs[j])); err != nil {
				return fmt.Errorf("put chunk in %s: %w", t.path, err)
			}
		}
	}
	return t.putPostings(b.postings, posts)
}

// putSeries finds the series with s's labels, or creates it, and widens its time span to cover
// s.refs. It returns the series' ID and whether it is new.
func (t *Table) putSeries(b buckets, s *tableSeries) (uint64, bool, error) {
	minFrom, maxThrough := int64(math.MaxInt64), int64(math.MinInt64)
	for i := range s.refs {
		minFrom = min(minFrom, s.refs[i].From)
		maxThrough = max(maxThrough, s.refs[i].Through)
	}
	id, rec, found, err := t.findSeries(b, s.fp, s.enc)
	if err != nil {
		return 0, false, err
	}
	if found {
		if minFrom >= rec.minFrom && maxThrough <= rec.maxThrough {
			return id, false, nil
		}
		rec.minFrom, rec.maxThrough = min(minFrom, rec.minFrom), max(maxThrough, rec.maxThrough)
		if err := b.series.Put(seriesKey(id), appendSeriesRecord(nil, rec)); err != nil {
			return 0, false, fmt.Errorf("update series in %s: %w", t.path, err)
		}
		return id, false, nil
	}
	id, err = b.series.NextSequence()
	if err != nil {
		return 0, false, fmt.Errorf("new series ID in %s: %w", t.path, err)
	}
	rec = seriesRecord{fp: s.fp, minFrom: minFrom, maxThrough: maxThrough, lbls: s.enc}
	if err := b.series.Put(seriesKey(id), appendSeriesRecord(nil, rec)); err != nil {
		return 0, false, fmt.Errorf("put series in %s: %w", t.path, err)
	}
	fpKey := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, s.fp), id)
	if err := b.fingerprints.Put(fpKey, nil); err != nil {
		return 0, false, fmt.Errorf("put fingerprint in %s: %w", t.path, err)
	}
	return id, true, nil
}

// findSeries looks up the series with fingerprint fp and encoded labels enc. Series whose
// fingerprints collide share the fp prefix in the fingerprints bucket; their labels tell them
// apart.
func (t *Table) findSeries(b buckets, fp uint64, enc []byte) (uint64, seriesRecord, bool, error) {
	prefix := binary.BigEndian.AppendUint64(nil, fp)
	c := b.fingerprints.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if len(k) != 16 {
			return 0, seriesRecord{}, false, fmt.Errorf("find series in %s: %w", t.path, corruptf("fingerprint key length %d", len(k)))
		}
		id := binary.BigEndian.Uint64(k[8:])
		v := b.series.Get(k[8:])
		if v == nil {
			return 0, seriesRecord{}, false, fmt.Errorf("find series in %s: %w", t.path, corruptf("series %d missing", id))
		}
		rec, err := decodeSeriesRecord(v)
		if err != nil {
			return 0, seriesRecord{}, false, fmt.Errorf("find series %d in %s: %w", id, t.path, err)
		}
		if bytes.Equal(rec.lbls, enc) {
			// Copy: the record aliases the page, which the caller may be about to rewrite.
			rec.lbls = bytes.Clone(rec.lbls)
			return id, rec, true, nil
		}
	}
	return 0, seriesRecord{}, false, nil
}

// seriesKey returns the series bucket key of a series ID.
func seriesKey(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

// putPostings adds new series IDs to the postings lists of their label pairs. The IDs of new
// series are larger than every ID already in the table, so they are appended to the last segment
// of each list.
func (t *Table) putPostings(pb *bolt.Bucket, posts []newPosting) error {
	slices.SortFunc(posts, func(a, b newPosting) int {
		return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.value, b.value), cmp.Compare(a.id, b.id))
	})
	var (
		nb     *bolt.Bucket
		nbName string
	)
	for i := 0; i < len(posts); {
		j := i + 1
		for j < len(posts) && posts[j].labelPair == posts[i].labelPair {
			j++
		}
		if nb == nil || posts[i].name != nbName {
			nbName = posts[i].name
			var err error
			if nb, err = pb.CreateBucketIfNotExists([]byte(posts[i].name)); err != nil {
				return fmt.Errorf("create postings bucket %q in %s: %w", posts[i].name, t.path, err)
			}
		}
		ids := make([]uint64, 0, j-i)
		for _, p := range posts[i:j] {
			ids = append(ids, p.id)
		}
		if err := t.appendPostings(nb, posts[i].value, slices.Compact(ids)); err != nil {
			return err
		}
		i = j
	}
	return nil
}

// appendPostings appends ids to the postings list of value in the label name's bucket nb.
func (t *Table) appendPostings(nb *bolt.Bucket, value string, ids []uint64) error {
	target := postingsKey(nil, value, math.MaxUint32)
	prefix := target[:len(value)+1]
	c := nb.Cursor()
	k, v := c.Seek(target)
	switch {
	case k == nil:
		k, v = c.Last()
	case !bytes.Equal(k, target):
		k, v = c.Prev()
	}
	var (
		seg  uint32
		last uint64
		cur  []byte
	)
	if k != nil && len(k) == len(target) && bytes.HasPrefix(k, prefix) {
		seg = binary.BigEndian.Uint32(k[len(prefix):])
		var err error
		if last, err = lastPosting(v); err != nil {
			return fmt.Errorf("append postings of %q in %s: %w", value, t.path, err)
		}
		if ids[0] <= last {
			return fmt.Errorf("append postings of %q in %s: %w", value, t.path, corruptf("new ID %d not after %d", ids[0], last))
		}
		if len(v) < segmentTarget {
			cur = append(make([]byte, 0, len(v)+binary.MaxVarintLen64*len(ids)), v...)
		} else {
			seg, last = seg+1, 0
		}
	}
	for len(ids) > 0 {
		if seg == math.MaxUint32 {
			return fmt.Errorf("append postings of %q in %s: too many segments", value, t.path)
		}
		n := 0
		for n < len(ids) && len(cur) < segmentTarget {
			cur = appendPostings(cur, last, ids[n:n+1])
			last = ids[n]
			n++
		}
		ids = ids[n:]
		if err := nb.Put(postingsKey(nil, value, seg), cur); err != nil {
			return fmt.Errorf("put postings of %q in %s: %w", value, t.path, err)
		}
		if len(ids) > 0 {
			seg, last, cur = seg+1, 0, nil
		}
	}
	return nil
}
