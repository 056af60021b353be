package wal

import (
	"encoding/binary"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
)

// recordVersion is the first byte of every record AppendRecord writes. A change to the layout in
// FORMAT.md bumps it; the decoder refuses versions it does not know.
const recordVersion = 1

// Record is one decoded push: the tenant it belongs to and its streams. Stream labels are the
// canonical label string the distributor produced.
type Record struct {
	Tenant  string
	Streams []logproto.Stream
}

// AppendRecord appends the encoding of one push (tenant and streams) to dst and returns the
// extended buffer. The layout is in FORMAT.md. Timestamps are stored as deltas from the previous
// entry of the same stream, so in-order streams cost one or two bytes per timestamp.
func AppendRecord(dst []byte, tenant string, streams []logproto.Stream) []byte {
	dst = append(dst, recordVersion)
	dst = appendString(dst, tenant)
	dst = binary.AppendUvarint(dst, uint64(len(streams)))
	for i := range streams {
		s := &streams[i]
		dst = appendString(dst, s.Labels)
		dst = binary.AppendUvarint(dst, uint64(len(s.Entries)))
		var prev int64
		for j := range s.Entries {
			e := &s.Entries[j]
			// The subtraction may wrap for extreme timestamps; decoding adds with the same
			// wrap-around, so every int64 survives the round trip.
			dst = binary.AppendVarint(dst, e.Timestamp-prev)
			prev = e.Timestamp
			dst = appendString(dst, e.Line)
			dst = binary.AppendUvarint(dst, uint64(e.StructuredMetadata.Len()))
			e.StructuredMetadata.Range(func(l labels.Label) {
				dst = appendString(dst, l.Name)
				dst = appendString(dst, l.Value)
			})
		}
	}
	return dst
}

// RecordSize returns an upper bound of the size of AppendRecord's encoding of the same push,
// for WAL.LogAppend: every varint counted at its longest.
func RecordSize(tenant string, streams []logproto.Stream) int {
	const v = binary.MaxVarintLen64
	n := 1 + v + len(tenant) + v
	for i := range streams {
		s := &streams[i]
		n += v + len(s.Labels) + v
		for j := range s.Entries {
			e := &s.Entries[j]
			n += v + v + len(e.Line) + v
			e.StructuredMetadata.Range(func(l labels.Label) {
				n += v + len(l.Name) + v + len(l.Value)
			})
		}
	}
	return n
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}
