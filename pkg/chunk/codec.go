package chunk

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// zstdLevel is the zstd level for EncZstd: SpeedBetterCompression, zstd's level 7. On the
// storage benchmark (make bench-storage, three alternated runs of each level) it stores the
// chunks in 54.1 MB, against 59.3 MB at SpeedFastest (level 1) and 58.3 MB at SpeedDefault
// (level 3), for 9.4–9.7 CPU-seconds per GB ingested against 7.0–7.4 and 7.6–7.9, and about
// 10 MiB more memory (its match tables, below). Decoding does not depend on the level, and
// fewer bytes decode faster: the full filter scan took 0.130–0.140 s against 0.157–0.165 s.
// FORMAT.md has the comparison.
const zstdLevel = zstd.SpeedBetterCompression

// Decoders and writers are pooled: a zstd decoder or a gzip writer costs hundreds of KiB to
// build. s2 and snappy are stateless block functions. zstd encoders are kept apart, below.
var (
	zstdDecoders = sync.Pool{New: func() any {
		d, err := zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxMemory(maxBlockRawSize),
			zstd.IgnoreChecksum(true),
		)
		if err != nil {
			panic(fmt.Sprintf("chunk: build zstd decoder with fixed options: %v", err))
		}
		return d
	}}
	gzipWriters  sync.Pool // *gzip.Writer
	gzipReaders  sync.Pool // *gzip.Reader
	flateWriters sync.Pool // *flate.Writer
	flateReaders sync.Pool // io.ReadCloser implementing flate.Resetter
	byteReaders  = sync.Pool{New: func() any { return new(bytes.Reader) }}
	lz4Writers   = sync.Pool{New: func() any { return new(lz4.Compressor) }}
)

// zstdEncoders holds the zstd encoders, at most one per CPU (GOMAXPROCS when the package is
// loaded): a compression waits for a free one rather than building another. An encoder keeps
// about 5 MiB of tables and history (4 MiB of it the long-match table of SpeedBetterCompression);
// a sync.Pool built one per concurrent compression
// (an ingester compresses in every pushing goroutine) and dropped them at each GC, to be
// built again, and more encoders than CPUs compress no faster.
var zstdEncoders = make(chan *zstd.Encoder, max(1, runtime.GOMAXPROCS(0)))

// zstdEncoderSlots counts the encoders not built yet: taking one from it builds an encoder.
var zstdEncoderSlots = func() chan struct{} {
	c := make(chan struct{}, cap(zstdEncoders))
	for range cap(c) {
		c <- struct{}{}
	}
	return c
}()

// getZstdEncoder returns a free encoder, building one when fewer than the limit exist.
func getZstdEncoder() *zstd.Encoder {
	select {
	case e := <-zstdEncoders:
		return e
	default:
	}
	select {
	case e := <-zstdEncoders:
		return e
	case <-zstdEncoderSlots:
		return newZstdEncoder()
	}
}

func newZstdEncoder() *zstd.Encoder {
	e, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstdLevel),
		zstd.WithEncoderConcurrency(1),
		// Blocks carry their own CRC32-C, so the frame checksum would be checked twice.
		zstd.WithEncoderCRC(false),
		zstd.WithLowerEncoderMem(true),
		// Blocks are at most a few hundred KiB: a longer window only costs each encoder a
		// bigger history buffer (4 MiB instead of 640 KiB).
		zstd.WithWindowSize(1<<19),
	)
	if err != nil {
		panic(fmt.Sprintf("chunk: build zstd encoder with fixed options: %v", err))
	}
	return e
}

// An lz4 block is stored behind one byte: lz4Compressed, or lz4Stored for data lz4 could not
// shrink (lz4's block format has no stored mode of its own).
const (
	lz4Compressed = 0
	lz4Stored     = 1
)

