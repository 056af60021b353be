// Package storage holds the object store clients (the local filesystem by default, S3 for real
// deployments, memory for tests) and the chunk store built on top of them.
package storage

import (
	"context"
	"errors"
	"io"
)

// ErrNotFound is returned (wrapped) by Get, GetRange and Delete when no object has the key.
var ErrNotFound = errors.New("object not found")

// ObjectClient is everything the chunk store asks of a bucket. Keys are slash-separated paths
// such as "chunks/fake/1a2b/…"; a backend maps them to files or objects.
type ObjectClient interface {
	// Put stores the object atomically: a reader sees the old object, or the whole new one.
	Put(ctx context.Context, key string, r io.Reader) error
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// GetRange returns n bytes of the object starting at off.
	GetRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error)
	// List returns the keys that start with prefix, sorted.
	List(ctx context.Context, prefix string) ([]string, error)
	Delete(ctx context.Context, key string) error
}
