package wal

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Checkpoint writes a snapshot of the caller's in-memory state and then deletes the segments it
// makes redundant, so replay time and disk use stay bounded.
//
// It first closes the current segment (after making every record already handed to Log
// durable) and starts a new one; the checkpoint covers that closed segment and all before it.
// Then it calls snapshot, which calls write once per record of state (typically records built
// with AppendRecord, one per stream or per tenant). The records go to checkpoint.<n>.tmp; when
// snapshot returns nil the file is synced and renamed to checkpoint.<n> (the directory synced
// too), and only then are segments up to n and older checkpoints deleted. A crash at any point
// leaves either the old checkpoint and segments or the new checkpoint: never neither. A leftover
// .tmp file is removed by the next Replay or Open.
//
// The contract that makes this correct: every record in the covered segments must already be
// reflected in the state snapshot sees. The ingester keeps it by applying a push to memory
// before calling Log for it (as Loki's does), so any record that reached a covered segment was
// applied before Checkpoint began. Log keeps working while snapshot runs; records logged
// meanwhile go to the new segment and may also appear in the snapshot, so replay can deliver
// them twice and must tolerate duplicates.
//
// Only one checkpoint runs at a time; a second call waits. write must be called from one
// goroutine at a time and copies rec before returning. It returns an error once ctx is done;
// snapshot should return that error.
func (w *WAL) Checkpoint(ctx context.Context, snapshot func(write func(rec []byte) error) error) error {
	w.checkpoint.Lock()
	defer w.checkpoint.Unlock()
	start := time.Now()
	n, records, err := w.doCheckpoint(ctx, snapshot)
	if err != nil {
		w.opts.Metrics.CheckpointFailures.Inc()
		w.opts.Logger.Error("wal checkpoint failed; segments kept", "err", err)
		return err
	}
	took := time.Since(start)
	w.opts.Metrics.Checkpoints.Inc()
	w.opts.Metrics.CheckpointDuration.Observe(took.Seconds())
	w.opts.Logger.Info("wal checkpoint written", "checkpoint", checkpointName(n), "records", records, "duration", took)
	return nil
}

func (w *WAL) doCheckpoint(ctx context.Context, snapshot func(write func(rec []byte) error) error) (int, int, error) {
	n, err := w.cut()
	if err != nil {
		return 0, 0, fmt.Errorf("checkpoint: %w", err)
	}
	records, err := writeCheckpoint(ctx, w.dir, n, snapshot)
	if err != nil {
		return n, 0, fmt.Errorf("checkpoint %d: %w", n, err)
	}
	l, err := listDir(w.dir)
	if err != nil {
		return n, records, fmt.Errorf("checkpoint %d: %w", n, err)
	}
	if _, err := removeCovered(w.dir, l, n); err != nil {
		return n, records, fmt.Errorf("checkpoint %d: delete covered files: %w", n, err)
	}
	return n, records, nil
}

// cut makes everything logged so far durable and, if the current segment holds records, starts
// a new one. It returns the newest segment the checkpoint will cover.
func (w *WAL) cut() (int, error) {
	w.fileMu.Lock()
	defer w.fileMu.Unlock()
	if w.segClosed {
		return 0, ErrClosed
	}
	w.flushLocked()
	w.mu.Lock()
	err := w.err
	w.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if w.segSize == fileHeaderSize {
		return w.segNum - 1, nil
	}
	// flushLocked synced the segment, so closing it is enough.
	if err := w.seg.Close(); err != nil {
		err = fmt.Errorf("close segment %s: %w", segmentName(w.segNum), err)
		w.setErr(err)
		return 0, err
	}
	if err := w.createSegment(w.segNum + 1); err != nil {
		w.setErr(err)
		return 0, err
	}
	return w.segNum - 1, nil
}

func (w *WAL) setErr(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

// checkpointWriteSize is the buffer in front of a checkpoint file: checkpoint records are
// usually small (one stream's state), and syscalls per record would dominate.
const checkpointWriteSize = 1 << 20

// writeCheckpoint writes checkpoint n through a .tmp file, syncs it and renames it into place.
func writeCheckpoint(ctx context.Context, dir string, n int, snapshot func(write func(rec []byte) error) error) (records int, err error) {
	final := filepath.Join(dir, checkpointName(n))
	tmp := final + tmpSuffix
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, fmt.Errorf("create: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			err = errors.Join(err, removeIfExists(tmp))
		}
	}()
	bw := bufio.NewWriterSize(f, checkpointWriteSize)
	h := fileHeader(checkpointMagic)
	if _, err := bw.Write(h[:]); err != nil {
		return 0, fmt.Errorf("write header: %w", err)
	}
	finished := false
	write := func(rec []byte) error {
		if finished {
			return errors.New("checkpoint write called after snapshot returned")
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if uint64(len(rec)) > maxRecordSize {
			return fmt.Errorf("checkpoint record of %d bytes exceeds the %d-byte frame limit", len(rec), maxRecordSize)
		}
		fh := frameHeader(rec)
		if _, err := bw.Write(fh[:]); err != nil {
			return fmt.Errorf("write checkpoint: %w", err)
		}
		if _, err := bw.Write(rec); err != nil {
			return fmt.Errorf("write checkpoint: %w", err)
		}
		records++
		return nil
	}
	err = snapshot(write)
	finished = true
	if err != nil {
		return records, fmt.Errorf("snapshot: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return records, fmt.Errorf("write: %w", err)
	}
	if err := f.Sync(); err != nil {
		return records, fmt.Errorf("sync: %w", err)
	}
	if err := f.Close(); err != nil {
		return records, fmt.Errorf("close: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return records, fmt.Errorf("rename into place: %w", err)
	}
	return records, syncDir(dir)
}
