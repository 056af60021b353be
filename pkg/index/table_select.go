package index

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
	bolt "go.etcd.io/bbolt"

	"github.com/sluicelog/sluice/pkg/unsafestr"
)

// valueSet says which values of one label name to read postings for: either exactly the listed
// values, or every value with the prefix that match accepts.
type valueSet struct {
	name   string
	equal  []string // when not nil, exactly these values
	prefix string
	match  func(string) bool
}

// matching returns the values m accepts.
func matching(m *labels.Matcher) valueSet {
	vs := valueSet{name: m.Name, match: m.Matches}
	switch m.Type {
	case labels.MatchEqual:
		vs.equal = []string{m.Value}
	case labels.MatchRegexp:
		if set := m.SetMatches(); set != nil {
			vs.equal = set
		} else {
			vs.prefix = m.Prefix()
		}
	}
	return vs
}

// rejected returns the values m refuses.
func rejected(m *labels.Matcher) valueSet {
	vs := valueSet{name: m.Name, match: func(v string) bool { return !m.Matches(v) }}
	switch m.Type {
	case labels.MatchNotEqual:
		vs.equal = []string{m.Value}
	case labels.MatchNotRegexp:
		// The values !~ refuses are the ones its regexp matches.
		if set := m.SetMatches(); set != nil {
			vs.equal = set
		} else {
			vs.prefix = m.Prefix()
		}
	}
	return vs
}

// selectIDs returns the sorted IDs of the series in the table that ms select, by Loki's rules: a
// matcher that matches the empty string also selects series without its label.
//
// Matchers that refuse the empty string select the union of the postings lists of the values they
// accept; those lists are intersected, smallest first. Matchers that accept the empty string then
// remove the series carrying a value they refuse. With no matcher of the first kind, the start is
// every series in the table. No label set is decoded.
func (t *Table) selectIDs(b buckets, ms []*labels.Matcher) ([]uint64, error) {
	var (
		sets     [][]uint64
		excludes []*labels.Matcher
	)
	for _, m := range ms {
		if m.Matches("") {
			excludes = append(excludes, m)
			continue
		}
		ids, err := t.postings(b.postings, matching(m))
		if err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			return nil, nil
		}
		sets = append(sets, ids)
	}
	var ids []uint64
	if len(sets) == 0 {
		var err error
		if ids, err = t.allIDs(b.series); err != nil {
			return nil, err
		}
	} else {
		slices.SortFunc(sets, func(a, b []uint64) int { return cmp.Compare(len(a), len(b)) })
		ids = sets[0]
		for _, s := range sets[1:] {
			if ids = intersect(ids, s); len(ids) == 0 {
				return nil, nil
			}
		}
	}
	if len(excludes) > 0 && len(ids) <= t.smallSelection {
		return t.filterByLabels(b.series, ids, excludes)
	}
	for _, m := range excludes {
		if len(ids) == 0 {
			break
		}
		drop, err := t.postings(b.postings, rejected(m))
		if err != nil {
			return nil, err
		}
		ids = subtract(ids, drop)
	}
	return ids, nil
}

// allIDs returns the IDs of every series in the table.
func (t *Table) allIDs(sb *bolt.Bucket) ([]uint64, error) {
	// IDs are never reused, so the sequence is the number of series; cap the hint in case it is
	// corrupt.
	ids := make([]uint64, 0, min(sb.Sequence(), 1<<20))
	c := sb.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if len(k) != 8 {
			return nil, fmt.Errorf("list series of %s: %w", t.path, corruptf("series key length %d", len(k)))
		}
		ids = append(ids, binary.BigEndian.Uint64(k))
	}
	return ids, nil
}

// postings returns the sorted union of the postings lists of the values in vs.
func (t *Table) postings(pb *bolt.Bucket, vs valueSet) ([]uint64, error) {
	nb := pb.Bucket([]byte(vs.name))
	if nb == nil {
		return nil, nil
	}
	var (
		ids    []uint64
		values int
		err    error
	)
	c := nb.Cursor()
	if vs.equal != nil {
		for _, v := range vs.equal {
			n := len(ids)
			if ids, err = t.readPostings(c, []byte(v), ids); err != nil {
				return nil, err
			}
			if len(ids) > n {
				values++
			}
		}
	} else {
		var (
			cur     []byte
			matched bool
			last    uint64
		)
		for k, v := c.Seek([]byte(vs.prefix)); k != nil && bytes.HasPrefix(k, []byte(vs.prefix)); k, v = c.Next() {
			value, _, err := splitPostingsKey(k)
			if err != nil {
				return nil, fmt.Errorf("read postings of %q in %s: %w", vs.name, t.path, err)
			}
			if cur == nil || !bytes.Equal(value, cur) {
				cur, last = value, 0
				// The string aliases bbolt's memory only for this call.
				if matched = vs.match(unsafestr.String(value)); matched {
					values++
				}
			}
			if !matched {
				continue
			}
			n := len(ids)
			if ids, err = decodePostings(ids, last, v); err != nil {
				return nil, fmt.Errorf("read postings of %s=%q in %s: %w", vs.name, value, t.path, err)
			}
			if len(ids) > n {
				last = ids[len(ids)-1]
			}
		}
	}
	if values > 1 {
		ids = sortUnique(ids)
	}
	return ids, nil
}

// readPostings appends the postings list of one value to ids, using c on the name's bucket.
func (t *Table) readPostings(c *bolt.Cursor, value []byte, ids []uint64) ([]uint64, error) {
	prefix := append(slices.Clip(value), valueEnd)
	var last uint64
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(k) != len(prefix)+4 {
			return nil, fmt.Errorf("read postings of %q in %s: %w", value, t.path, corruptf("key length %d", len(k)))
		}
		n := len(ids)
		var err error
		if ids, err = decodePostings(ids, last, v); err != nil {
			return nil, fmt.Errorf("read postings of %q in %s: %w", value, t.path, err)
		}
		if len(ids) > n {
			last = ids[len(ids)-1]
		}
	}
	return ids, nil
}

// defaultSmallSelection is the number of series up to which selectIDs checks the matchers that
// accept the empty string against the series' labels rather than reading postings lists that may
// hold most of the table (as for stream!="stderr").
const defaultSmallSelection = 64

// filterByLabels keeps the series of ids whose labels ms all match, a missing label counting as
// the empty value.
func (t *Table) filterByLabels(sb *bolt.Bucket, ids []uint64, ms []*labels.Matcher) ([]uint64, error) {
	out := ids[:0]
	c := sb.Cursor()
	var key [8]byte
	for _, id := range ids {
		binary.BigEndian.PutUint64(key[:], id)
		k, val := c.Seek(key[:])
		if !bytes.Equal(k, key[:]) {
			return nil, fmt.Errorf("read series %d of %s: %w", id, t.path, corruptf("posted series missing"))
		}
		rec, err := decodeSeriesRecord(val)
		if err != nil {
			return nil, fmt.Errorf("read series %d of %s: %w", id, t.path, err)
		}
		keep := true
		for _, m := range ms {
			v, _, err := labelValue(rec.lbls, m.Name)
			if err != nil {
				return nil, fmt.Errorf("read series %d of %s: %w", id, t.path, err)
			}
			// The string aliases bbolt's memory only for this call.
			if !m.Matches(unsafestr.String(v)) {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, id)
		}
	}
	return out, nil
}
