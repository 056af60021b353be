package index

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ChunkRef names one chunk of one series and carries what the index knows about it.
type ChunkRef struct {
	// Tenant owns the chunk.
	Tenant string
	// Fingerprint is the hash of the series' label set (labels.Labels.Hash). Two series may share a
	// fingerprint; the index keeps them apart by their labels, the object key does not (see Key).
	Fingerprint uint64
	// From and Through are the timestamps of the chunk's first and last entries, Unix ns, inclusive.
	From, Through int64
	// Checksum is the chunk's checksum (CRC-32 of its bytes), which also tells two chunks with the
	// same series and time range apart.
	Checksum uint32
	// Entries is the number of log entries in the chunk.
	Entries uint32
	// UncompressedBytes is the total size of the chunk's lines before compression; Loki's
	// /index/stats and /index/volume report these bytes.
	UncompressedBytes uint64
}

// keyPrefix starts every chunk object key.
const keyPrefix = "chunks/"

// Key returns the object-store key of the chunk:
//
//	chunks/<tenant>/<fingerprint>/<from>-<through>-<checksum>
//
// with the fingerprint, from and through as 16 lowercase hex digits (from and through as the bits
// of the int64, so keys of one series sort by start time for non-negative times) and the checksum
// as 8. Entries and UncompressedBytes are not part of the key. Two colliding series would only
// share a key if their chunks also had the same time range and checksum.
func (r ChunkRef) Key() string {
	b := make([]byte, 0, len(keyPrefix)+len(r.Tenant)+1+16+1+16+1+16+1+8)
	b = append(b, keyPrefix...)
	b = append(b, r.Tenant...)
	b = append(b, '/')
	b = appendHex(b, r.Fingerprint, 16)
	b = append(b, '/')
	b = appendHex(b, uint64(r.From), 16)
	b = append(b, '-')
	b = appendHex(b, uint64(r.Through), 16)
	b = append(b, '-')
	b = appendHex(b, uint64(r.Checksum), 8)
	return string(b)
}

func appendHex(b []byte, v uint64, width int) []byte {
	const digits = "0123456789abcdef"
	for i := width - 1; i >= 0; i-- {
		b = append(b, digits[(v>>(4*uint(i)))&0xf])
	}
	return b
}

// ErrBadKey is returned (wrapped) by ParseKey for a string that is not a chunk key.
var ErrBadKey = errors.New("not a chunk key")

// ParseKey parses a key made by ChunkRef.Key. The returned ref has zero Entries and
// UncompressedBytes, which the key does not carry.
func ParseKey(key string) (ChunkRef, error) {
	var r ChunkRef
	rest, ok := strings.CutPrefix(key, keyPrefix)
	if !ok {
		return r, fmt.Errorf("parse chunk key %q: %w: missing %q prefix", key, ErrBadKey, keyPrefix)
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 {
		return r, fmt.Errorf("parse chunk key %q: %w: want tenant/fingerprint/range", key, ErrBadKey)
	}
	if err := ValidateTenant(parts[0]); err != nil {
		return r, fmt.Errorf("parse chunk key %q: %w: %w", key, ErrBadKey, err)
	}
	r.Tenant = parts[0]
	var err error
	if r.Fingerprint, err = parseHex(parts[1], 16); err != nil {
		return ChunkRef{}, fmt.Errorf("parse chunk key %q: fingerprint: %w", key, err)
	}
	times := strings.Split(parts[2], "-")
	if len(times) != 3 {
		return ChunkRef{}, fmt.Errorf("parse chunk key %q: %w: want from-through-checksum", key, ErrBadKey)
	}
	from, err := parseHex(times[0], 16)
	if err != nil {
		return ChunkRef{}, fmt.Errorf("parse chunk key %q: from: %w", key, err)
	}
	through, err := parseHex(times[1], 16)
	if err != nil {
		return ChunkRef{}, fmt.Errorf("parse chunk key %q: through: %w", key, err)
	}
	sum, err := parseHex(times[2], 8)
	if err != nil {
		return ChunkRef{}, fmt.Errorf("parse chunk key %q: checksum: %w", key, err)
	}
	r.From, r.Through, r.Checksum = int64(from), int64(through), uint32(sum)
	return r, nil
}

// parseHex parses exactly width lowercase hex digits.
func parseHex(s string, width int) (uint64, error) {
	if len(s) != width {
		return 0, fmt.Errorf("%w: %q is not %d hex digits", ErrBadKey, s, width)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return 0, fmt.Errorf("%w: %q is not lowercase hex", ErrBadKey, s)
		}
	}
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	return v, nil
}

// maxTenantLength is Loki's limit on the length of a tenant ID.
const maxTenantLength = 150

// ValidateTenant reports whether tenant is a valid tenant ID by Loki's rules: 1 to 150 characters
// from a-z, A-Z, 0-9 and !-_.*'(), and not "." or "..". The index uses tenant IDs as directory
// names and in object keys, so it refuses anything else.
func ValidateTenant(tenant string) error {
	if tenant == "" {
		return errors.New("empty tenant ID")
	}
	if len(tenant) > maxTenantLength {
		return fmt.Errorf("tenant ID is %d characters long, more than %d", len(tenant), maxTenantLength)
	}
	if tenant == "." || tenant == ".." {
		return fmt.Errorf("tenant ID %q is not allowed", tenant)
	}
	for i := 0; i < len(tenant); i++ {
		c := tenant[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!-_.*'()", c) >= 0:
		default:
			return fmt.Errorf("tenant ID %q has the unsupported character %q", tenant, c)
		}
	}
	return nil
}
