package storage_test

import (
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
