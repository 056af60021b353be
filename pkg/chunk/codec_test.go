package chunk

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
)

// rawBlock returns the raw encoding of about size bytes of test lines, sorted, as a cut
// block holds them, with its metadata.
func rawBlock(tb testing.TB, size int) ([]byte, BlockMeta) {
	tb.Helper()
	es := testLines(tb, size/200, 42)
	h, err := NewHead(EncNone, maxBlockRawSize/2, 0)
	if err != nil {
		tb.Fatal(err)
	}
	for i := range es {
		if err := h.Append(&es[i]); err != nil {
			tb.Fatal(err)
		}
		if h.headRaw >= size {
			break
		}
	}
	raw, n, minT, maxT := h.sortedRaw(nil, minInt64, maxInt64, true)
	return raw, BlockMeta{MinT: minT, MaxT: maxT, Entries: n, RawSize: len(raw)}
}

func TestCodecRoundTrip(t *testing.T) {
	raw, _ := rawBlock(t, 64<<10)
	for _, enc := range Encodings() {
		for _, src := range [][]byte{raw, nil, []byte("x")} {
			comp, err := compress(enc, []byte("prefix"), src)
			if err != nil {
				t.Fatalf("compress(%v): %v", enc, err)
			}
			if string(comp[:6]) != "prefix" {
				t.Fatalf("compress(%v) did not append to dst", enc)
			}
			got, err := decompress(enc, nil, comp[6:], len(src))
			if err != nil || !bytes.Equal(got, src) {
				t.Fatalf("decompress(%v) = %d bytes, %v, want %d bytes", enc, len(got), err, len(src))
			}
			if _, err := decompress(enc, nil, comp[6:], len(src)+1); err == nil {
				t.Errorf("decompress(%v) with a wrong raw size: no error", enc)
			}
		}
	}
}

// TestBlockCodecRoundTrip checks compressBlock and decompressBlock on a block, on a block
// of empty lines (a second part of separators only) and on damaged part sizes.
func TestBlockCodecRoundTrip(t *testing.T) {
	raw, meta := rawBlock(t, 64<<10)
	empty := handBlock(Version, rawEntry{ts: 1}, rawEntry{ts: 2})
	for _, enc := range Encodings() {
		for _, src := range []struct {
			raw     []byte
			entries int
		}{{raw, meta.Entries}, {empty, 2}} {
			src, entries := src.raw, src.entries
			comp, err := compressBlock(enc, []byte("prefix"), src, entries)
			if err != nil {
				t.Fatalf("compressBlock(%v): %v", enc, err)
			}
			if string(comp[:6]) != "prefix" {
				t.Fatalf("compressBlock(%v) did not append to dst", enc)
			}
			comp = comp[6:]
			// A reused buffer, too small and too big, must not change the result.
			for _, buf := range [][]byte{nil, make([]byte, 10), make([]byte, 2*len(src))} {
				got, err := decompressBlock(enc, buf, comp, len(src), Version)
				if err != nil || !bytes.Equal(got, src) {
					t.Fatalf("decompressBlock(%v) = %d bytes, %v, want %d bytes", enc, len(got), err, len(src))
				}
			}
			if _, err := decompressBlock(enc, nil, comp, len(src)+1, Version); err == nil {
				t.Errorf("decompressBlock(%v) with a wrong raw size: no error", enc)
			}
			// The first part's compressed size, then the planes' size, made too big.
			_, n := uvarint(comp, 0)
			_, m := uvarint(comp, n)
			for _, at := range []int{n, m} {
				bad := append([]byte{}, comp...)
				bad[at] = 0x7f
				if _, err := decompressBlock(enc, nil, bad, len(src), Version); err == nil {
					t.Errorf("decompressBlock(%v) with a wrong part size at byte %d: no error", enc, at)
				}
			}
		}
		if _, err := compressBlock(enc, nil, []byte{5, 0, 0, 'x'}, 1); err == nil {
			t.Errorf("compressBlock(%v) of a block whose column sizes are too big: no error", enc)
		}
	}
}

// BenchmarkBlockEncode compresses one 256 KiB block of raw entries per codec. The ratio
// metric is raw size over compressed size.
func BenchmarkBlockEncode(b *testing.B) {
	raw, meta := rawBlock(b, DefaultBlockSize)
	for _, enc := range Encodings() {
		b.Run(enc.String(), func(b *testing.B) {
			var dst []byte
			var err error
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if dst, err = compressBlock(enc, dst[:0], raw, meta.Entries); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(raw))/float64(len(dst)), "ratio")
		})
	}
}

// BenchmarkBlockDecode decompresses one 256 KiB block per codec and walks its entries, as
// an iterator does for every block in a query's range.
func BenchmarkBlockDecode(b *testing.B) {
	raw, meta := rawBlock(b, DefaultBlockSize)
	for _, enc := range Encodings() {
		b.Run(enc.String(), func(b *testing.B) {
			comp, err := compressBlock(enc, nil, raw, meta.Entries)
			if err != nil {
				b.Fatal(err)
			}
			var buf []byte
			var d blockDecoder
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				out, err := decompressBlock(enc, buf, comp, len(raw), Version)
				if err != nil {
					b.Fatal(err)
				}
				if enc != EncNone {
					buf = out
				}
				if err := d.reset(out, meta, Version); err != nil {
					b.Fatal(err)
				}
				for {
					done, err := d.done()
					if err != nil {
						b.Fatal(err)
					}
					if done {
						break
					}
					if _, err := d.next(); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// TestZstdEncodersBounded compresses from more goroutines than there are encoders: each waits
// for a free one, none is built past the limit, and every block comes back.
func TestZstdEncodersBounded(t *testing.T) {
	src := []byte(strings.Repeat("level=info msg=\"request served\" status=200\n", 500))
	var wg sync.WaitGroup
	errs := make(chan error, 4*cap(zstdEncoders))
	for range 4 * cap(zstdEncoders) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				c, err := compress(EncZstd, nil, src)
				if err == nil {
					var back []byte
					back, err = decompress(EncZstd, nil, c, len(src))
					if err == nil && !bytes.Equal(back, src) {
						err = errors.New("block came back different")
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if built := cap(zstdEncoderSlots) - len(zstdEncoderSlots); built > cap(zstdEncoders) || built < 1 {
		t.Fatalf("%d encoders built, limit %d", built, cap(zstdEncoders))
	}
	if len(zstdEncoders) != cap(zstdEncoders)-len(zstdEncoderSlots) {
		t.Fatalf("%d encoders free of %d built: one was not handed back", len(zstdEncoders), cap(zstdEncoders)-len(zstdEncoderSlots))
	}
}
