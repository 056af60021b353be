package storage_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/sluicelog/sluice/pkg/storage"
	"github.com/sluicelog/sluice/pkg/storage/storagetest"
)

func TestFSConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.ObjectClient {
		c, err := storage.OpenFS(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return c
	})
}

func TestMemoryConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.ObjectClient { return storage.NewMemory() })
}

// PutDeferred's object is whole and in place at once; Sync then returns nil, also with nothing
// left to sync, and refuses a cancelled context.
func TestFSPutDeferred(t *testing.T) {
	ctx := context.Background()
	fs, err := storage.OpenFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"a/1", "a/2", "b/c/3"} {
		if err := fs.PutDeferred(ctx, key, strings.NewReader("object "+key)); err != nil {
			t.Fatal(err)
		}
		rc, err := fs.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(b) != "object "+key {
			t.Fatalf("Get(%s) = %q, %v", key, b, err)
		}
	}
	if keys, err := fs.List(ctx, ""); err != nil || len(keys) != 3 {
		t.Fatalf("List = %v, %v; want the 3 objects and no temporary file", keys, err)
	}
	for range 2 {
		if err := fs.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := fs.PutDeferred(ctx, "a/4", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := fs.Sync(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sync(cancelled) = %v, want context.Canceled", err)
	}
	if err := fs.PutDeferred(ctx, "../escape", strings.NewReader("x")); !errors.Is(err, storage.ErrInvalidKey) {
		t.Fatalf("PutDeferred(../escape) = %v, want ErrInvalidKey", err)
	}
}

// BenchmarkFSPut is a durable Put of a 50 KB object (a chunk of the storage benchmark's size)
// into an existing directory, and PutDeferred with one Sync per 100 objects, as an ingester's
// flush writes them.
func BenchmarkFSPut(b *testing.B) {
	data := strings.Repeat("x", 50<<10)
	ctx := context.Background()
	// run puts objects with put, under 100 keys in one directory, calling after each one.
	run := func(b *testing.B, put func(*storage.FS, string) error, after func(fs *storage.FS, i int) error) {
		fs, err := storage.OpenFS(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
		i := 0
		for b.Loop() {
			if err := put(fs, fmt.Sprintf("fake/abc/%d", i%100)); err != nil {
				b.Fatal(err)
			}
			i++
			if err := after(fs, i); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("durable", func(b *testing.B) {
		run(b, func(fs *storage.FS, key string) error { return fs.Put(ctx, key, strings.NewReader(data)) },
			func(*storage.FS, int) error { return nil })
	})
	b.Run("deferred", func(b *testing.B) {
		run(b, func(fs *storage.FS, key string) error { return fs.PutDeferred(ctx, key, strings.NewReader(data)) },
			func(fs *storage.FS, i int) error {
				if i%100 == 0 {
					return fs.Sync(ctx)
				}
				return nil
			})
	})
}
