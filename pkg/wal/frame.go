package wal

import (
	"encoding/binary"
	"hash/crc32"
)

// Every WAL file (segment or checkpoint) starts with an 8-byte header: a 4-byte magic naming
// the kind of file, a version byte and three zero bytes. Frames follow. See FORMAT.md.
const (
	fileHeaderSize = 8
	fileVersion    = 1

	// frameHeaderSize is the length and checksum in front of every record.
	frameHeaderSize = 8
)

var (
	segmentMagic    = [4]byte{'S', 'L', 'W', 'S'}
	checkpointMagic = [4]byte{'S', 'L', 'W', 'C'}
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func fileHeader(magic [4]byte) [fileHeaderSize]byte {
	var h [fileHeaderSize]byte
	copy(h[:4], magic[:])
	h[4] = fileVersion
	return h
}

// appendFrame appends rec framed as: length (uint32 little-endian), CRC32-Castagnoli of the four
// length bytes followed by rec (uint32 little-endian), rec. Covering the length by the checksum
// means a damaged length is caught instead of sending the reader off to a wrong offset.
func appendFrame(dst, rec []byte) []byte {
	h := frameHeader(rec)
	dst = append(dst, h[:]...)
	return append(dst, rec...)
}

// frameHeader returns the length and checksum that go in front of rec.
func frameHeader(rec []byte) [frameHeaderSize]byte {
	var h [frameHeaderSize]byte
	binary.LittleEndian.PutUint32(h[:4], uint32(len(rec)))
	binary.LittleEndian.PutUint32(h[4:], frameCRC(h[:4], rec))
	return h
}

func frameCRC(lenBytes, rec []byte) uint32 {
	return crc32.Update(crc32.Checksum(lenBytes, castagnoli), castagnoli, rec)
}

// maxRecordSize is the largest record a frame can carry: the length field is 32 bits.
const maxRecordSize uint64 = 1<<32 - 1