// appendWriter is an io.Writer that appends to b; the streaming codecs write through it.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// compress appends the compression of src with enc to dst and returns the extended slice.
func compress(enc Encoding, dst, src []byte) ([]byte, error) {
	switch enc {
	case EncNone:
		return append(dst, src...), nil
	case EncSnappy:
		// s2's standard snappy encoder, not snappy.Encode (s2's "better" one): FORMAT.md.
		return appendBlockCodec(dst, snappy.MaxEncodedLen(len(src)), func(d []byte) []byte { return s2.EncodeSnappy(d, src) }), nil
	case EncS2:
		return appendBlockCodec(dst, s2.MaxEncodedLen(len(src)), func(d []byte) []byte { return s2.Encode(d, src) }), nil
	case EncZstd:
		e := getZstdEncoder()
		dst = e.EncodeAll(src, dst)
		zstdEncoders <- e
		return dst, nil
	case EncLZ4:
		return appendBlockCodec(dst, 1+lz4.CompressBlockBound(len(src)), func(d []byte) []byte {
			c := lz4Writers.Get().(*lz4.Compressor)
			n, err := c.CompressBlock(src, d[1:])
			lz4Writers.Put(c)
			if err != nil || n == 0 || n >= len(src) {
				d[0] = lz4Stored
				return append(d[:1], src...)
			}
			d[0] = lz4Compressed
			return d[:1+n]
		}), nil
	case EncGzip:
		w := &appendWriter{b: dst}
		zw, _ := gzipWriters.Get().(*gzip.Writer)
		if zw == nil {
			zw = gzip.NewWriter(w)
		} else {
			zw.Reset(w)
		}
		_, err := zw.Write(src)
		if err == nil {
			err = zw.Close()
		}
		zw.Reset(nil)
		gzipWriters.Put(zw)
		if err != nil {
			return dst, fmt.Errorf("gzip: %w", err)
		}
		return w.b, nil
	case EncFlate:
		w := &appendWriter{b: dst}
		fw, _ := flateWriters.Get().(*flate.Writer)
		if fw == nil {
			var err error
			if fw, err = flate.NewWriter(w, flate.DefaultCompression); err != nil {
				return dst, fmt.Errorf("flate: %w", err)
			}
		} else {
			fw.Reset(w)
		}
		_, err := fw.Write(src)
		if err == nil {
			err = fw.Close()
		}
		fw.Reset(nil)
		flateWriters.Put(fw)
		if err != nil {
			return dst, fmt.Errorf("flate: %w", err)
		}
		return w.b, nil
	}
	return dst, fmt.Errorf("compress with %v: %w", enc, ErrUnsupportedEncoding)
}

// appendBlockCodec runs a block codec that writes into a slice of at least maxLen bytes,
// making room for it at the end of dst.
func appendBlockCodec(dst []byte, maxLen int, encode func([]byte) []byte) []byte {
	n := len(dst)
	if cap(dst)-n < maxLen {
		grown := make([]byte, n, n+maxLen)
		copy(grown, dst)
		dst = grown
	}
	out := encode(dst[n : n+maxLen])
	return dst[:n+len(out)]
}

