package sluice

import (
	"context"
	"fmt"

	"github.com/sluicelog/sluice/pkg/index"
	"github.com/sluicelog/sluice/pkg/storage"
)

// initStore opens the object store, the label index and the chunk store on top of them.
func (s *Sluice) initStore() error {
	objects, err := storage.OpenFS(s.cfg.StorageConfig.Filesystem.Directory)
	if err != nil {
		return err
	}
	s.objects = objects
	idx, err := index.Open(s.cfg.StorageConfig.BoltDB.ActiveIndexDirectory, index.Options{})
	if err != nil {
		return fmt.Errorf("open index: %w", err)
	}
	s.index = idx
	s.onStop("index", func(context.Context) error { return idx.Close() })
	s.store = storage.NewStore(s.objects, s.index)
	return nil
}
