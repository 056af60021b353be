package tail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicelog/sluice/promtail/ack"
	"github.com/sluicelog/sluice/promtail/positions"
)

// Sink receives the lines of one file; it is called from one goroutine at a time.
type Sink interface {
	// Line handles one line (without its newline). It may block; it returns ctx's error when
	// ctx ends first, leaving the line unacknowledged.
	Line(ctx context.Context, line string, ts time.Time, a ack.Ack) error
	// Flush emits what the sink held back for longer than its own timeouts (multiline).
	Flush(ctx context.Context, now time.Time) error
	// Close releases the sink; held-back lines stay unacknowledged.
	Close()
}

// maxPartial bounds a line without newline kept in memory; beyond it the bytes are sent as
// a line of their own, as a reader must never grow without limit.
const maxPartial = 4 << 20

// reader is one open inode being read.
type reader struct {
	f       *os.File
	ident   string
	offset  int64 // next byte to read
	partial []byte
	tracker *ack.Tracker
	eof     bool // read to the end after the path moved on: close when acknowledged.
}

// file is one watched path and the inodes read through it.
type file struct {
	path    string
	sink    Sink
	cur     *reader
	old     []*reader // rotated or truncated inodes whose lines are not all acknowledged yet
	started bool
	removed bool // the target is gone: read to the end, then stop.
	gone    bool // the path no longer exists.
	lastTS  int64

	readLines, readBytes prometheus.Counter // cached children of the per-path metrics

	// posMu guards cur, old and their trackers against publish, which the clients call
	// when an acknowledgement moves a tracker. The polling goroutine is the only writer and
	// takes it only to write.
	posMu sync.Mutex
}

// newTracker makes a tracker whose progress is published to the positions table at once.
func (m *Manager) newTracker(fl *file, start int64) *ack.Tracker {
	t := ack.NewTracker(start, m.clients)
	t.OnCommit(func() { m.publish(fl) })
	return t
}

// publish saves fl's position: the acknowledged offset of the oldest inode still holding
// unacknowledged lines, else of the current one.
func (m *Manager) publish(fl *file) {
	fl.posMu.Lock()
	defer fl.posMu.Unlock()
	for _, r := range fl.old {
		if r.eof && r.tracker.Pending() == 0 {
			continue
		}
		m.pos.Put(fl.path, positions.Position{Offset: r.tracker.Committed(), Identity: r.ident})
		return
	}
	if fl.cur != nil {
		m.pos.Put(fl.path, positions.Position{Offset: fl.cur.tracker.Committed(), Identity: fl.cur.ident})
	}
}

// errStalled is returned when a Sink stopped the read (shutdown).
var errStalled = errors.New("sink stalled")

// poll reads whatever is new and reports whether more data is waiting (the read stopped at
// the per-round limit).
func (m *Manager) poll(ctx context.Context, fl *file, buf []byte) (more bool, err error) {
	if !fl.started {
		fl.started = true
		m.open(fl)
	}
	for _, r := range fl.old {
		if !r.eof {
			if _, err := m.read(ctx, fl, r, buf, true); err != nil {
				return false, err
			}
			// A rotated inode does not grow any more: its last line is complete.
			if err := m.flushPartial(ctx, fl, r); err != nil {
				return false, err
			}
			fl.posMu.Lock()
			r.eof = true
			fl.posMu.Unlock()
		}
	}
	if fl.cur == nil && !fl.removed {
		fi, err := os.Stat(fl.path)
		if err != nil {
			fl.gone = true
		} else if fi.Mode().IsRegular() {
			m.openAt(fl, fi, 0)
		}
	}
	if r := fl.cur; r != nil && !fl.removed {
		more, err = m.read(ctx, fl, r, buf, false)
		if err != nil {
			return false, err
		}
		if !more {
			m.checkRotation(ctx, fl, buf)
		}
	}
	if err := fl.sink.Flush(ctx, time.Now()); err != nil {
		return false, err
	}
	m.commit(fl)
	return more, nil
}

