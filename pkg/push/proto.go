package push

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/prometheus/prometheus/model/labels"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/unsafestr"
)

// Field numbers of Loki's logproto push messages.
const (
	fieldRequestStreams = 1

	fieldStreamLabels  = 1
	fieldStreamEntries = 2

	fieldEntryTimestamp = 1
	fieldEntryLine      = 2
	fieldEntryMetadata  = 3

	fieldTimestampSeconds = 1
	fieldTimestampNanos   = 2

	fieldPairName  = 1
	fieldPairValue = 2
)

// ErrMalformed is wrapped by every decoding error caused by the body itself.
var ErrMalformed = errors.New("malformed push body")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// UnmarshalProto decodes an uncompressed protobuf logproto.PushRequest from b into req,
// appending to req.Streams. The strings of req alias b: b must not be modified afterwards.
func UnmarshalProto(b []byte, req *logproto.PushRequest) error {
	return unmarshalProto(b, req, false)
}

// unmarshalProto decodes b into req; with reuse, the Entries slices left in req.Streams beyond
// its length (by Body.Release) are reused instead of allocated.
func unmarshalProto(b []byte, req *logproto.PushRequest, reuse bool) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return malformed("push request: %v", protowire.ParseError(n))
		}
		b = b[n:]
		if num == fieldRequestStreams && typ == protowire.BytesType {
			msg, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return malformed("stream: %v", protowire.ParseError(n))
			}
			b = b[n:]
			var s logproto.Stream
			if n := len(req.Streams); reuse && n < cap(req.Streams) {
				s.Entries = req.Streams[:n+1][n].Entries[:0]
			}
			if err := unmarshalStream(msg, &s); err != nil {
				return err
			}
			req.Streams = append(req.Streams, s)
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return malformed("push request field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
	}
	return nil
}

func unmarshalStream(b []byte, s *logproto.Stream) error {
	// Count entries first so the slice is allocated once (or reused when it is big enough).
	if n := countField(b, fieldStreamEntries); n > cap(s.Entries) {
		s.Entries = make([]logproto.Entry, 0, n)
	}
	for len(b) > 0 {
		// An entry, the common case, without protowire (see fastEntry).
		if v, rest, ok := fastBytes(b, fieldStreamEntries); ok {
			var e logproto.Entry
			if !fastEntry(v, &e) {
				if err := unmarshalEntry(v, &e); err != nil {
					return fmt.Errorf("stream %s: %w", s.Labels, err)
				}
			}
			s.Entries = append(s.Entries, e)
			b = rest
			continue
		}
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return malformed("stream: %v", protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == fieldStreamLabels && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return malformed("stream labels: %v", protowire.ParseError(n))
			}
			s.Labels = unsafestr.String(v)
			b = b[n:]
		case num == fieldStreamEntries && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return malformed("entry: %v", protowire.ParseError(n))
			}
			var e logproto.Entry
			if err := unmarshalEntry(v, &e); err != nil {
				return fmt.Errorf("stream %s: %w", s.Labels, err)
			}
			s.Entries = append(s.Entries, e)
			b = b[n:]
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return malformed("stream field %d: %v", num, protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	return nil
}

// countField counts occurrences of a length-delimited field; it stops silently on bad input,
// which the real decoding pass then reports.
func countField(b []byte, field protowire.Number) int {
	count := 0
	for len(b) > 0 {
		if _, rest, ok := fastBytes(b, byte(field)); ok {
			count++
			b = rest
			continue
		}
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return count
		}
		b = b[n:]
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return count
		}
		if num == field && typ == protowire.BytesType {
			count++
		}
		b = b[n:]
	}
	return count
}

// fastBytes reads a length-delimited field numbered field (1..15) at the start of b: its
// value and what follows. ok is false for anything else, and for bad input, which the general
// decoding then reports.
func fastBytes(b []byte, field byte) (v, rest []byte, ok bool) {
	if len(b) < 2 || b[0] != field<<3|byte(protowire.BytesType) {
		return nil, nil, false
	}
	l, n := binary.Uvarint(b[1:]) // n <= 0: b ends first, or the varint overflows 64 bits
	if n <= 0 || l > uint64(len(b)-1-n) {
		return nil, nil, false
	}
	end := 1 + n + int(l)
	return b[1+n : end], b[end:], true
}

