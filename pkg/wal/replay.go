package wal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ReplayStats says what Replay read and repaired.
type ReplayStats struct {
	// Checkpoint is the number of the checkpoint replayed first, or -1 when there was none.
	Checkpoint int
	// Segments is the number of segment files replayed after the checkpoint.
	Segments int
	// Records and Bytes count the records handed to the callback and their payload bytes.
	Records int
	Bytes   int64
	// TruncatedBytes is what was cut off the newest segment's torn tail.
	TruncatedBytes int64
	// Corruptions counts damaged files whose remainder was skipped (see CorruptError).
	Corruptions int
}

// Replay reads back the WAL in dir: the newest checkpoint, then every segment after it, in
// order, calling fn with each record. rec is only valid during the call: Replay reuses the
// buffer, so fn must copy what it keeps (Decoder.Decode does). Memory stays bounded by the
// largest record, whatever the size of the files. A missing dir replays nothing.
//
// Run Replay before Open, never while a WAL is open on dir: it repairs the directory.
//
//   - A torn tail of the newest segment (a partial frame or a bad checksum at its end, left by a
//     crash in the middle of a write) was never acknowledged to a client. Replay truncates the
//     segment before it, logs a warning and counts it in Metrics.TornTails. That is not an error.
//   - Damage anywhere else (inside a checkpoint or an older segment, a segment missing from the
//     sequence, a bad file header) means acknowledged data was lost. The damaged file's records
//     before the bad frame are replayed; the rest of that file cannot be trusted (a frame length
//     might be wrong, so there is no safe way to find the next frame) and is skipped, leaving the
//     file untouched on disk for inspection. Replay then goes on with the following files,
//     because every record is self-contained and recovering more of the pushes the ingester
//     acknowledged is better than dropping them all. Replay logs each at error level, counts
//     it in Metrics.Corruptions and, once everything else is replayed, returns a *CorruptError
//     (errors.Is(err, ErrCorrupt)). The caller decides whether to start anyway; Loki's ingester
//     starts with whatever it could recover.
//
// An error from fn stops Replay at once and is returned wrapped. Records written while a
// checkpoint was being taken may be replayed twice, once from the checkpoint and once from the
// segment after it; fn must tolerate duplicates (see WAL.Checkpoint).
func Replay(ctx context.Context, dir string, opts Options, fn func(rec []byte) error) (ReplayStats, error) {
	stats := ReplayStats{Checkpoint: -1}
	opts, err := opts.withDefaults()
	if err != nil {
		return stats, err
	}
	l, err := listDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return stats, nil
	}
	if err != nil {
		return stats, err
	}
	if err := removeTmp(dir, l, opts); err != nil {
		return stats, err
	}
	rp := replayer{ctx: ctx, dir: dir, opts: opts, fn: fn, stats: &stats}

	first := 1
	if cp, ok := l.lastCheckpoint(); ok {
		stats.Checkpoint = cp
		if err := rp.file(checkpointName(cp), checkpointMagic, false); err != nil {
			return stats, err
		}
		first = cp + 1
	}
	var segs []int
	for _, n := range l.segments {
		if n >= first {
			segs = append(segs, n)
		}
	}
	for i, n := range segs {
		if (i == 0 && stats.Checkpoint >= 0 && n != first) || (i > 0 && n != segs[i-1]+1) {
			missing := first
			if i > 0 {
				missing = segs[i-1] + 1
			}
			rp.corrupt(&CorruptError{File: segmentName(missing), Reason: fmt.Sprintf("segments %s to %s are missing", segmentName(missing), segmentName(n-1))})
		}
		if err := rp.file(segmentName(n), segmentMagic, i == len(segs)-1); err != nil {
			return stats, err
		}
		stats.Segments++
	}
	if rp.firstCorrupt != nil {
		return stats, rp.firstCorrupt
	}
	return stats, nil
}

type replayer struct {
	ctx   context.Context
	dir   string
	opts  Options
	fn    func([]byte) error
	stats *ReplayStats
	buf   []byte

	firstCorrupt *CorruptError
}

func (rp *replayer) corrupt(ce *CorruptError) {
	rp.opts.Logger.Error("wal damaged: skipping the rest of the file; acknowledged data may be lost",
		"file", ce.File, "offset", ce.Offset, "skipped_bytes", ce.Skipped, "reason", ce.Reason)
	rp.opts.Metrics.Corruptions.Inc()
	rp.stats.Corruptions++
	if rp.firstCorrupt == nil {
		rp.firstCorrupt = ce
	} else {
		rp.firstCorrupt.More++
	}
}

// file replays one checkpoint or segment. last marks the newest segment, whose bad tail is
// torn rather than corrupt.
func (rp *replayer) file(name string, magic [4]byte, last bool) error {
	path := filepath.Join(rp.dir, name)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("replay %s: %w", name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("replay %s: %w", name, err)
	}
	s := newScanner(f, fi.Size(), magic, rp.buf)
	for s.next() {
		if err := rp.ctx.Err(); err != nil {
			return fmt.Errorf("replay %s: %w", name, err)
		}
		if err := rp.fn(s.rec); err != nil {
			return fmt.Errorf("replay %s at offset %d: %w", name, s.off-int64(len(s.rec))-frameHeaderSize, err)
		}
		rp.stats.Records++
		rp.stats.Bytes += int64(len(s.rec))
		rp.opts.Metrics.ReplayRecords.Inc()
	}
	rp.buf = s.buf
	if s.err != nil {
		return fmt.Errorf("replay %s: %w", name, s.err)
	}
	if s.bad == "" {
		return nil
	}
	if last {
		cut, err := repairTail(path, s, rp.opts)
		rp.stats.TruncatedBytes += cut
		return err
	}
	rp.corrupt(&CorruptError{File: name, Offset: s.badOff, Skipped: s.size - s.badOff, Reason: s.bad})
	return nil
}

// repairTail cuts the newest segment at the scanner's bad frame: everything from there on is
// the remains of a write that a crash interrupted, and no client was told it was stored. A
// segment without a whole header holds nothing and is removed. It returns the bytes cut.
func repairTail(path string, s *scanner, opts Options) (int64, error) {
	cut := s.size - s.badOff
	opts.Logger.Warn("wal: truncating torn tail of the newest segment",
		"file", filepath.Base(path), "offset", s.badOff, "truncated_bytes", cut, "reason", s.bad)
	opts.Metrics.TornTails.Inc()
	if s.badOff < fileHeaderSize {
		if err := removeIfExists(path); err != nil {
			return 0, fmt.Errorf("repair torn segment: %w", err)
		}
		return cut, syncDir(filepath.Dir(path))
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return 0, fmt.Errorf("repair torn segment %s: %w", filepath.Base(path), err)
	}
	err = f.Truncate(s.badOff)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("repair torn segment %s: %w", filepath.Base(path), err)
	}
	return cut, nil
}

// removeTmp deletes checkpoints a crash left half written. They were never renamed into place,
// so nothing relies on them.
func removeTmp(dir string, l dirListing, opts Options) error {
	for _, name := range l.tmp {
		opts.Logger.Info("wal: removing unfinished checkpoint", "file", name)
		if err := removeIfExists(filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	if len(l.tmp) > 0 {
		return syncDir(dir)
	}
	return nil
}
