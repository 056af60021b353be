package index

import (
	"encoding/binary"
	"fmt"
)

// A postings list is the sorted, duplicate-free list of the IDs of the series that carry one label
// pair. On disk it is split into segments of at most segmentTarget bytes so that adding a series
// rewrites only the last, short segment instead of the whole list.
//
// Segment value: first ID (uvarint) | (ID - previous ID) (uvarint, > 0) ...
//
// Segment key, in the label name's sub-bucket: value | 0xFF | segment number (4 bytes BE).
// 0xFF never occurs in UTF-8, so the key's value part ends unambiguously and all segments of one
// value are adjacent and in order.

// segmentTarget is the size past which a new segment is started. A 4 KiB bbolt page holds a few
// segments of this size; a series' ID costs one to three bytes.
const segmentTarget = 1024

// valueEnd separates a label value from the segment number in a postings key.
const valueEnd = 0xFF

// postingsKey returns the key of segment seg of value's postings list.
func postingsKey(dst []byte, value string, seg uint32) []byte {
	dst = append(dst, value...)
	dst = append(dst, valueEnd)
	return binary.BigEndian.AppendUint32(dst, seg)
}

// splitPostingsKey returns the label value and segment number of a postings key.
func splitPostingsKey(k []byte) (value []byte, seg uint32, err error) {
	if len(k) < 5 || k[len(k)-5] != valueEnd {
		return nil, 0, corruptf("postings key %q is malformed", k)
	}
	return k[:len(k)-5], binary.BigEndian.Uint32(k[len(k)-4:]), nil
}

// appendPostings appends ids (sorted, unique, all greater than last) to segment data whose last ID
// is last (0 for a new segment: each segment's deltas start from 0).
func appendPostings(dst []byte, last uint64, ids []uint64) []byte {
	for _, id := range ids {
		dst = binary.AppendUvarint(dst, id-last)
		last = id
	}
	return dst
}

// decodePostings appends the IDs of one segment to dst and returns it. Every ID must be greater
// than after: the last ID of the list's previous segment, or 0.
func decodePostings(dst []uint64, after uint64, b []byte) ([]uint64, error) {
	var prev uint64
	first := true
	for len(b) > 0 {
		delta, n := binary.Uvarint(b)
		if n <= 0 {
			return dst, fmt.Errorf("decode postings: %w", corruptf("bad varint"))
		}
		b = b[n:]
		if delta == 0 || prev+delta < prev {
			return dst, fmt.Errorf("decode postings: %w", corruptf("IDs not increasing after %d", prev))
		}
		prev += delta
		if first && prev <= after {
			return dst, fmt.Errorf("decode postings: %w", corruptf("segment starts at %d, not after %d", prev, after))
		}
		first = false
		dst = append(dst, prev)
	}
	return dst, nil
}

// lastPosting returns the last ID in a segment.
func lastPosting(b []byte) (uint64, error) {
	var prev uint64
	for len(b) > 0 {
		delta, n := binary.Uvarint(b)
		if n <= 0 || delta == 0 || prev+delta < prev {
			return 0, fmt.Errorf("decode postings: %w", corruptf("bad segment"))
		}
		b = b[n:]
		prev += delta
	}
	return prev, nil
}