// fastEntry decodes the entry layout Loki's clients write (promtail, Alloy, logcli and the
// Go, Java and Python clients alike): the timestamp's seconds then nanoseconds, then the line,
// and no structured metadata. For anything else it returns false, and unmarshalEntry, which
// takes fields in any order, repeated or unknown, decodes the entry (or reports it
// malformed). Going through protowire cost about 900 instructions an entry, several percent
// of the whole ingest path's; this costs a fraction of that.
func fastEntry(b []byte, e *logproto.Entry) bool {
	ts, b, ok := fastBytes(b, fieldEntryTimestamp)
	if !ok {
		return false
	}
	var secs, nanos uint64
	if len(ts) > 0 && ts[0] == fieldTimestampSeconds<<3|byte(protowire.VarintType) {
		v, n := binary.Uvarint(ts[1:])
		if n <= 0 {
			return false
		}
		secs, ts = v, ts[1+n:]
	}
	if len(ts) > 0 && ts[0] == fieldTimestampNanos<<3|byte(protowire.VarintType) {
		v, n := binary.Uvarint(ts[1:])
		if n <= 0 {
			return false
		}
		nanos, ts = v, ts[1+n:]
	}
	if len(ts) != 0 {
		return false
	}
	var line []byte
	if len(b) > 0 { // an empty line is not written at all
		if line, b, ok = fastBytes(b, fieldEntryLine); !ok || len(b) != 0 {
			return false
		}
	}
	e.Timestamp = int64(secs)*1e9 + int64(int32(nanos))
	e.Line = unsafestr.String(line)
	return true
}

func unmarshalEntry(b []byte, e *logproto.Entry) error {
	var md labels.ScratchBuilder
	hasMD := false
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return malformed("entry: %v", protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == fieldEntryTimestamp && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return malformed("entry timestamp: %v", protowire.ParseError(n))
			}
			ts, err := unmarshalTimestamp(v)
			if err != nil {
				return err
			}
			e.Timestamp = ts
			b = b[n:]
		case num == fieldEntryLine && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return malformed("entry line: %v", protowire.ParseError(n))
			}
			e.Line = unsafestr.String(v)
			b = b[n:]
		case num == fieldEntryMetadata && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return malformed("structured metadata: %v", protowire.ParseError(n))
			}
			name, value, err := unmarshalPair(v)
			if err != nil {
				return err
			}
			md.Add(name, value)
			hasMD = true
			b = b[n:]
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return malformed("entry field %d: %v", num, protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	if hasMD {
		md.Sort()
		e.StructuredMetadata = md.Labels()
	}
	return nil
}

func unmarshalTimestamp(b []byte) (int64, error) {
	var secs, nanos int64
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, malformed("timestamp: %v", protowire.ParseError(n))
		}
		b = b[n:]
		if typ == protowire.VarintType && (num == fieldTimestampSeconds || num == fieldTimestampNanos) {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return 0, malformed("timestamp: %v", protowire.ParseError(n))
			}
			if num == fieldTimestampSeconds {
				secs = int64(v)
			} else {
				nanos = int64(int32(v))
			}
			b = b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return 0, malformed("timestamp field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
	}
	return secs*1e9 + nanos, nil
}

func unmarshalPair(b []byte) (name, value string, err error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", "", malformed("label pair: %v", protowire.ParseError(n))
		}
		b = b[n:]
		if typ == protowire.BytesType && (num == fieldPairName || num == fieldPairValue) {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return "", "", malformed("label pair: %v", protowire.ParseError(n))
			}
			if num == fieldPairName {
				name = unsafestr.String(v)
			} else {
				value = unsafestr.String(v)
			}
			b = b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return "", "", malformed("label pair field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
	}
	return name, value, nil
}

