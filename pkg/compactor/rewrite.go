package compactor

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/sluicelog/sluice/pkg/chunk"
	"github.com/sluicelog/sluice/pkg/compactor/deletion"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/storage"
	"github.com/sluicelog/sluice/pkg/unsafestr"
)

// rewrite removes the entries the delete requests of rw select from its chunk. When some but
// not all entries go, it stores a new chunk with the others (object and index entries) and
// reports gone, so the caller drops the old one. When all go it reports gone without writing;
// when none does, it changes nothing.
func (c *Compactor) rewrite(ctx context.Context, tenant string, rw rewriteItem) (gone bool, err error) {
	rw.ref.Tenant = tenant
	key := rw.ref.Key()
	rc, err := c.d.Objects.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		// The object is gone (a crash between an earlier sweep and the index removal cannot
		// cause this, but a manual clean-up can): the reference is useless, drop it.
		c.d.Logger.Warn("chunk referenced by the index is missing; dropping its reference", "key", key)
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("rewrite chunk: %w", err)
	}
	data, err := io.ReadAll(rc)
	err = errors.Join(err, rc.Close())
	if err != nil {
		return false, fmt.Errorf("rewrite chunk %s: %w", key, err)
	}
	old, err := chunk.Decode(data)
	if errors.Is(err, chunk.ErrCorrupt) {
		return false, c.skipCorrupt(key, err)
	}
	if err != nil {
		return false, fmt.Errorf("rewrite chunk %s: %w", key, err)
	}
	deleted := deletion.EntryFilter(rw.reqs, rw.lbls)
	head, err := chunk.NewHead(old.Encoding(), 0, 0)
	if err != nil {
		return false, fmt.Errorf("rewrite chunk %s: %w", key, err)
	}
	it := old.Iterator(rw.lbls, rw.ref.From, rw.ref.Through+1, logproto.Forward, nil)
	removed := 0
	for it.Next() {
		e := it.At()
		if deleted != nil && deleted(e.Timestamp, unsafestr.Bytes(e.Line)) {
			removed++
			continue
		}
		if err := head.Append(e); err != nil && !errors.Is(err, chunk.ErrDuplicate) {
			it.Close()
			return false, fmt.Errorf("rewrite chunk %s: %w", key, err)
		}
	}
	err = it.Err()
	it.Close()
	if errors.Is(err, chunk.ErrCorrupt) {
		return false, c.skipCorrupt(key, err)
	}
	if err != nil {
		return false, fmt.Errorf("rewrite chunk %s: read: %w", key, err)
	}
	if removed == 0 {
		return false, nil
	}
	c.m.deletedLines.WithLabelValues(tenant).Add(float64(removed))
	if head.Entries() == 0 {
		return true, nil
	}
	b, err := head.Bytes()
	if err != nil {
		return false, fmt.Errorf("rewrite chunk %s: %w", key, err)
	}
	from, through := head.Bounds()
	nc := &storage.Chunk{
		Tenant: tenant, Labels: rw.lbls, Data: b, From: from, Through: through,
		Entries: head.Entries(), UncompressedSize: head.UncompressedSize(),
	}
	if err := c.d.Chunks.PutChunk(ctx, nc); err != nil {
		return false, fmt.Errorf("rewrite chunk %s: %w", key, err)
	}
	c.m.rewritten.Inc()
	return true, nil
}

// skipCorrupt reports a chunk that cannot be decoded and leaves it as it is: retrying would fail
// every run and hold back the delete requests of the whole tenant. Queries keep hiding the
// lines the requests select, processed or not.
func (c *Compactor) skipCorrupt(key string, err error) error {
	c.m.errors.WithLabelValues("corrupt_chunk").Inc()
	c.d.Logger.Error("chunk to rewrite is corrupt; left unchanged", "key", key, "err", err)
	return nil
}
