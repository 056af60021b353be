package chunk

import "encoding/binary"

func appendUvarint(dst []byte, v uint64) []byte { return binary.AppendUvarint(dst, v) }
func appendVarint(dst []byte, v int64) []byte   { return binary.AppendVarint(dst, v) }

// uvarint decodes the uvarint at b[pos:] and returns it with the position after it, or a
// negative position if b ends early or the value overflows. The one-byte case is inlined
// because most lengths and deltas in a block fit in one or two bytes.
func uvarint(b []byte, pos int) (uint64, int) {
	if pos < len(b) && b[pos] < 0x80 {
		return uint64(b[pos]), pos + 1
	}
	if pos > len(b) {
		return 0, -1
	}
	v, n := binary.Uvarint(b[pos:])
	if n <= 0 {
		return 0, -1
	}
	return v, pos + n
}

// varint is uvarint for zig-zag signed values.
func varint(b []byte, pos int) (int64, int) {
	u, pos := uvarint(b, pos)
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v, pos
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
