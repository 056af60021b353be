package index

import (
	"encoding/binary"
	"fmt"
)

// chunkKeyLen is the length of a key in the chunks bucket:
//
//	series ID (8 BE) | timeBits(From) (8 BE) | timeBits(Through) (8 BE) | Checksum (4 BE)
//
// so a series' chunks are adjacent and sorted by start time.
const chunkKeyLen = 8 + 8 + 8 + 4

// chunkKey appends the chunks-bucket key of ref, belonging to the series with the table-local id.
func chunkKey(dst []byte, id uint64, ref *ChunkRef) []byte {
	dst = binary.BigEndian.AppendUint64(dst, id)
	dst = binary.BigEndian.AppendUint64(dst, timeBits(ref.From))
	dst = binary.BigEndian.AppendUint64(dst, timeBits(ref.Through))
	return binary.BigEndian.AppendUint32(dst, ref.Checksum)
}

// decodeChunkKey splits a chunks-bucket key and fills ref's time range and checksum.
func decodeChunkKey(k []byte, ref *ChunkRef) (id uint64, err error) {
	if len(k) != chunkKeyLen {
		return 0, fmt.Errorf("decode chunk key: %w", corruptf("length %d, want %d", len(k), chunkKeyLen))
	}
	id = binary.BigEndian.Uint64(k)
	ref.From = bitsTime(binary.BigEndian.Uint64(k[8:]))
	ref.Through = bitsTime(binary.BigEndian.Uint64(k[16:]))
	ref.Checksum = binary.BigEndian.Uint32(k[24:])
	if ref.From > ref.Through {
		return 0, fmt.Errorf("decode chunk key: %w", corruptf("from %d after through %d", ref.From, ref.Through))
	}
	return id, nil
}

// appendChunkStats encodes a chunk's statistics, the value in the chunks bucket:
//
//	Entries (uvarint) | UncompressedBytes (uvarint)
func appendChunkStats(dst []byte, ref *ChunkRef) []byte {
	dst = binary.AppendUvarint(dst, uint64(ref.Entries))
	return binary.AppendUvarint(dst, ref.UncompressedBytes)
}

// decodeChunkStats fills ref's Entries and UncompressedBytes from a chunks-bucket value.
// Trailing bytes are allowed so that later versions can add fields.
func decodeChunkStats(b []byte, ref *ChunkRef) error {
	d := decoder{b: b}
	entries := d.uvarint("entries")
	size := d.uvarint("uncompressed bytes")
	if d.err != nil {
		return fmt.Errorf("decode chunk stats: %w", d.err)
	}
	if entries > maxUint32 {
		return fmt.Errorf("decode chunk stats: %w", corruptf("entries %d overflow uint32", entries))
	}
	ref.Entries, ref.UncompressedBytes = uint32(entries), size
	return nil
}
