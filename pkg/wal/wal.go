package wal

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// WAL is an open write-ahead log: Log appends records durably with group commit, Checkpoint
// replaces the segments a snapshot covers, Close stops it. All methods are safe for concurrent
// use.
type WAL struct {
	dir  string
	opts Options

	// mu guards the batch Log fills, the closed flag and the sticky error.
	mu     sync.Mutex
	fill   *batch
	closed bool
	err    error

	kick chan struct{} // wakes the writer; capacity 1, so a pending wake-up is never lost
	quit chan struct{}
	done chan struct{}

	// fileMu serialises everything that touches the segment file: the writer goroutine's
	// flushes, Checkpoint's roll and Close. Lock order: fileMu, then mu.
	fileMu     sync.Mutex
	seg        *os.File
	segNum     int
	segSize    int64
	segClosed  bool
	spareBuf   []byte
	spareEnds  []int
	checkpoint sync.Mutex // one checkpoint at a time

	records, fsyncs, batches atomic.Int64
	segment                  atomic.Int64 // segNum, readable without fileMu
}

// batch is a group of framed records that become durable with one write and one fsync. A batch
// is never reused: Log callers read err after done is closed.
type batch struct {
	buf  []byte
	ends []int // offset in buf just past each frame
	done chan struct{}
	err  error
}

// Stats are running totals since Open.
type Stats struct {
	// Records is the number of records made durable.
	Records int64
	// Batches is the number of group commits; Records/Batches is the grouping factor.
	Batches int64
	// Fsyncs counts fsync calls on segment files (a batch that rolls the segment takes two).
	Fsyncs int64
	// Segment is the number of the segment being written.
	Segment int
}

// Open opens the WAL in dir for writing, creating dir if needed. It finishes what a crash may
// have left half done (an unfinished checkpoint, segments an interrupted checkpoint had still to
// delete, a torn tail of the newest segment) and starts a new segment after the newest one, so
// existing files are never appended to. Call Replay first to read the existing records back.
//
// Open reads the newest segment once to find a torn tail: without that repair, the next Replay
// would take the tail for damage in the middle of the log.
func Open(dir string, opts Options) (*WAL, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open wal: %w", err)
	}
	l, err := listDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open wal: %w", err)
	}
	if err := removeTmp(dir, l, opts); err != nil {
		return nil, fmt.Errorf("open wal: %w", err)
	}
	next := 1
	if cp, ok := l.lastCheckpoint(); ok {
		if _, err := removeCovered(dir, l, cp); err != nil {
			return nil, fmt.Errorf("open wal: finish checkpoint %d cleanup: %w", cp, err)
		}
		next = cp + 1
	}
	if n := len(l.segments); n > 0 && l.segments[n-1] >= next {
		last := l.segments[n-1]
		removed, err := repairLast(filepath.Join(dir, segmentName(last)), opts)
		if err != nil {
			return nil, fmt.Errorf("open wal: %w", err)
		}
		next = last + 1
		if removed {
			next = last // reuse the number, so the sequence has no gap
		}
	}

	w := &WAL{
		dir:  dir,
		opts: opts,
		fill: &batch{done: make(chan struct{})},
		kick: make(chan struct{}, 1),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	if err := w.createSegment(next); err != nil {
		return nil, fmt.Errorf("open wal: %w", err)
	}
	go w.run()
	return w, nil
}

// repairLast scans the newest segment and truncates a torn tail. It reports whether the
// segment was removed because not even its header was whole.
func repairLast(path string, opts Options) (removed bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("check newest segment: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("check newest segment: %w", err)
	}
	s := newScanner(f, fi.Size(), segmentMagic, nil)
	for s.next() {
	}
	if s.err != nil {
		return false, fmt.Errorf("check newest segment %s: %w", filepath.Base(path), s.err)
	}
	if s.bad == "" {
		return false, nil
	}
	_, err = repairTail(path, s, opts)
	return err == nil && s.badOff < fileHeaderSize, err
}

// createSegment creates segment n, writes its header and makes its name durable. The header
// itself becomes durable with the first fsync of records.
func (w *WAL) createSegment(n int) error {
	path := filepath.Join(w.dir, segmentName(n))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("create segment: %w", err)
	}
	h := fileHeader(segmentMagic)
	if _, err := f.Write(h[:]); err != nil {
		f.Close()
		return fmt.Errorf("write segment %s header: %w", segmentName(n), err)
	}
	if err := syncDir(w.dir); err != nil {
		f.Close()
		return err
	}
	w.seg, w.segNum, w.segSize = f, n, fileHeaderSize
	w.segment.Store(int64(n))
	w.opts.Metrics.Segment.Set(float64(n))
	return nil
}

// Stats returns the running totals.
func (w *WAL) Stats() Stats {
	return Stats{
		Records: w.records.Load(),
		Batches: w.batches.Load(),
		Fsyncs:  w.fsyncs.Load(),
		Segment: int(w.segment.Load()),
	}
}

// Dir returns the directory the WAL lives in.
func (w *WAL) Dir() string { return w.dir }

// Close makes every record already handed to Log durable, closes the segment and stops the
// writer. Log and Checkpoint return ErrClosed afterwards. Close is idempotent.
func (w *WAL) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	close(w.quit)
	<-w.done

	w.fileMu.Lock()
	defer w.fileMu.Unlock()
	w.flushLocked()
	w.segClosed = true
	err := w.seg.Close()
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		return fmt.Errorf("close wal segment %s: %w", segmentName(w.segNum), err)
	}
	if w.err != nil {
		return fmt.Errorf("close wal: %w", w.err)
	}
	return nil
}

// sync fsyncs the current segment and counts it.
func (w *WAL) sync() error {
	start := time.Now()
	err := w.seg.Sync()
	w.opts.Metrics.FsyncDuration.Observe(time.Since(start).Seconds())
	w.opts.Metrics.Fsyncs.Inc()
	w.fsyncs.Add(1)
	if err != nil {
		return fmt.Errorf("sync segment %s: %w", segmentName(w.segNum), err)
	}
	return nil
}

// roll syncs and closes the current segment and starts the next one.
func (w *WAL) roll() error {
	if err := w.sync(); err != nil {
		return err
	}
	if err := w.seg.Close(); err != nil {
		return fmt.Errorf("close segment %s: %w", segmentName(w.segNum), err)
	}
	return w.createSegment(w.segNum + 1)
}
