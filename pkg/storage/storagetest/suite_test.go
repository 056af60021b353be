package storagetest_test

import (
	"testing"

	"github.com/sluicelog/sluice/pkg/storage"
	"github.com/sluicelog/sluice/pkg/storage/storagetest"
)

// TestMemory checks the suite against the in-memory backend, the simplest correct one.
func TestMemory(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.ObjectClient { return storage.NewMemory() })
}
