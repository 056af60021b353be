package s3_test

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"testing"

	"github.com/sluicelog/sluice/pkg/storage/s3/s3test"
	"github.com/sluicelog/sluice/pkg/storage/storagetest"
)

// BenchmarkPut measures Put of 1 MiB objects to the local versitygw (signing included).
func BenchmarkPut(b *testing.B) {
	srv := s3test.Start(b)
	c := newClient(b, srv.Config(srv.CreateBucket(b)))
	data := storagetest.Payload(1, 1<<20)
	ctx := context.Background()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := c.Put(ctx, "bench/"+strconv.Itoa(i%16), bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetRange measures 64 KiB ranged reads, the chunk store's usual access.
func BenchmarkGetRange(b *testing.B) {
	srv := s3test.Start(b)
	c := newClient(b, srv.Config(srv.CreateBucket(b)))
	ctx := context.Background()
	if err := c.Put(ctx, "bench/obj", bytes.NewReader(storagetest.Payload(2, 4<<20))); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(64 << 10)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		rc, err := c.GetRange(ctx, "bench/obj", int64(i%60)<<16, 64<<10)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
}
