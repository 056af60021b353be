package wal

import (
	"context"
	"fmt"
)

// Log appends rec to the WAL and returns once it is durable: written and fsynced, so it
// survives a crash. Concurrent calls share one write and one fsync (group commit): while the
// writer syncs one batch, records from other callers collect in the next.
//
// Log copies rec before it returns, so the caller may reuse it at once. If ctx ends first, Log
// returns ctx's error and the record may or may not become durable; the caller must treat the
// push as failed (the client retries, and replay tolerates duplicates). After a write or fsync
// error every later Log fails too: a failed fsync leaves the file's state unknown, so the WAL
// must be closed and the process restarted, replaying what is on disk.
func (w *WAL) Log(ctx context.Context, rec []byte) error {
	if uint64(len(rec)) > maxRecordSize {
		return fmt.Errorf("wal log: record of %d bytes exceeds the %d-byte frame limit", len(rec), maxRecordSize)
	}
	return w.log(ctx, len(rec), rec, nil)
}

// LogAppend is Log for a record that appendRec appends to the WAL's own buffer of pending
// records: the caller needs no buffer of its own, and the record is copied once less. A
// push's record is about the size of its lines, so on the ingest path this saves a buffer
// per concurrent push and a copy of every line.
//
// size is the record's size or an upper bound of it (RecordSize gives one): as len(rec) for
// Log, it decides whether the record waits for the pending records to be written first.
// appendRec runs with the WAL locked: it must only append to dst and return the result, and
// must not call the WAL.
func (w *WAL) LogAppend(ctx context.Context, size int, appendRec func(dst []byte) []byte) error {
	return w.log(ctx, size, nil, appendRec)
}

// log frames one record into the batch being filled, either rec or what appendRec appends,
// and waits until the batch is durable.
func (w *WAL) log(ctx context.Context, size int, rec []byte, appendRec func([]byte) []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	need := size + frameHeaderSize
	w.mu.Lock()
	for {
		if w.closed {
			w.mu.Unlock()
			return ErrClosed
		}
		if w.err != nil {
			err := w.err
			w.mu.Unlock()
			return fmt.Errorf("wal log: %w", err)
		}
		if len(w.fill.buf) == 0 || len(w.fill.buf)+need <= w.opts.MaxPendingBytes {
			break
		}
		// Too much is already waiting: wait until the batch being filled is durable.
		full := w.fill
		w.mu.Unlock()
		select {
		case <-full.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		w.mu.Lock()
	}
	b := w.fill
	start := len(b.buf)
	if appendRec == nil {
		b.buf = appendFrame(b.buf, rec)
	} else {
		// Room for the frame header, filled in once the record is there.
		b.buf = append(b.buf, make([]byte, frameHeaderSize)...)
		b.buf = appendRec(b.buf)
		rec := b.buf[start+frameHeaderSize:]
		if uint64(len(rec)) > maxRecordSize {
			b.buf = b.buf[:start]
			w.mu.Unlock()
			return fmt.Errorf("wal log: record of %d bytes exceeds the %d-byte frame limit", len(rec), maxRecordSize)
		}
		h := frameHeader(rec)
		copy(b.buf[start:], h[:])
	}
	b.ends = append(b.ends, len(b.buf))
	w.mu.Unlock()

	select {
	case w.kick <- struct{}{}:
	default: // a wake-up is already pending; the writer will take this record with it
	}
	select {
	case <-b.done:
		if b.err != nil {
			return fmt.Errorf("wal log: %w", b.err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run is the writer goroutine: each wake-up takes every record logged so far as one batch.
func (w *WAL) run() {
	defer close(w.done)
	for {
		select {
		case <-w.kick:
		case <-w.quit:
			return
		}
		w.fileMu.Lock()
		w.flushLocked()
		w.fileMu.Unlock()
	}
}

// flushLocked writes and syncs the batch being filled, then wakes its callers. fileMu is held.
func (w *WAL) flushLocked() {
	w.mu.Lock()
	b := w.fill
	if len(b.ends) == 0 {
		w.mu.Unlock()
		return
	}
	w.fill = &batch{buf: w.spareBuf[:0], ends: w.spareEnds[:0], done: make(chan struct{})}
	err := w.err
	w.mu.Unlock()

	if err == nil && w.segClosed {
		err = ErrClosed
	}
	if err == nil {
		err = w.writeBatch(b)
		if err != nil {
			w.mu.Lock()
			if w.err == nil {
				w.err = err
			}
			w.mu.Unlock()
		}
	}
	if err == nil {
		n := int64(len(b.ends))
		w.records.Add(n)
		w.batches.Add(1)
		w.opts.Metrics.RecordsLogged.Add(float64(n))
		w.opts.Metrics.BytesLogged.Add(float64(len(b.buf)))
		w.opts.Metrics.BatchRecords.Observe(float64(n))
	}
	// Keep the buffers for the next batch unless one huge batch grew them far past the usual.
	if cap(b.buf) <= 2*w.opts.MaxPendingBytes {
		w.spareBuf, w.spareEnds = b.buf, b.ends
	} else {
		w.spareBuf, w.spareEnds = nil, nil
	}
	b.err = err
	b.buf, b.ends = nil, nil
	close(b.done)
}

// writeBatch writes b's frames to the segment, starting a new segment whenever the next frame
// would take the current one past SegmentSize (unless the segment is still empty: a record
// larger than SegmentSize gets a segment to itself). Records never span two segments.
func (w *WAL) writeBatch(b *batch) error {
	start, prev := 0, 0 // start: first frame not yet written; prev: end of the previous frame
	for _, end := range b.ends {
		grown := w.segSize + int64(end-start)
		nonEmpty := w.segSize > fileHeaderSize || prev > start
		if grown > w.opts.SegmentSize && nonEmpty {
			if err := w.write(b.buf[start:prev]); err != nil {
				return err
			}
			if err := w.roll(); err != nil {
				return err
			}
			start = prev
		}
		prev = end
	}
	if err := w.write(b.buf[start:]); err != nil {
		return err
	}
	return w.sync()
}

func (w *WAL) write(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	n, err := w.seg.Write(p)
	w.segSize += int64(n)
	if err != nil {
		return fmt.Errorf("write segment %s: %w", segmentName(w.segNum), err)
	}
	return nil
}
