package chunk

import (
	"fmt"
	"strings"
)

// Structured metadata is stored per entry as pairs of references into the chunk's symbol
// table, so a label name such as "trace_id" is written once per chunk rather than once per
// entry. The table's raw encoding is
//
//	uvarint count, then count times: uvarint length, bytes

// symbolTable interns strings for a Head. Reads of names[:n] taken earlier stay valid while
// more symbols are added, which lets iterators share it without a lock.
type symbolTable struct {
	ids   map[string]uint32
	names []string
	size  int // raw encoded size of names, kept for Head.CompressedSize
}

// ref returns the reference of s, adding it (as a copy, so the caller's buffer is not kept
// alive) when it is new.
func (t *symbolTable) ref(s string) uint32 {
	if id, ok := t.ids[s]; ok {
		return id
	}
	if t.ids == nil {
		t.ids = make(map[string]uint32)
	}
	s = strings.Clone(s)
	id := uint32(len(t.names))
	t.ids[s] = id
	t.names = append(t.names, s)
	t.size += uvarintLen(uint64(len(s))) + len(s)
	return id
}

// appendSymbols appends the raw encoding of names to dst.
func appendSymbols(dst []byte, names []string) []byte {
	dst = appendUvarint(dst, uint64(len(names)))
	for _, s := range names {
		dst = appendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	return dst
}

// parseSymbols decodes a raw symbol table holding count symbols. The returned strings share
// one allocation: a copy of raw.
func parseSymbols(raw []byte, count int) ([]string, error) {
	n, pos := uvarint(raw, 0)
	if pos < 0 || n != uint64(count) || n > uint64(len(raw)) {
		return nil, fmt.Errorf("symbol count %d, index says %d", n, count)
	}
	all := string(raw)
	names := make([]string, n)
	for i := range names {
		l, p := uvarint(raw, pos)
		if p < 0 || l > uint64(len(raw)-p) {
			return nil, fmt.Errorf("symbol %d truncated", i)
		}
		names[i] = all[p : p+int(l)]
		pos = p + int(l)
	}
	if pos != len(raw) {
		return nil, fmt.Errorf("%d bytes after the last symbol", len(raw)-pos)
	}
	return names, nil
}

// decodeSymbols checks and decompresses a symbol table section.
func decodeSymbols(enc Encoding, b []byte, sm symbolsMeta) ([]string, error) {
	if checksum(b) != sm.CRC {
		return nil, fmt.Errorf("symbol table: checksum mismatch: %w", ErrCorrupt)
	}
	raw, err := decompress(enc, nil, b, sm.RawSize)
	if err != nil {
		return nil, fmt.Errorf("symbol table: %w: %w", err, ErrCorrupt)
	}
	syms, err := parseSymbols(raw, sm.Count)
	if err != nil {
		return nil, fmt.Errorf("symbol table: %w: %w", err, ErrCorrupt)
	}
	return syms, nil
}