// decompress decodes src, which must decompress to exactly rawSize bytes. It writes into buf
// (growing it if needed) and returns the decoded bytes; for EncNone it returns src itself.
// Errors describe bad input; the caller wraps them in ErrCorrupt.
func decompress(enc Encoding, buf, src []byte, rawSize int) ([]byte, error) {
	if rawSize < 0 || rawSize > maxBlockRawSize {
		return nil, fmt.Errorf("raw size %d out of range", rawSize)
	}
	switch enc {
	case EncNone:
		if len(src) != rawSize {
			return nil, fmt.Errorf("stored size %d, want %d", len(src), rawSize)
		}
		return src, nil
	case EncSnappy, EncS2:
		// s2 decodes snappy streams too, but snappy.Decode rejects s2 extensions, which keeps
		// the "snappy" encoding honest.
		decodedLen, decode := snappy.DecodedLen, snappy.Decode
		if enc == EncS2 {
			decodedLen, decode = s2.DecodedLen, s2.Decode
		}
		n, err := decodedLen(src)
		if err != nil {
			return nil, err
		}
		if n != rawSize {
			return nil, fmt.Errorf("decoded length %d, want %d", n, rawSize)
		}
		out, err := decode(grow(buf, rawSize), src)
		if err != nil {
			return nil, err
		}
		return out, nil
	case EncZstd:
		d := zstdDecoders.Get().(*zstd.Decoder)
		out, err := d.DecodeAll(src, grow(buf, rawSize)[:0])
		zstdDecoders.Put(d)
		if err != nil {
			return nil, err
		}
		if len(out) != rawSize {
			return nil, fmt.Errorf("decoded %d bytes, want %d", len(out), rawSize)
		}
		return out, nil
	case EncLZ4:
		if len(src) == 0 {
			return nil, errors.New("lz4: empty block")
		}
		out := grow(buf, rawSize)
		switch src[0] {
		case lz4Stored:
			if len(src)-1 != rawSize {
				return nil, fmt.Errorf("lz4: stored size %d, want %d", len(src)-1, rawSize)
			}
			copy(out, src[1:])
			return out, nil
		case lz4Compressed:
			n, err := lz4.UncompressBlock(src[1:], out)
			if err != nil {
				return nil, fmt.Errorf("lz4: %w", err)
			}
			if n != rawSize {
				return nil, fmt.Errorf("lz4: decoded %d bytes, want %d", n, rawSize)
			}
			return out, nil
		}
		return nil, fmt.Errorf("lz4: unknown block kind %d", src[0])
	case EncGzip:
		br := byteReaders.Get().(*bytes.Reader)
		br.Reset(src)
		defer func() { br.Reset(nil); byteReaders.Put(br) }()
		zr, _ := gzipReaders.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(br)
		} else {
			err = zr.Reset(br)
		}
		if err != nil {
			return nil, err
		}
		zr.Multistream(false)
		out, err := readExactly(zr, buf, rawSize)
		gzipReaders.Put(zr)
		return out, err
	case EncFlate:
		br := byteReaders.Get().(*bytes.Reader)
		br.Reset(src)
		defer func() { br.Reset(nil); byteReaders.Put(br) }()
		fr, _ := flateReaders.Get().(io.ReadCloser)
		if fr == nil {
			fr = flate.NewReader(br)
		} else if err := fr.(flate.Resetter).Reset(br, nil); err != nil {
			return nil, err
		}
		out, err := readExactly(fr, buf, rawSize)
		flateReaders.Put(fr)
		return out, err
	}
	return nil, fmt.Errorf("decompress with %v: %w", enc, ErrUnsupportedEncoding)
}

// readExactly reads exactly n bytes from r into buf and checks that the stream ends there.
func readExactly(r io.Reader, buf []byte, n int) ([]byte, error) {
	out := grow(buf, n)
	if _, err := io.ReadFull(r, out); err != nil {
		return nil, err
	}
	var one [1]byte
	if m, err := r.Read(one[:]); m != 0 || (err != nil && !errors.Is(err, io.EOF)) {
		if err == nil {
			err = errors.New("more data than the recorded raw size")
		}
		return nil, err
	}
	return out, nil
}

// decodeSlack is the spare capacity decompression buffers get past the decoded bytes: zstd's
// fast decoding loop copies in 16-byte steps and needs room to overrun the end.
const decodeSlack = 64

// grow returns buf resliced to n bytes, reallocating when it has not room for n bytes and
// decodeSlack more.
func grow(buf []byte, n int) []byte {
	if cap(buf) < n+decodeSlack {
		return make([]byte, n, n+decodeSlack)
	}
	return buf[:n]
}

