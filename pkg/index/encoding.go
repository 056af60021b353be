package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrCorrupt is wrapped by every error about a table whose bytes do not decode: a reader may skip
// such a table, but should not retry it.
var ErrCorrupt = errors.New("corrupt index table")

// corruptf returns an error wrapping ErrCorrupt.
func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// decoder reads varints from a byte slice, keeping the first error; later reads return zero.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = corruptf("bad varint for %s", what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = corruptf("bad varint for %s", what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(what string) []byte {
	if d.err != nil {
		return nil
	}
	n, k := binary.Uvarint(d.b)
	if k <= 0 {
		d.err = corruptf("bad length of %s", what)
		return nil
	}
	d.b = d.b[k:]
	if n > uint64(len(d.b)) {
		d.err = corruptf("%s length %d exceeds the %d bytes left", what, n, len(d.b))
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) fixed64(what string) uint64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.err = corruptf("%s needs 8 bytes, %d left", what, len(d.b))
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

// timeBits maps an int64 timestamp to a uint64 whose big-endian bytes sort like the timestamps.
func timeBits(t int64) uint64 { return uint64(t) ^ (1 << 63) }

// bitsTime inverts timeBits.
func bitsTime(u uint64) int64 { return int64(u ^ (1 << 63)) }

// maxUint32 bounds the chunk entry count on decode.
const maxUint32 = math.MaxUint32
