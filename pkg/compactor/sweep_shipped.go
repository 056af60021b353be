package compactor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/sluicelog/sluice/pkg/index"
	"github.com/sluicelog/sluice/pkg/storage"
	"github.com/sluicelog/sluice/pkg/storage/shipper"
)

// maxSweepDays bounds the days of one chunk the sweeper looks up, as the index bounds the days
// a chunk is added to.
const maxSweepDays = 31

// shippedRefs answers, for one sweep, whether a shipped table references a chunk. It reads the
// shipped tables of a tenant and day once, when a chunk of that day is first asked about, and
// keeps the keys of their chunks until the sweep ends. It is safe for concurrent use.
type shippedRefs struct {
	c   *Compactor
	dir string

	mu   sync.Mutex
	days map[shippedDay]map[string]struct{}
}

type shippedDay struct {
	tenant string
	day    int64
}

func (c *Compactor) newShippedRefs() (*shippedRefs, error) {
	dir := filepath.Join(c.cfg.WorkingDirectory, "sweep")
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("clear sweep directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create sweep directory: %w", err)
	}
	return &shippedRefs{c: c, dir: dir, days: map[shippedDay]map[string]struct{}{}}, nil
}

func (s *shippedRefs) close() { _ = os.RemoveAll(s.dir) }

// has reports whether a shipped table of a day of ref references it.
func (s *shippedRefs) has(ctx context.Context, ref index.ChunkRef) (bool, error) {
	key := ref.Key()
	first := index.DayOf(ref.From)
	last := min(index.DayOf(ref.Through), first+maxSweepDays-1)
	for day := first; day <= last; day++ {
		keys, err := s.day(ctx, ref.Tenant, day)
		if err != nil {
			return false, err
		}
		if _, ok := keys[key]; ok {
			return true, nil
		}
	}
	return false, nil
}

// day returns the chunk keys the shipped tables of tenant and day reference.
func (s *shippedRefs) day(ctx context.Context, tenant string, day int64) (map[string]struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := shippedDay{tenant, day}
	if keys, ok := s.days[id]; ok {
		return keys, nil
	}
	// A file deleted between the listing and its download was merged into a newer one (by a
	// compaction running meanwhile): list again, or that newer file would be missed.
	var err error
	for range 3 {
		var keys map[string]struct{}
		keys, err = s.load(ctx, tenant, day)
		if err == nil {
			s.days[id] = keys
			return keys, nil
		}
		if !errors.Is(err, storage.ErrNotFound) {
			return nil, err
		}
	}
	return nil, err
}

// load lists and reads the shipped tables of tenant and day. A damaged table is an error: a
// chunk it may reference must not be deleted.
func (s *shippedRefs) load(ctx context.Context, tenant string, day int64) (map[string]struct{}, error) {
	files, err := shipper.ListShipped(ctx, s.c.d.Shipped, tenant, day)
	if err != nil {
		return nil, err
	}
	keys := map[string]struct{}{}
	for _, f := range files {
		all, err := s.c.readShippedFile(ctx, s.dir, f)
		if err != nil {
			return nil, err
		}
		for _, sc := range all {
			for _, r := range sc.Chunks {
				r.Tenant = tenant
				keys[r.Key()] = struct{}{}
			}
		}
	}
	return keys, nil
}