// compressBlock appends the stored form (format version 4 and later) of raw, a block's raw bytes
// holding entries entries, to dst: the compressed head columns and the compressed lines, each in
// its own frame of enc, and between them the timestamp planes and packed hex runs as they are,
// after their sizes:
//
//	uvarint  R, the raw size of the first part (the column sizes, the head columns, the planes)
//	uvarint  C, the compressed size of the first part but its planes
//	uvarint  P, the size of the planes, the last P bytes of the first part
//	C bytes  the first part but its planes, compressed
//	P bytes  the planes
//	rest     the lines, compressed; raw size: the block's RawSize - R
//
// The planes are the timestamps' nearly random low bytes: the codec cannot shrink them, and
// mixed with the rest of the first part they flatten its statistics (zstd codes all literals
// of a block with one Huffman table), so the high bytes of the deltas, which do compress,
// would cost nearly a byte each. Version 2 and 3 blocks have no P: C covers the whole first
// part.
func compressBlock(enc Encoding, dst, raw []byte, entries int) ([]byte, error) {
	return compressBlockWith(dst, raw, entries, func(dst, src []byte) ([]byte, error) { return compress(enc, dst, src) })
}

// compressBlockWith is compressBlock with the codec given as a function appending the
// compression of src to dst.
func compressBlockWith(dst, raw []byte, entries int, compress func(dst, src []byte) ([]byte, error)) ([]byte, error) {
	lay, err := columnStarts(raw, Version, entries)
	if err != nil {
		return dst, fmt.Errorf("compress block: %w", err)
	}
	scratch := getScratch()
	first, err := compress((*scratch)[:0], raw[:lay.planes])
	defer func() { *scratch = first; putScratch(scratch) }()
	if err != nil {
		return dst, err
	}
	dst = appendUvarint(dst, uint64(lay.lines))
	dst = appendUvarint(dst, uint64(len(first)))
	dst = appendUvarint(dst, uint64(lay.lines-lay.planes))
	dst = append(dst, first...)
	dst = append(dst, raw[lay.planes:lay.lines]...)
	return compress(dst, raw[lay.lines:])
}

// decompressBlock decodes a block of format version (2 or later) stored by compressBlock whose
// raw size is rawSize, into buf (grown if needed), and returns the raw bytes; for EncNone they
// are a subslice of src. Errors describe bad input; the caller wraps them in ErrCorrupt.
func decompressBlock(enc Encoding, buf, src []byte, rawSize, version int) ([]byte, error) {
	out, _, err := decompressBlockFor(enc, buf, src, rawSize, version, nil)
	return out, err
}

// storedParts is a stored block (format version 2 or later) split into its parts: the first
// part compressed, the planes and packed runs kept as they are, and the lines compressed;
// split is the raw size of the first part with its planes, firstRaw without them. With the
// none codec the parts, adjacent in all, are the raw block.
type storedParts struct {
	first, planes, rest, all []byte
	split, firstRaw          int
}

// parseStoredParts reads the sizes at the start of src, a block of raw size rawSize stored by
// compressBlock, and checks them against src and rawSize.
func parseStoredParts(src []byte, rawSize, version int) (storedParts, error) {
	var sp storedParts
	if rawSize < 0 || rawSize > maxBlockRawSize {
		return sp, fmt.Errorf("raw size %d out of range", rawSize)
	}
	split, pos := uvarint(src, 0)
	firstLen, pos := uvarint(src, pos)
	var planesLen uint64
	if version >= 4 {
		planesLen, pos = uvarint(src, pos)
	}
	if pos < 0 || split > uint64(rawSize) || planesLen > split || firstLen > uint64(len(src)-pos) ||
		planesLen > uint64(len(src)-pos)-firstLen {
		return sp, errors.New("block parts' sizes out of range")
	}
	sp.first = src[pos : pos+int(firstLen)]
	sp.planes = src[pos+int(firstLen) : pos+int(firstLen+planesLen)]
	sp.rest = src[pos+int(firstLen+planesLen):]
	sp.all = src[pos:]
	sp.split, sp.firstRaw = int(split), int(split-planesLen)
	return sp, nil
}

