package index

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/unsafestr"
)

// seriesRecord is the decoded value of the series bucket: a series' fingerprint, the time span of
// all its chunks in the table, and its encoded label set.
type seriesRecord struct {
	fp         uint64
	minFrom    int64
	maxThrough int64
	// lbls is the encoded label set (see appendLabels); it aliases the decoded bytes.
	lbls []byte
}

// appendSeriesRecord encodes r to dst:
//
//	fp (8 bytes BE) | minFrom (varint) | maxThrough (varint) | labels (see appendLabels)
func appendSeriesRecord(dst []byte, r seriesRecord) []byte {
	dst = binary.BigEndian.AppendUint64(dst, r.fp)
	dst = binary.AppendVarint(dst, r.minFrom)
	dst = binary.AppendVarint(dst, r.maxThrough)
	return append(dst, r.lbls...)
}

// decodeSeriesRecord decodes a series record; the result aliases b. It leaves checking and
// decoding the labels to rangeLabels and decodeLabels, so that a reader that only needs the time
// span does not pay for them.
func decodeSeriesRecord(b []byte) (seriesRecord, error) {
	d := decoder{b: b}
	r := seriesRecord{
		fp:         d.fixed64("fingerprint"),
		minFrom:    d.varint("min from"),
		maxThrough: d.varint("max through"),
	}
	if d.err != nil {
		return seriesRecord{}, fmt.Errorf("decode series record: %w", d.err)
	}
	if r.minFrom > r.maxThrough {
		return seriesRecord{}, fmt.Errorf("decode series record: %w", corruptf("time span %d > %d", r.minFrom, r.maxThrough))
	}
	r.lbls = d.b
	return r, nil
}

// appendLabels encodes a label set:
//
//	count (uvarint) | count × ( len(name) uvarint | name | len(value) uvarint | value )
//
// in the label set's order (sorted by name, names unique).
func appendLabels(dst []byte, ls labels.Labels) []byte {
	dst = binary.AppendUvarint(dst, uint64(ls.Len()))
	ls.Range(func(l labels.Label) {
		dst = binary.AppendUvarint(dst, uint64(len(l.Name)))
		dst = append(dst, l.Name...)
		dst = binary.AppendUvarint(dst, uint64(len(l.Value)))
		dst = append(dst, l.Value...)
	})
	return dst
}

// rangeLabels calls fn for each label of an encoded label set, in order, with slices aliasing b.
// It returns an error wrapping ErrCorrupt when b does not decode, or when names are not sorted
// and unique, or a name or value is empty or not UTF-8 (Add never writes such sets).
func rangeLabels(b []byte, fn func(name, value []byte)) error {
	d := decoder{b: b}
	n := d.uvarint("label count")
	if d.err == nil && n > uint64(len(b)) {
		return corruptf("label count %d exceeds the record's %d bytes", n, len(b))
	}
	var prev []byte
	for i := uint64(0); i < n && d.err == nil; i++ {
		name := d.bytes("label name")
		value := d.bytes("label value")
		if d.err != nil {
			break
		}
		if len(name) == 0 || len(value) == 0 {
			return corruptf("label %d has an empty name or value", i)
		}
		if i > 0 && bytes.Compare(prev, name) >= 0 {
			return corruptf("label names %q and %q are out of order", prev, name)
		}
		if !utf8.Valid(name) || !utf8.Valid(value) {
			return corruptf("label %d is not valid UTF-8", i)
		}
		prev = name
		if fn != nil {
			fn(name, value)
		}
	}
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return corruptf("%d bytes after the labels", len(d.b))
	}
	return nil
}

// decodeLabels decodes an encoded label set into a new labels.Labels that does not share b's
// memory.
func decodeLabels(b []byte, sb *labels.ScratchBuilder) (labels.Labels, error) {
	sb.Reset()
	// With unsafe adds, every labels implementation copies the strings before Labels returns, so
	// they may alias b (bbolt's memory) for the duration of this call.
	sb.SetUnsafeAdd(true)
	err := rangeLabels(b, func(name, value []byte) { sb.Add(unsafestr.String(name), unsafestr.String(value)) })
	if err != nil {
		return labels.EmptyLabels(), err
	}
	return sb.Labels(), nil
}

// labelValue returns the value of name in an encoded label set, aliasing b, and whether the set
// has the label.
func labelValue(b []byte, name string) (value []byte, ok bool, err error) {
	err = rangeLabels(b, func(n, v []byte) {
		if !ok && string(n) == name {
			value, ok = v, true
		}
	})
	if err != nil {
		return nil, false, err
	}
	return value, ok, nil
}
