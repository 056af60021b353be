package wal

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// BenchmarkLog measures durable Log throughput with concurrent writers on the real disk.
// recs/fsync shows how much group commit shares each fsync.
func BenchmarkLog(b *testing.B) {
	for _, size := range []int{10 << 10, 1 << 20} {
		for _, writers := range []int{1, 4, 16} {
			b.Run(fmt.Sprintf("size=%dKiB/writers=%d", size>>10, writers), func(b *testing.B) {
				w := mustOpen(b, b.TempDir(), Options{})
				rec := make([]byte, size)
				for i := range rec {
					rec[i] = byte(i)
				}
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				var wg sync.WaitGroup
				for g := 0; g < writers; g++ {
					n := b.N / writers
					if g < b.N%writers {
						n++
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := 0; i < n; i++ {
							if err := w.Log(context.Background(), rec); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				s := w.Stats()
				b.ReportMetric(float64(s.Records)/float64(max(s.Fsyncs, 1)), "recs/fsync")
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}

// A push of 4 streams x 64 entries of 200-byte lines: about 52 KB, a typical promtail batch.
func BenchmarkAppendRecord(b *testing.B) {
	streams := benchStreams(4, 64, 200)
	buf := AppendRecord(nil, "tenant", streams)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendRecord(buf[:0], "tenant", streams)
	}
}

func BenchmarkDecode(b *testing.B) {
	buf := AppendRecord(nil, "tenant", benchStreams(4, 64, 200))
	for _, alias := range []bool{false, true} {
		b.Run(fmt.Sprintf("alias=%v", alias), func(b *testing.B) {
			var d Decoder
			decode := d.Decode
			if alias {
				decode = d.DecodeAlias
			}
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := decode(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReplay reads back 64 MiB of 10 KiB records (page-cache warm after the first run).
func BenchmarkReplay(b *testing.B) {
	dir := b.TempDir()
	w := mustOpen(b, dir, Options{})
	rec := make([]byte, 10<<10)
	const n = 6400
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n/16; i++ {
				if err := w.Log(context.Background(), rec); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(n * int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Replay(context.Background(), dir, Options{}, func([]byte) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFsyncBaseline is the floor for BenchmarkLog with one writer: a plain append and
// fsync of a 10 KiB record to a file in the same directory, with no WAL around it.
func BenchmarkFsyncBaseline(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "raw"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rec := make([]byte, 10<<10)
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Write(rec); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}