// AppendProto appends the uncompressed protobuf encoding of req to dst.
func AppendProto(dst []byte, req *logproto.PushRequest) []byte {
	for i := range req.Streams {
		s := &req.Streams[i]
		dst = protowire.AppendTag(dst, fieldRequestStreams, protowire.BytesType)
		dst = protowire.AppendVarint(dst, uint64(streamSize(s)))
		dst = protowire.AppendTag(dst, fieldStreamLabels, protowire.BytesType)
		dst = protowire.AppendString(dst, s.Labels)
		for j := range s.Entries {
			e := &s.Entries[j]
			dst = protowire.AppendTag(dst, fieldStreamEntries, protowire.BytesType)
			dst = protowire.AppendVarint(dst, uint64(entrySize(e)))
			dst = appendEntry(dst, e)
		}
	}
	return dst
}

func streamSize(s *logproto.Stream) int {
	n := protowire.SizeTag(fieldStreamLabels) + protowire.SizeBytes(len(s.Labels))
	for j := range s.Entries {
		n += protowire.SizeTag(fieldStreamEntries) + protowire.SizeBytes(entrySize(&s.Entries[j]))
	}
	return n
}

func timestampParts(ts int64) (secs, nanos int64) {
	secs, nanos = ts/1e9, ts%1e9
	if nanos < 0 { // protobuf Timestamp keeps nanos in [0, 1e9)
		secs--
		nanos += 1e9
	}
	return secs, nanos
}

func timestampSize(ts int64) int {
	secs, nanos := timestampParts(ts)
	n := 0
	if secs != 0 {
		n += protowire.SizeTag(fieldTimestampSeconds) + protowire.SizeVarint(uint64(secs))
	}
	if nanos != 0 {
		n += protowire.SizeTag(fieldTimestampNanos) + protowire.SizeVarint(uint64(nanos))
	}
	return n
}

func pairSize(l labels.Label) int {
	return protowire.SizeTag(fieldPairName) + protowire.SizeBytes(len(l.Name)) +
		protowire.SizeTag(fieldPairValue) + protowire.SizeBytes(len(l.Value))
}

func entrySize(e *logproto.Entry) int {
	n := protowire.SizeTag(fieldEntryTimestamp) + protowire.SizeBytes(timestampSize(e.Timestamp))
	n += protowire.SizeTag(fieldEntryLine) + protowire.SizeBytes(len(e.Line))
	e.StructuredMetadata.Range(func(l labels.Label) {
		n += protowire.SizeTag(fieldEntryMetadata) + protowire.SizeBytes(pairSize(l))
	})
	return n
}

func appendEntry(dst []byte, e *logproto.Entry) []byte {
	dst = protowire.AppendTag(dst, fieldEntryTimestamp, protowire.BytesType)
	dst = protowire.AppendVarint(dst, uint64(timestampSize(e.Timestamp)))
	secs, nanos := timestampParts(e.Timestamp)
	if secs != 0 {
		dst = protowire.AppendTag(dst, fieldTimestampSeconds, protowire.VarintType)
		dst = protowire.AppendVarint(dst, uint64(secs))
	}
	if nanos != 0 {
		dst = protowire.AppendTag(dst, fieldTimestampNanos, protowire.VarintType)
		dst = protowire.AppendVarint(dst, uint64(nanos))
	}
	dst = protowire.AppendTag(dst, fieldEntryLine, protowire.BytesType)
	dst = protowire.AppendString(dst, e.Line)
	e.StructuredMetadata.Range(func(l labels.Label) {
		dst = protowire.AppendTag(dst, fieldEntryMetadata, protowire.BytesType)
		dst = protowire.AppendVarint(dst, uint64(pairSize(l)))
		dst = protowire.AppendTag(dst, fieldPairName, protowire.BytesType)
		dst = protowire.AppendString(dst, l.Name)
		dst = protowire.AppendTag(dst, fieldPairValue, protowire.BytesType)
		dst = protowire.AppendString(dst, l.Value)
	})
	return dst
}