// decompressBlockHead decodes only the first part of a block of format version 2 or later
// stored by compressBlock (its columns, timestamp planes and packed hex runs, not its lines)
// into buf, grown if needed, and returns those raw bytes: the block's raw bytes up to where its
// lines start. An iterator whose caller reads no line (Iterator.WithoutLines) needs no more,
// and the lines are most of a block's compressed bytes. For EncNone the result is a subslice
// of src.
func decompressBlockHead(enc Encoding, buf, src []byte, rawSize, version int) ([]byte, error) {
	sp, err := parseStoredParts(src, rawSize, version)
	if err != nil {
		return nil, err
	}
	if enc == EncNone {
		if len(sp.first) != sp.firstRaw {
			return nil, fmt.Errorf("stored size %d, want %d", len(sp.first), sp.firstRaw)
		}
		return sp.all[:sp.split], nil
	}
	out := grow(buf, sp.split)
	got, err := decompress(enc, out[:0:cap(out)], sp.first, sp.firstRaw)
	if err != nil {
		return nil, err
	}
	if len(got) > 0 && &got[0] != &out[0] {
		copy(out, got)
	}
	copy(out[sp.firstRaw:sp.split], sp.planes)
	return out[:sp.split], nil
}

// decompressBlockFor is decompressBlock for a scan that wants only blocks for which match,
// given the block's lines and the bytes kept as they are between the parts (the timestamp
// planes and packed hex runs), reports true (nil: every block). It decodes the lines part first
// and, when match is false, stops there: found is false and out holds only the lines, at their
// place in the block; the head columns, which are a block's least compressible bytes, are not
// decoded at all. Otherwise found is true and out is the whole raw block.
func decompressBlockFor(enc Encoding, buf, src []byte, rawSize, version int, match func(lines, kept []byte) bool) (out []byte, found bool, err error) {
	sp, err := parseStoredParts(src, rawSize, version)
	if err != nil {
		return nil, false, err
	}
	first, planes, rest := sp.first, sp.planes, sp.rest
	split, firstRaw := sp.split, sp.firstRaw // the first part's raw size with and without its planes
	if enc == EncNone {
		if len(first) != firstRaw || len(first)+len(planes)+len(rest) != rawSize {
			return nil, false, fmt.Errorf("stored size %d, want %d", len(first)+len(planes)+len(rest), rawSize)
		}
		out = sp.all // the parts are adjacent: the raw block as is
		return out, match == nil || match(out[split:], planes), nil
	}
	// Both parts decode in place into out. Each gets the capacity up to the end of the buffer:
	// zstd's fast decoding loop needs some slack after what it writes (decodeSlack), and
	// without it falls back to a loop about 1.7 times slower. What the first part's decoder
	// may write past its end is overwritten by the second part, so it goes first; when the
	// lines go first (a match to look for), the first part is decoded aside and copied.
	out = grow(buf, rawSize)
	whole := out[:cap(out)]
	part := func(src []byte, from, to int) error {
		got, err := decompress(enc, whole[from:from], src, to-from)
		if err != nil {
			return err
		}
		if len(got) > 0 && &got[0] != &out[from] {
			copy(out[from:to], got)
		}
		return nil
	}
	if match == nil {
		if err := part(first, 0, firstRaw); err != nil {
			return nil, false, err
		}
		copy(out[firstRaw:split], planes) // over what the first part's decoder wrote past its end
		return out, true, part(rest, int(split), rawSize)
	}
	if err := part(rest, int(split), rawSize); err != nil {
		return nil, false, err
	}
	if !match(out[split:], planes) {
		return out, false, nil
	}
	// The head columns are decoded aside, with room to spare, and copied in front.
	scratch := getScratch()
	defer putScratch(scratch)
	got, err := decompress(enc, *scratch, first, firstRaw)
	if cap(got) > cap(*scratch) {
		*scratch = got[:0]
	}
	if err != nil {
		return nil, false, err
	}
	copy(out, got)
	copy(out[firstRaw:split], planes)
	return out, true, nil
}
