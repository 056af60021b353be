package index

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// coversDay reports whether [from, through] covers the table's whole day, so that every series in
// the table has a chunk in the range.
func (t *Table) coversDay(from, through int64) bool {
	dayFrom, dayThrough := DayRange(t.day)
	return from <= dayFrom && through >= dayThrough
}

// labelNames calls fn with every label name in the table: the names of the postings sub-buckets.
// The slice is valid only during the call.
func (t *Table) labelNames(fn func(name []byte)) error {
	return t.view(func(tx *bolt.Tx) error {
		b, err := t.buckets(tx)
		if err != nil {
			return err
		}
		return b.postings.ForEachBucket(func(k []byte) error {
			fn(k)
			return nil
		})
	})
}

// labelValues calls fn with every value of the label name in the table, once each. The slice is
// valid only during the call.
func (t *Table) labelValues(name string, fn func(value []byte)) error {
	return t.view(func(tx *bolt.Tx) error {
		b, err := t.buckets(tx)
		if err != nil {
			return err
		}
		nb := b.postings.Bucket([]byte(name))
		if nb == nil {
			return nil
		}
		var prev []byte
		c := nb.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			value, _, err := splitPostingsKey(k)
			if err != nil {
				return fmt.Errorf("list values of %q in %s: %w", name, t.path, err)
			}
			if prev == nil || !bytes.Equal(prev, value) {
				fn(value)
				prev = value
			}
		}
		return nil
	})
}
