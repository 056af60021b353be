package chunk

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
)

// The chunk layout (FORMAT.md draws it byte by byte):
//
//	header   8 bytes: magic "SLCK", version, encoding, 2 reserved zero bytes
//	blocks   the compressed blocks, back to back
//	index    block metadata and the symbol table's size, uvarint-coded
//	symbols  the compressed symbol table (empty when no entry has structured metadata)
//	trailer  24 bytes: index offset and length, index CRC, version, encoding, magic
//
// Everything a reader needs to plan its block fetches sits at the end, so a reader of an
// object store fetches the tail, then only the byte ranges of the blocks a query needs.

const (
	// Version is the format version this package writes. It reads every version from
	// MinVersion to Version.
	Version = 6
	// MinVersion is the oldest format version this package reads. Version 1 stored each
	// entry's timestamp and length next to its line; version 2 keeps the lines apart (see
	// block.go), which made chunks of real logs about a seventh smaller; version 3 separates
	// lines by a byte instead of a length column and stores the timestamp deltas' random
	// low bytes in planes, another 5%; version 4 elides the stamps lines carry of their own
	// time (stamp.go), another 14% on the storage benchmark's workload; version 5 packs the
	// lines' hex IDs two digits to a byte (hexrun.go), another 3%; version 6 lets a hex ID
	// repeat any earlier one of its block, not only the last 16.
	MinVersion = 1
	// HeaderSize is the size of the fixed header at the start of a chunk.
	HeaderSize = 8
	// TrailerSize is the size of the fixed trailer at the end of a chunk.
	TrailerSize = 24
)

var magic = [4]byte{'S', 'L', 'C', 'K'}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// BlockMeta describes one block of a chunk; the chunk's index holds one per block.
type BlockMeta struct {
	// MinT and MaxT are the smallest and largest entry timestamps in the block (Unix ns).
	MinT, MaxT int64
	// Entries is the number of entries in the block.
	Entries int
	// Offset and Length locate the compressed block in the chunk's bytes.
	Offset, Length int
	// RawSize is the size of the decompressed block.
	RawSize int
	// CRC is the CRC32-Castagnoli of the compressed bytes.
	CRC uint32
}

// symbolsMeta locates the compressed symbol table. It starts right after the index and ends
// at the trailer, so Offset is not stored.
type symbolsMeta struct {
	Offset, Length, RawSize, Count int
	CRC                            uint32
}

func appendHeader(dst []byte, enc Encoding) []byte {
	dst = append(dst, magic[:]...)
	return append(dst, Version, byte(enc), 0, 0)
}

// parseHeader returns the encoding and format version the header names.
func parseHeader(b []byte) (Encoding, int, error) {
	if len(b) < HeaderSize {
		return 0, 0, fmt.Errorf("header: %d bytes, want %d: %w", len(b), HeaderSize, ErrCorrupt)
	}
	if [4]byte(b[:4]) != magic {
		return 0, 0, fmt.Errorf("header: bad magic %q: %w", b[:4], ErrCorrupt)
	}
	if !knownVersion(b[4]) {
		return 0, 0, fmt.Errorf("header: version %d, want %d to %d: %w", b[4], MinVersion, Version, ErrCorrupt)
	}
	enc := Encoding(b[5])
	if !enc.Valid() {
		return 0, 0, fmt.Errorf("header: unknown encoding %d: %w", b[5], ErrCorrupt)
	}
	if b[6] != 0 || b[7] != 0 {
		return 0, 0, fmt.Errorf("header: reserved bytes %#x %#x are not zero: %w", b[6], b[7], ErrCorrupt)
	}
	return enc, int(b[4]), nil
}

func knownVersion(v byte) bool { return v >= MinVersion && v <= Version }

// appendIndex appends the index section.
func appendIndex(dst []byte, blocks []BlockMeta, syms symbolsMeta) []byte {
	dst = appendUvarint(dst, uint64(len(blocks)))
	for _, m := range blocks {
		dst = appendVarint(dst, m.MinT)
		dst = appendUvarint(dst, uint64(m.MaxT-m.MinT))
		dst = appendUvarint(dst, uint64(m.Entries))
		dst = appendUvarint(dst, uint64(m.Offset))
		dst = appendUvarint(dst, uint64(m.Length))
		dst = appendUvarint(dst, uint64(m.RawSize))
		dst = binary.LittleEndian.AppendUint32(dst, m.CRC)
	}
	dst = appendUvarint(dst, uint64(syms.Length))
	dst = appendUvarint(dst, uint64(syms.RawSize))
	dst = appendUvarint(dst, uint64(syms.Count))
	return binary.LittleEndian.AppendUint32(dst, syms.CRC)
}