// open finds where to start reading fl on its first poll.
func (m *Manager) open(fl *file) {
	fi, err := os.Stat(fl.path)
	if err != nil || !fi.Mode().IsRegular() {
		return
	}
	pos, ok := m.pos.Get(fl.path)
	if !ok {
		m.openAt(fl, fi, 0)
		return
	}
	id := identity(fi)
	if pos.Identity == "" || pos.Identity == id {
		off := pos.Offset
		if off > fi.Size() {
			off = 0 // truncated while we were away
		}
		m.openAt(fl, fi, off)
		return
	}
	// The path names another inode than the one we had read: it was rotated while we were
	// down. Drain the old inode from the saved offset if it is still beside it.
	if old := findIdentity(filepath.Dir(fl.path), pos.Identity); old != "" {
		if f, err := os.Open(old); err == nil {
			r := &reader{f: f, ident: pos.Identity, offset: pos.Offset, tracker: m.newTracker(fl, pos.Offset)}
			if _, err := f.Seek(pos.Offset, io.SeekStart); err == nil {
				fl.posMu.Lock()
				fl.old = append(fl.old, r)
				fl.posMu.Unlock()
			} else {
				_ = f.Close()
			}
		}
	}
	m.openAt(fl, fi, 0)
}

func findIdentity(dir, id string) string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	for _, e := range ents {
		fi, err := e.Info()
		if err == nil && fi.Mode().IsRegular() && identity(fi) == id {
			return filepath.Join(dir, e.Name())
		}
	}
	return ""
}

func (m *Manager) openAt(fl *file, fi os.FileInfo, off int64) {
	f, err := os.Open(fl.path)
	if err != nil {
		m.log.Warn("open log file", "path", fl.path, "err", err)
		return
	}
	// Identity from the open descriptor: the path may have moved since the Stat.
	if ofi, err := f.Stat(); err == nil {
		fi = ofi
	}
	if off > fi.Size() {
		off = 0
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		_ = f.Close()
		m.log.Warn("seek log file", "path", fl.path, "err", err)
		return
	}
	r := &reader{f: f, ident: identity(fi), offset: off, tracker: m.newTracker(fl, off)}
	fl.posMu.Lock()
	fl.cur = r
	fl.posMu.Unlock()
	fl.gone = false
	m.metrics.FilesActive.Inc()
}

// read reads r from its offset; with all it reads to the end, otherwise up to the round limit.
func (m *Manager) read(ctx context.Context, fl *file, r *reader, buf []byte, all bool) (more bool, err error) {
	var total int
	for all || total < m.cfg.ReadLimit {
		n, rerr := r.f.Read(buf)
		if n > 0 {
			total += n
			if fl.readBytes == nil {
				fl.readBytes = m.metrics.ReadBytes.WithLabelValues(fl.path)
			}
			fl.readBytes.Add(float64(n))
			if err := m.lines(ctx, fl, r, buf[:n]); err != nil {
				return false, err
			}
		}
		if rerr == io.EOF || n == 0 {
			return false, nil
		}
		if rerr != nil {
			return false, fmt.Errorf("read %s: %w", fl.path, rerr)
		}
	}
	return true, nil
}

// lines splits data into lines, completing r.partial.
func (m *Manager) lines(ctx context.Context, fl *file, r *reader, data []byte) error {
	start := r.offset
	r.offset += int64(len(data))
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			r.partial = append(r.partial, data...)
			if len(r.partial) >= maxPartial {
				end := r.offset
				line := string(r.partial)
				r.partial = r.partial[:0]
				if err := m.emit(ctx, fl, r, line, end); err != nil {
					return err
				}
			}
			return nil
		}
		end := start + int64(i) + 1
		var line string
		if len(r.partial) > 0 {
			r.partial = append(r.partial, data[:i]...)
			line = string(trimCR(r.partial))
			r.partial = r.partial[:0]
		} else {
			line = string(trimCR(data[:i]))
		}
		if err := m.emit(ctx, fl, r, line, end); err != nil {
			return err
		}
		start = end
		data = data[i+1:]
	}
	return nil
}

func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}

func (m *Manager) emit(ctx context.Context, fl *file, r *reader, line string, end int64) error {
	ts := time.Now().UnixNano()
	// Strictly increasing per file, so two equal lines never share a timestamp and get
	// deduplicated by the server.
	if ts <= fl.lastTS {
		ts = fl.lastTS + 1
	}
	fl.lastTS = ts
	a := r.tracker.Add(end)
	if fl.readLines == nil {
		fl.readLines = m.metrics.ReadLines.WithLabelValues(fl.path)
		fl.readBytes = m.metrics.ReadBytes.WithLabelValues(fl.path)
	}
	fl.readLines.Inc()
	if err := fl.sink.Line(ctx, line, time.Unix(0, ts), a); err != nil {
		return fmt.Errorf("%w: %w", errStalled, err)
	}
	return nil
}

