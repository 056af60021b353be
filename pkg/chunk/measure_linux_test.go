//go:build linux

package chunk

import (
	"flag"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"

	"github.com/sluicelog/sluice/pkg/logproto"
)

var codecTable = flag.Bool("codec-table", false, "measure every codec for long enough to print FORMAT.md's table")

// threadCPU returns the CPU time the calling OS thread has used. Measuring CPU time rather
// than wall time keeps the figures meaningful on a machine shared with other work.
func threadCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	const rusageThread = 1 // RUSAGE_THREAD
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMBps runs f until it has used enough of this thread's CPU time (half a second with
// -codec-table, else once) and returns the throughput for bytes per call.
func cpuMBps(tb testing.TB, bytes int, f func()) float64 {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	f() // warm pools and caches
	budget := 20 * time.Millisecond
	if *codecTable {
		budget = 500 * time.Millisecond
	}
	start, n := threadCPU(tb), 0
	for threadCPU(tb)-start < budget {
		f()
		n++
	}
	return float64(bytes*n) / 1e6 / (threadCPU(tb) - start).Seconds()
}

// TestCodecTable measures every codec over the same blocks and checks the figures are sane.
// With -codec-table it measures for long enough to print FORMAT.md's table:
//
//	go test -run TestCodecTable -codec-table -v ./pkg/chunk
func TestCodecTable(t *testing.T) {
	n := 1100
	if *codecTable {
		n = 20000
	}
	es := testLines(t, n, 77)
	var raws [][]byte
	var metas []BlockMeta
	total := 0
	h, _ := NewHead(EncNone, DefaultBlockSize, 0)
	for i := range es {
		_ = h.Append(&es[i])
		if h.headRaw >= DefaultBlockSize-300 || i == len(es)-1 {
			raw, n, minT, maxT := h.sortedRaw(nil, minInt64, maxInt64, true)
			raws, metas = append(raws, raw), append(metas, BlockMeta{MinT: minT, MaxT: maxT, Entries: n, RawSize: len(raw)})
			total += len(raw)
			_ = h.CutBlock()
		}
	}
	type codec struct {
		name string
		enc  Encoding
		comp func(dst, src []byte) []byte
	}
	zstdAt := func(level zstd.EncoderLevel) func(dst, src []byte) []byte {
		e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false))
		if err != nil {
			t.Fatal(err)
		}
		return func(dst, src []byte) []byte { return e.EncodeAll(src, dst) }
	}
	var codecs []codec
	for _, enc := range Encodings() {
		codecs = append(codecs, codec{enc.String(), enc, func(dst, src []byte) []byte {
			out, err := compress(enc, dst, src)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}})
	}
	codecs = append(codecs,
		codec{"zstd level 3 (SpeedDefault)", EncZstd, zstdAt(zstd.SpeedDefault)},
		codec{"zstd level 1 (SpeedFastest)", EncZstd, zstdAt(zstd.SpeedFastest)},
		codec{"s2 EncodeBetter", EncS2, func(dst, src []byte) []byte {
			return appendBlockCodec(dst, s2.MaxEncodedLen(len(src)), func(d []byte) []byte { return s2.EncodeBetter(d, src) })
		}})

	printf := t.Logf
	if *codecTable {
		printf = func(format string, args ...any) { fmt.Printf(format+"\n", args...) }
	}
	printf("%d blocks, %d raw bytes, %d entries\n", len(raws), total, len(es))
	printf("| codec | ratio | encode MB/s | decode MB/s | filtered scan MB/s | prefiltered scan MB/s |")
	printf("|---|---:|---:|---:|---:|---:|")
	for _, c := range codecs {
		comps := make([][]byte, len(raws))
		compSize := 0
		enc := cpuMBps(t, total, func() {
			compSize = 0
			for i, raw := range raws {
				var err error
				comps[i], err = compressBlockWith(comps[i][:0], raw, metas[i].Entries, func(dst, src []byte) ([]byte, error) { return c.comp(dst, src), nil })
				if err != nil {
					t.Fatal(err)
				}
				compSize += len(comps[i])
			}
		})
		var buf []byte
		var d blockDecoder
		dec := cpuMBps(t, total, func() {
			for i, comp := range comps {
				out, err := decompressBlock(c.enc, buf, comp, metas[i].RawSize, Version)
				if err != nil {
					t.Fatal(err)
				}
				if c.enc != EncNone {
					buf = out
				}
				if err := d.reset(out, metas[i], Version); err != nil {
					t.Fatal(err)
				}
				for {
					if done, err := d.done(); done || err != nil {
						break
					}
					if _, err := d.next(); err != nil {
						t.Fatal(err)
					}
				}
			}
		})
		// A filtered scan through the public iterator over the same blocks.
		srcs := make([]blockSource, len(comps))
		for i := range comps {
			srcs[i] = blockSource{meta: metas[i], data: comps[i], index: i}
			srcs[i].meta.Length, srcs[i].meta.CRC = len(comps[i]), checksum(comps[i])
		}
		scanSrcs := make([]blockSource, len(srcs))
		matched := 0
		scan := cpuMBps(t, total, func() {
			copy(scanSrcs, srcs)
			it := newIterator(c.enc, Version, h.syms.names, scanSrcs, testStream, minInt64, maxInt64, logproto.Forward, containsNeedle)
			matched = 0
			for it.Next() {
				matched++
			}
			if it.Err() != nil {
				t.Fatal(it.Err())
			}
			it.Close()
		})
		prematched := 0
		prescan := cpuMBps(t, total, func() {
			copy(scanSrcs, srcs)
			it := newIterator(c.enc, Version, h.syms.names, scanSrcs, testStream, minInt64, maxInt64, logproto.Forward, containsNeedle).Prefilter(needle)
			prematched = 0
			for it.Next() {
				prematched++
			}
			if it.Err() != nil {
				t.Fatal(it.Err())
			}
			it.Close()
		})
		if prematched != matched {
			t.Errorf("%s: prefiltered scan matched %d lines, filtered scan %d", c.name, prematched, matched)
		}
		ratio := float64(total) / float64(compSize)
		printf("| %s | %.2f | %.0f | %.0f | %.0f | %.0f |", c.name, ratio, enc, dec, scan, prescan)
		if matched == 0 || matched == len(es) {
			t.Errorf("%s: filter matched %d of %d lines", c.name, matched, len(es))
		}
		if c.name == "none" {
			printf("(the filter matches %d of %d lines)", matched, len(es))
		}
		if (c.enc != EncNone && ratio < 1.5) || enc <= 0 || dec <= 0 || scan <= 0 {
			t.Errorf("%s: ratio %.2f, encode %.0f MB/s, decode %.0f MB/s, scan %.0f MB/s: implausible", c.name, ratio, enc, dec, scan)
		}
	}
}
