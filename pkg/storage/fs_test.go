package storage_test

import (
	"context"
	"errors"
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
