package chunk

import (
	"fmt"
	"strings"
)

// Encoding is the compression codec of a chunk's blocks. Its value is stored in the chunk
// header, so existing values never change meaning.
type Encoding uint8

// The encodings Sluice writes and reads. The zero value is EncNone.
const (
	EncNone   Encoding = 0
	EncGzip   Encoding = 1
	EncSnappy Encoding = 2
	EncS2     Encoding = 3
	EncZstd   Encoding = 4
	EncFlate  Encoding = 5
	EncLZ4    Encoding = 6

	numEncodings = 7
)

// DefaultEncoding is the codec used when none is configured. It was chosen by measurement
// (see FORMAT.md): the best compression ratio among the codecs whose decode speed keeps a
// filtered scan well above the system's per-core target.
const DefaultEncoding = EncZstd

var encodingNames = [numEncodings]string{
	EncNone:   "none",
	EncGzip:   "gzip",
	EncSnappy: "snappy",
	EncS2:     "s2",
	EncZstd:   "zstd",
	EncFlate:  "flate",
	EncLZ4:    "lz4",
}

// String returns the name of e as ParseEncoding accepts it.
func (e Encoding) String() string {
	if e < numEncodings {
		return encodingNames[e]
	}
	return fmt.Sprintf("encoding(%d)", uint8(e))
}

// Valid reports whether e is an encoding this package can read and write.
func (e Encoding) Valid() bool { return e < numEncodings }

// Encodings returns every supported encoding, in header-value order.
func Encodings() []Encoding {
	out := make([]Encoding, numEncodings)
	for i := range out {
		out[i] = Encoding(i)
	}
	return out
}

// ParseEncoding returns the encoding named by name, accepting the names of Loki's
// -ingester.chunk-encoding flag (none, gzip, snappy, flate, zstd, lz4-64k, lz4-256k, lz4-1M,
// lz4-4M, lz4) plus s2. Loki's lz4 names differ in the lz4 frame's block size; Sluice compresses
// each chunk block as one lz4 block whatever the name, so they all mean EncLZ4. Matching
// ignores case.
func ParseEncoding(name string) (Encoding, error) {
	for i, n := range encodingNames {
		if strings.EqualFold(name, n) {
			return Encoding(i), nil
		}
	}
	switch strings.ToLower(name) {
	case "lz4-64k", "lz4-256k", "lz4-1m", "lz4-4m":
		return EncLZ4, nil
	}
	return 0, fmt.Errorf("parse chunk encoding %q: unknown (want one of none, gzip, snappy, s2, zstd, flate, lz4, lz4-64k, lz4-256k, lz4-1M, lz4-4M)", name)
}