// minBlockIndexSize is the fewest bytes one block's index entry can take (six one-byte
// varints and the CRC); it bounds the block count a reader believes.
const minBlockIndexSize = 6 + 4

// parseIndex decodes the index section b. The offsets it returns are not yet checked
// against the chunk's size, and the symbol table's Offset is left to the caller.
func parseIndex(b []byte) ([]BlockMeta, symbolsMeta, error) {
	var sm symbolsMeta
	pos := 0
	fail := func(what string) error { return fmt.Errorf("index: %s: %w", what, ErrCorrupt) }
	n, pos := uvarint(b, pos)
	if pos < 0 || n > uint64(len(b)/minBlockIndexSize) {
		return nil, sm, fail("block count")
	}
	blocks := make([]BlockMeta, n)
	readInt := func() int {
		v, p := uvarint(b, pos)
		if p < 0 || v > math.MaxInt32 {
			pos = -1
			return 0
		}
		pos = p
		return int(v)
	}
	for i := range blocks {
		m := &blocks[i]
		var span uint64
		if m.MinT, pos = varint(b, pos); pos < 0 {
			return nil, sm, fail(fmt.Sprintf("block %d min time", i))
		}
		if span, pos = uvarint(b, pos); pos < 0 || span > uint64(math.MaxInt64-m.MinT) {
			return nil, sm, fail(fmt.Sprintf("block %d max time", i))
		}
		m.MaxT = m.MinT + int64(span)
		m.Entries, m.Offset, m.Length, m.RawSize = readInt(), readInt(), readInt(), readInt()
		if pos < 0 || pos+4 > len(b) {
			return nil, sm, fail(fmt.Sprintf("block %d", i))
		}
		m.CRC = binary.LittleEndian.Uint32(b[pos:])
		pos += 4
	}
	sm.Length, sm.RawSize, sm.Count = readInt(), readInt(), readInt()
	if pos < 0 || pos+4 != len(b) {
		return nil, sm, fail("symbol table location")
	}
	sm.CRC = binary.LittleEndian.Uint32(b[pos:])
	return blocks, sm, nil
}

// Trailer is the fixed-size end of a chunk: where the index is and how to read the blocks.
type Trailer struct {
	IndexOffset int64
	IndexLength int
	IndexCRC    uint32
	Encoding    Encoding
	// Version is the chunk's format version.
	Version int
}

func appendTrailer(dst []byte, t Trailer) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, uint64(t.IndexOffset))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(t.IndexLength))
	dst = binary.LittleEndian.AppendUint32(dst, t.IndexCRC)
	dst = append(dst, byte(t.Version), byte(t.Encoding), 0, 0)
	return append(dst, magic[:]...)
}

// ParseTrailer decodes the trailer from the last TrailerSize bytes of b, where b is the end
// of a chunk object of size bytes (b may be the whole chunk). It checks the magic, version
// and that the index lies inside the object; errors wrap ErrCorrupt. Everything from
// IndexOffset to the end of the object is what a reader needs before fetching blocks.
func ParseTrailer(b []byte, size int64) (Trailer, error) {
	var t Trailer
	if len(b) < TrailerSize || size < HeaderSize+TrailerSize || int64(len(b)) > size {
		return t, fmt.Errorf("trailer: %d bytes of a %d-byte chunk: %w", len(b), size, ErrCorrupt)
	}
	b = b[len(b)-TrailerSize:]
	if [4]byte(b[20:24]) != magic {
		return t, fmt.Errorf("trailer: bad magic %q: %w", b[20:24], ErrCorrupt)
	}
	if !knownVersion(b[16]) {
		return t, fmt.Errorf("trailer: version %d, want %d to %d: %w", b[16], MinVersion, Version, ErrCorrupt)
	}
	t.Version = int(b[16])
	t.Encoding = Encoding(b[17])
	if !t.Encoding.Valid() {
		return t, fmt.Errorf("trailer: unknown encoding %d: %w", b[17], ErrCorrupt)
	}
	if b[18] != 0 || b[19] != 0 {
		return t, fmt.Errorf("trailer: reserved bytes %#x %#x are not zero: %w", b[18], b[19], ErrCorrupt)
	}
	off := binary.LittleEndian.Uint64(b[0:])
	t.IndexLength = int(binary.LittleEndian.Uint32(b[8:]))
	t.IndexCRC = binary.LittleEndian.Uint32(b[12:])
	end := uint64(size - TrailerSize)
	if off < HeaderSize || off > end || uint64(t.IndexLength) > end-off {
		return t, fmt.Errorf("trailer: index at %d+%d does not fit before %d: %w", off, t.IndexLength, end, ErrCorrupt)
	}
	t.IndexOffset = int64(off)
	return t, nil
}
