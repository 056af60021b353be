package chunk

import "encoding/binary"

func appendUvarint(dst []byte, v uint64) []byte { return binary.AppendUvarint(dst, v) }
func appendVarint(dst []byte, v int64) []byte   { return binary.AppendVarint(dst, v) }

// uvarint decodes the uvarint at b[pos:] and returns it with the position after it, or a
// negative position if b ends early or the value overflows. It is written out rather than
// calling binary.Uvarint on b[pos:]: the values in a block (time deltas, line lengths) take
// one to four bytes, and this loop made walking a whole block about twice as fast (4.3 to
// 9.5 GB/s of CPU time, uncompressed).
func uvarint(b []byte, pos int) (uint64, int) {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if pos < 0 || pos >= len(b) {
			return 0, -1
		}
		c := b[pos]
		pos++
		if c < 0x80 {
			if shift == 63 && c > 1 {
				return 0, -1
			}
			return v | uint64(c)<<shift, pos
		}
		v |= uint64(c&0x7f) << shift
	}
	return 0, -1
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
