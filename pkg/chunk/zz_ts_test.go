package chunk

import (
	"fmt"
	"io/fs"
	"math/bits"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
)

var litEnc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false), zstd.WithLowerEncoderMem(true), zstd.WithWindowSize(1<<19), zstd.WithAllLitEntropyCompression(true))

func compressLit(src []byte) []byte { return litEnc.EncodeAll(src, nil) }

func TestZZTs(t *testing.T) {
	dir := os.Getenv("CHUNKDIR")
	if dir == "" {
		t.Skip()
	}
	type variant struct {
		name string
		k    func(meanBits int) int
	}
	variants := []variant{
		{"k=(b-4)/8 (now)", func(b int) int { return max(0, (b-4)/8) }},
		{"k=(b-1)/8", func(b int) int { return max(0, (b-1)/8) }},
		{"k=(b-2)/8", func(b int) int { return max(0, (b-2)/8) }},
		{"k=(b-3)/8", func(b int) int { return max(0, (b-3)/8) }},
		{"k=b/8", func(b int) int { return max(0, b/8) }},
		{"k=(b+1)/8", func(b int) int { return max(0, (b+1)/8) }},
		{"k=(b+3)/8", func(b int) int { return max(0, (b+3)/8) }},
	}
	sizes := make([]int, len(variants))
	bitSizes := make([]int, 5)
	topZstd, topLit := 0, 0
	litSizes := make([]int, len(variants))
	hist := map[int]int{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if d.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		c, _ := Decode(b)
		for _, bm := range c.ix.Blocks {
			raw, _ := decompressBlock(c.ix.Encoding, nil, c.data[bm.Offset:bm.Offset+bm.Length], bm.RawSize, c.ix.Version)
			var dec blockDecoder
			if err := dec.reset(raw, bm, c.ix.Version); err != nil {
				t.Fatal(err)
			}
			var ts []int64
			for {
				done, err := dec.done()
				if err != nil {
					t.Fatal(err)
				}
				if done {
					break
				}
				v, err := dec.next()
				if err != nil {
					t.Fatal(err)
				}
				ts = append(ts, v.ts)
			}
			n := len(ts)
			if n < 2 {
				continue
			}
			mean := uint64(ts[n-1]-ts[0]) / uint64(n-1)
			mb := bits.Len64(mean)
			hist[mb] += n
			{
				k := max(0, mb/8)
				if k > 0 {
					var col []byte
					col = appendVarint(col, ts[0])
					for i := 1; i < n; i++ {
						col = append(col, byte(uint64(ts[i]-ts[i-1])>>(8*(k-1))))
					}
					for i := 1; i < n; i++ {
						col = appendUvarint(col, uint64(ts[i]-ts[i-1])>>(8*k))
					}
					out, _ := compress(EncZstd, nil, col)
					topZstd += min(len(out), len(col)) + (k-1)*(n-1)
					topLit += min(len(compressLit(col)), len(col)) + (k-1)*(n-1)
				}
			}
			for si, sh := range []int{2, 3, 4, 5, 6} {
				bb := max(0, mb-sh)
				var col []byte
				col = appendVarint(col, ts[0])
				for i := 1; i < n; i++ {
					col = appendUvarint(col, uint64(ts[i]-ts[i-1])>>bb)
				}
				out, _ := compress(EncZstd, nil, col)
				bitSizes[si] += min(len(out), len(col)) + (bb*(n-1)+7)/8
			}
			for vi, v := range variants {
				k := v.k(mb)
				var col []byte
				col = appendVarint(col, ts[0])
				col = append(col, 0, byte(k))
				for i := 1; i < n; i++ {
					col = appendUvarint(col, uint64(ts[i]-ts[i-1])>>(8*k))
				}
				out, _ := compress(EncZstd, nil, col)
				sizes[vi] += min(len(out), len(col)) + k*(n-1)
				litSizes[vi] += min(len(compressLit(col)), len(col)) + k*(n-1)
			}
		}
		return nil
	})
	for vi, v := range variants {
		fmt.Printf("%s: %d (all-literal entropy: %d)\n", v.name, sizes[vi], litSizes[vi])
	}
	fmt.Println("entries by bits(mean delta):", hist)
	fmt.Println("bit planes, shift bits(mean)-2..6:", bitSizes)
	fmt.Println("k=b/8 with the top plane in the compressed column:", topZstd, "all-literal entropy:", topLit)
}
