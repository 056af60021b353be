package workload

import (
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/sluicelog/sluice/pkg/chunk"
	"github.com/sluicelog/sluice/pkg/logproto"
)

var ratios = flag.Bool("ratios", false, "measure how the benchmark workload compresses (pkg/chunk/FORMAT.md's figures)")

// TestWorkloadRatios reproduces the compression figures pkg/chunk/FORMAT.md gives for the
// storage benchmark's workload (cmd/loadgen, 2,000,000 lines, seed 1):
//
//	go test -run TestWorkloadRatios -v ./cmd/loadgen/internal/workload -args -ratios
//
// It prints the ratio of the chunks an ingester would cut (per stream, at most 2h of log time
// each, the default codec), of each stream's lines alone, as written, in 256 KiB blocks per
// zstd level, and of each chunk's lines as one block at zstd's slowest levels.
// Without -ratios it runs on 20,000 lines and checks only that the figures are plausible.
func TestWorkloadRatios(t *testing.T) {
	lines := 20000
	if *ratios {
		lines = 2000000
	}
	g := newGen(t, 1, lines)
	perStream := map[int][]logproto.Entry{}
	raw := 0
	for {
		s, ts, l, ok := g.Next()
		if !ok {
			break
		}
		perStream[s] = append(perStream[s], logproto.Entry{Timestamp: ts, Line: l})
		raw += len(l)
	}

	// Chunks as the ingester cuts them: full at the target size, or spanning 2h.
	stored := 0
	var chunkLines [][]byte // each chunk's lines, back to back
	var cur []byte
	for _, es := range perStream {
		var h *chunk.Head
		cut := func() {
			if h == nil {
				return
			}
			b, err := h.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			stored += len(b)
			h = nil
			chunkLines, cur = append(chunkLines, cur), nil
		}
		for i := range es {
			e := &es[i]
			if h != nil {
				minT, _ := h.Bounds()
				if !h.SpaceFor(e) || time.Duration(e.Timestamp-minT) > 2*time.Hour {
					cut()
				}
			}
			if h == nil {
				var err error
				if h, err = chunk.NewHead(chunk.DefaultEncoding, 0, 0); err != nil {
					t.Fatal(err)
				}
			}
			if err := h.Append(e); err != nil {
				t.Fatal(err)
			}
			cur = append(cur, e.Line...)
		}
		cut()
	}
	chunks := float64(raw) / float64(stored)
	report := t.Logf
	if *ratios {
		report = func(format string, args ...any) { fmt.Printf(format+"\n", args...) }
	}
	report("%d lines, %d raw bytes", lines, raw)
	report("chunks (default codec, 2h cuts): %d bytes, %.2f : 1", stored, chunks)

	// Each stream's lines alone (no timestamps), in 256 KiB blocks, per zstd level.
	for _, level := range []zstd.EncoderLevel{zstd.SpeedFastest, zstd.SpeedDefault, zstd.SpeedBetterCompression, zstd.SpeedBestCompression} {
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, es := range perStream {
			var block, out []byte
			for i, e := range es {
				block = append(block, e.Line...)
				if len(block) >= chunk.DefaultBlockSize || i == len(es)-1 {
					out = enc.EncodeAll(block, out[:0])
					n += len(out)
					block = block[:0]
				}
			}
		}
		report("lines only, 256 KiB blocks, zstd %s: %.2f : 1", level, float64(raw)/float64(n))
		// The chunks elide the lines' own timestamps, so they may compress better than the
		// lines as written, timestamps column and all (they do on the whole workload); a
		// codec or layout that broke would take either below 2 : 1.
		if level == zstd.SpeedFastest && (float64(raw)/float64(n) < 2 || chunks < 2) {
			t.Errorf("lines alone compress %.2f : 1, chunks %.2f : 1: implausible", float64(raw)/float64(n), chunks)
		}
	}

	if !*ratios {
		return
	}
	// The upper bound of slower settings: each chunk's lines as one block (the chunk is the
	// largest unit a query reads whole), at zstd's two slowest levels.
	for _, level := range []zstd.EncoderLevel{zstd.SpeedBetterCompression, zstd.SpeedBestCompression} {
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false), zstd.WithWindowSize(4<<20))
		if err != nil {
			t.Fatal(err)
		}
		n, lineBytes := 0, 0
		var out []byte
		for _, l := range chunkLines {
			out = enc.EncodeAll(l, out[:0])
			n += len(out)
			lineBytes += len(l)
		}
		if lineBytes != raw {
			t.Fatalf("chunks hold %d line bytes, want %d", lineBytes, raw)
		}
		report("lines only, one block per chunk, zstd %s: %.2f : 1", level, float64(raw)/float64(n))
	}
}