// flushPartial sends a trailing line without newline of a file that will not grow any more.
func (m *Manager) flushPartial(ctx context.Context, fl *file, r *reader) error {
	if len(r.partial) == 0 {
		return nil
	}
	line := string(r.partial)
	r.partial = r.partial[:0]
	return m.emit(ctx, fl, r, line, r.offset)
}

// checkRotation looks at the path after reading fl.cur to its end.
func (m *Manager) checkRotation(ctx context.Context, fl *file, buf []byte) {
	r := fl.cur
	fi, err := os.Stat(fl.path)
	switch {
	case errors.Is(err, fs.ErrNotExist) || (err == nil && identity(fi) != r.ident && r.ident != ""):
		// Deleted or renamed away. Read once more (the writer may have added a last line
		// between our read and the rename), then retire the inode.
		if _, err := m.read(ctx, fl, r, buf, true); err != nil {
			return
		}
		if err := m.flushPartial(ctx, fl, r); err != nil {
			return
		}
		fl.posMu.Lock()
		r.eof = true
		fl.old = append(fl.old, r)
		fl.cur = nil
		fl.posMu.Unlock()
		m.metrics.FilesActive.Dec()
		if err == nil {
			m.openAt(fl, fi, 0)
			if fl.cur != nil {
				_, _ = m.read(ctx, fl, fl.cur, buf, false)
			}
		} else {
			fl.gone = true
		}
	case err != nil:
		m.log.Warn("stat log file", "path", fl.path, "err", err)
	default:
		m.metrics.FileBytes.WithLabelValues(fl.path).Set(float64(fi.Size()))
		if fi.Size() < r.offset {
			// copytruncate: the file was copied away and cut to zero. Bytes still unread past
			// the new size are lost (the copy holds them); everything after is new.
			m.log.Info("file truncated, reading from the start", "path", fl.path, "offset", r.offset, "size", fi.Size())
			old := &reader{ident: r.ident, tracker: r.tracker, eof: true, offset: r.offset}
			fl.posMu.Lock()
			fl.old = append(fl.old, old)
			r.tracker = m.newTracker(fl, 0)
			fl.posMu.Unlock()
			r.partial = r.partial[:0]
			r.offset = 0
			if _, err := r.f.Seek(0, io.SeekStart); err != nil {
				m.log.Warn("seek truncated file", "path", fl.path, "err", err)
			}
			_, _ = m.read(ctx, fl, r, buf, false)
		}
	}
}

// commit saves the acknowledged position of fl and retires acknowledged old inodes.
func (m *Manager) commit(fl *file) {
	fl.posMu.Lock()
	defer fl.posMu.Unlock()
	keep := fl.old[:0]
	for _, r := range fl.old {
		if r.eof && r.tracker.Pending() == 0 {
			if r.f != nil {
				_ = r.f.Close()
			}
			continue
		}
		keep = append(keep, r)
	}
	for i := len(keep); i < len(fl.old); i++ {
		fl.old[i] = nil
	}
	fl.old = keep
	switch {
	case len(fl.old) > 0:
		r := fl.old[0]
		m.pos.Put(fl.path, positions.Position{Offset: r.tracker.Committed(), Identity: r.ident})
	case fl.cur != nil:
		m.pos.Put(fl.path, positions.Position{Offset: fl.cur.tracker.Committed(), Identity: fl.cur.ident})
	case fl.gone:
		m.pos.Remove(fl.path)
	}
}

// finished reports whether fl holds nothing more: gone or removed, and all acknowledged.
func (fl *file) finished() bool {
	if len(fl.old) > 0 {
		return false
	}
	if fl.cur == nil {
		return fl.gone || fl.removed
	}
	return fl.removed && fl.cur.tracker.Pending() == 0
}

// close releases every descriptor of fl.
func (m *Manager) close(fl *file) {
	fl.posMu.Lock()
	defer fl.posMu.Unlock()
	if fl.cur != nil {
		_ = fl.cur.f.Close()
		fl.cur = nil
		m.metrics.FilesActive.Dec()
	}
	for _, r := range fl.old {
		if r.f != nil {
			_ = r.f.Close()
		}
	}
	fl.old = nil
	fl.sink.Close()
	m.metrics.forget(fl.path)
}
