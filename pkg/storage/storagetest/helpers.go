package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/storage"
)

// Payload returns n deterministic pseudo-random bytes for seed.
func Payload(seed uint64, n int) []byte {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(key).Read(b) // never fails
	return b
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func put(t *testing.T, c storage.ObjectClient, key string, data []byte) {
	t.Helper()
	if err := c.Put(ctxT(t), key, bytes.NewReader(data)); err != nil {
		t.Fatalf("Put(%q, %d bytes) = %v", key, len(data), err)
	}
}

// readAll reads and closes rc, joining the close error.
func readAll(rc io.ReadCloser) ([]byte, error) {
	b, err := io.ReadAll(rc)
	return b, errors.Join(err, rc.Close())
}

func get(t *testing.T, c storage.ObjectClient, key string) []byte {
	t.Helper()
	rc, err := c.Get(ctxT(t), key)
	if err != nil {
		t.Fatalf("Get(%q) = %v", key, err)
	}
	b, err := readAll(rc)
	if err != nil {
		t.Fatalf("Get(%q): read: %v", key, err)
	}
	return b
}

func getRange(t *testing.T, c storage.ObjectClient, key string, off, n int64) []byte {
	t.Helper()
	rc, err := c.GetRange(ctxT(t), key, off, n)
	if err != nil {
		t.Fatalf("GetRange(%q, %d, %d) = %v", key, off, n, err)
	}
	b, err := readAll(rc)
	if err != nil {
		t.Fatalf("GetRange(%q, %d, %d): read: %v", key, off, n, err)
	}
	return b
}

func list(t *testing.T, c storage.ObjectClient, prefix string) []string {
	t.Helper()
	keys, err := c.List(ctxT(t), prefix)
	if err != nil {
		t.Fatalf("List(%q) = %v", prefix, err)
	}
	return keys
}

func checkBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s = %d bytes %s, want %d bytes %s", what, len(got), preview(got), len(want), preview(want))
	}
}

func preview(b []byte) string {
	if len(b) > 16 {
		return fmt.Sprintf("%x…", b[:16])
	}
	return fmt.Sprintf("%x", b)
}
