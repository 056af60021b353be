package index

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"os"

	bolt "go.etcd.io/bbolt"
)

// Version identifies one committed state of a table file: the bbolt transaction ID of its last
// commit and the checksum of its meta page. Two files with the same Version hold the same data
// (the checksum tells apart two tables that happen to reach the same transaction ID, such as a
// table rebuilt from scratch under the same name).
type Version struct {
	TxID     uint64
	Checksum uint64
}

// VersionHeaderSize is how many bytes from the start of a table file ReadVersion needs.
const VersionHeaderSize = 80

// bbolt's first meta page, at offset 0 of every file: a 16-byte page header, then magic,
// version, page size and flags (4 bytes each), the root bucket (16), the freelist and high-water
// page IDs (8 each), the transaction ID and the FNV-64a checksum of the meta fields before it.
// Integers are in the writing machine's byte order; Sluice runs on little-endian machines.
const (
	metaOffset   = 16
	metaMagic    = 0xED0CDAED
	txidOffset   = 64
	metaSumStart = metaOffset
	metaSumEnd   = 72
)

// ReadVersion returns the Version of the table file that starts with head (at least
// VersionHeaderSize bytes), for example the first bytes of a shipped table fetched with a ranged
// read. It only looks at the first meta page, which is the current one in a file written by
// Snapshot. Bytes that are not a bbolt meta page give an error wrapping ErrCorrupt.
func ReadVersion(head []byte) (Version, error) {
	if len(head) < VersionHeaderSize {
		return Version{}, corruptf("table header: %d bytes, want %d", len(head), VersionHeaderSize)
	}
	if m := binary.LittleEndian.Uint32(head[metaOffset:]); m != metaMagic {
		return Version{}, corruptf("table header: bad magic %#x", m)
	}
	sum := binary.LittleEndian.Uint64(head[metaSumEnd:])
	h := fnv.New64a()
	_, _ = h.Write(head[metaSumStart:metaSumEnd]) // a hash never fails to write
	if h.Sum64() != sum {
		return Version{}, corruptf("table header: meta checksum mismatch")
	}
	return Version{TxID: binary.LittleEndian.Uint64(head[txidOffset:]), Checksum: sum}, nil
}

// Snapshot writes a consistent copy of the table to w, taken in one read transaction while
// writers go on, and returns the copy's Version. The copy is a complete table file, which
// OpenTable opens.
func (t *Table) Snapshot(w io.Writer) (Version, error) {
	var v Version
	cw := &headWriter{w: w}
	err := t.view(func(tx *bolt.Tx) error {
		if _, err := tx.WriteTo(cw); err != nil {
			return fmt.Errorf("snapshot index table %s: %w", t.path, err)
		}
		return nil
	})
	if err != nil {
		return Version{}, err
	}
	v, err = ReadVersion(cw.head)
	if err != nil {
		return Version{}, fmt.Errorf("snapshot index table %s: %w", t.path, err)
	}
	return v, nil
}

// headWriter passes writes on and keeps the first VersionHeaderSize bytes.
type headWriter struct {
	w    io.Writer
	head []byte
}

func (h *headWriter) Write(p []byte) (int, error) {
	if n := VersionHeaderSize - len(h.head); n > 0 {
		h.head = append(h.head, p[:min(n, len(p))]...)
	}
	return h.w.Write(p)
}

// Snapshot writes a consistent copy of the table of tenant and day to w (see Table.Snapshot).
// A missing table gives an error wrapping os.ErrNotExist.
func (ix *Index) Snapshot(tenant string, day int64, w io.Writer) (Version, error) {
	t, release, err := ix.acquire(tenant, day, false)
	if err != nil {
		return Version{}, fmt.Errorf("snapshot index of tenant %s day %d: %w", tenant, day, err)
	}
	if t == nil {
		return Version{}, fmt.Errorf("snapshot index of tenant %s day %d: %w", tenant, day, os.ErrNotExist)
	}
	defer release()
	return t.Snapshot(w)
}

// Check walks every page of the table and reports the first inconsistency as an error wrapping
// ErrCorrupt. It reads the whole file: use it on a table just downloaded, not on every query.
func (t *Table) Check() error {
	return t.view(func(tx *bolt.Tx) error {
		// Drain the channel: bbolt's checker goroutine blocks until every error is read.
		var first error
		for err := range tx.Check() {
			if first == nil && err != nil {
				first = fmt.Errorf("check index table %s: %w: %w", t.path, ErrCorrupt, err)
			}
		}
		if first != nil {
			return first
		}
		return t.checkMeta(tx)
	})
}
