package wal

import (
	"fmt"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/unsafestr"
)

// Decoder decodes records written by AppendRecord, reusing its memory from one call to the
// next. The zero value is ready to use. A Decoder is not safe for concurrent use.
//
// Memory: the *Record returned, its Streams slice and every Entries slice belong to the Decoder
// and are overwritten by the next Decode or DecodeAlias call; copy the slices (not the strings)
// if you need them longer. Structured metadata is always a fresh labels.Labels the caller may
// keep. What the strings (tenant, stream labels, lines) point at depends on the method.
type Decoder struct {
	rec     Record
	entries []logproto.Entry
	sb      labels.ScratchBuilder
}

// Decode decodes b. It copies b once into a new string and every string in the result (tenant,
// labels, lines) is a substring of that copy, so the strings stay valid after b is reused and
// may be kept for as long as needed (they keep the whole record's copy alive). It costs one
// allocation for the copy, plus one per entry that has structured metadata.
func (d *Decoder) Decode(b []byte) (*Record, error) {
	return d.decode(string(b))
}

// DecodeAlias decodes b without copying it: every string in the result aliases b, so b must not
// be modified or reused while any of those strings is in use. Use it when the caller copies what
// it keeps anyway (appending lines to a chunk, looking up a stream by its labels). It allocates
// nothing once the Decoder's slices have grown, except for structured metadata.
func (d *Decoder) DecodeAlias(b []byte) (*Record, error) {
	return d.decode(unsafestr.String(b))
}

func (d *Decoder) decode(s string) (*Record, error) {
	r := fieldReader{s: s}
	if v := r.byte(); r.err == nil && v != recordVersion {
		return nil, fmt.Errorf("decode record: version %d: %w", v, ErrCorrupt)
	}
	d.rec.Tenant = r.string()
	// Every stream takes at least two bytes (label length, entry count) and every entry at least
	// three; checking counts against what is left keeps hostile input from asking for huge slices.
	nstreams := r.count(2)
	d.rec.Streams = d.rec.Streams[:0]
	d.entries = d.entries[:0]
	for i := 0; i < nstreams && r.err == nil; i++ {
		lbls := r.string()
		nentries := r.count(3)
		start := len(d.entries)
		var prev int64
		for j := 0; j < nentries && r.err == nil; j++ {
			prev += r.varint()
			e := logproto.Entry{Timestamp: prev, Line: r.string()}
			// Metadata comes back in the order it was written (a labels.Labels is sorted), so
			// the round trip is exact even for label sets the decoder would not have built.
			if nmeta := r.count(2); nmeta > 0 {
				d.sb.Reset()
				for k := 0; k < nmeta && r.err == nil; k++ {
					name := r.string()
					d.sb.Add(name, r.string())
				}
				e.StructuredMetadata = d.sb.Labels()
			}
			d.entries = append(d.entries, e)
		}
		// Earlier streams keep pointing at the old backing array if append grows it; that array
		// still holds their entries, so the slices stay correct.
		end := len(d.entries)
		d.rec.Streams = append(d.rec.Streams, logproto.Stream{Labels: lbls, Entries: d.entries[start:end:end]})
	}
	if r.err != nil {
		return nil, fmt.Errorf("decode record: %w", r.err)
	}
	if r.off != len(s) {
		return nil, fmt.Errorf("decode record: %d trailing bytes: %w", len(s)-r.off, ErrCorrupt)
	}
	return &d.rec, nil
}

// fieldReader reads the record's fields from a string. It keeps the first error and turns later reads
// into no-ops returning zero values.
type fieldReader struct {
	s   string
	off int
	err error
}

func (r *fieldReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%s at offset %d: %w", what, r.off, ErrCorrupt)
	}
}

func (r *fieldReader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.s) {
		r.fail("short version")
		return 0
	}
	r.off++
	return r.s[r.off-1]
}

func (r *fieldReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	var x uint64
	for shift, i := uint(0), r.off; i < len(r.s); shift, i = shift+7, i+1 {
		c := r.s[i]
		if shift == 63 && c > 1 {
			r.fail("varint overflows 64 bits")
			return 0
		}
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			r.off = i + 1
			return x
		}
	}
	r.fail("short varint")
	return 0
}

func (r *fieldReader) varint() int64 {
	u := r.uvarint()
	// Zig-zag decoding, matching binary.AppendVarint.
	return int64(u>>1) ^ -int64(u&1)
}

// count reads a element count and checks that the rest of the input could hold that many
// elements of at least minSize bytes each.
func (r *fieldReader) count(minSize int) int {
	n := r.uvarint()
	if r.err != nil {
		return 0
	}
	if n > uint64(len(r.s)-r.off)/uint64(minSize) {
		r.fail(fmt.Sprintf("count %d larger than the record", n))
		return 0
	}
	return int(n)
}

func (r *fieldReader) string() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.s)-r.off) {
		r.fail(fmt.Sprintf("string of %d bytes past the end", n))
		return ""
	}
	s := r.s[r.off : r.off+int(n)]
	r.off += int(n)
	return s
}
