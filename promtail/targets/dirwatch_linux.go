package targets

import (
	"encoding/binary"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// dirWatch tells the directory cache which directories changed since it last listed them, from
// inotify events on their entries being created, removed or renamed. Writes are not watched:
// the directories hold the log files being written, and an event per write would cost more than
// the stats it saves. (fsnotify cannot leave writes out: its WithOps is not exported, so this
// is inotify itself.) A directory that cannot be watched (the user's watch limit) is checked
// with a stat every round, as without a watch.
type dirWatch struct {
	// f is the inotify descriptor, non-blocking, so that Read waits in the runtime's poller
	// and Close wakes it; fd is the same descriptor for the watch calls (f.Fd would make it
	// blocking again).
	f  *os.File
	fd int

	mu      sync.Mutex
	byWD    map[int32]string // watch descriptor → directory name (the cache's)
	byName  map[string]int32
	changed map[string]bool // watched directories with an event since they were listed
	// refused are the directories the kernel would not watch for want of watches (ENOSPC):
	// not asked again, at every round, until a watch is removed.
	refused map[string]bool
	done    chan struct{}
	add     func(fd int, path string, mask uint32) (int, error) // unix.InotifyAddWatch; tests make it fail

}

const dirWatchMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
	unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR

// newDirWatch starts a watcher, or returns nil when the system refuses one (every directory is
// then checked with a stat).
func newDirWatch() *dirWatch {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil
	}
	w := &dirWatch{f: os.NewFile(uintptr(fd), "inotify"), fd: fd, byWD: map[int32]string{}, byName: map[string]int32{},
		changed: map[string]bool{}, refused: map[string]bool{}, done: make(chan struct{}),
		add: unix.InotifyAddWatch}
	go w.run()
	return w
}

// watch makes sure the directory name, at path, is watched, and marks it unchanged: the caller
// lists it next. It reports whether the directory is watched.
func (w *dirWatch) watch(name, path string) bool {
	if w == nil {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.changed, name)
	if _, ok := w.byName[name]; ok {
		return true
	}
	if w.refused[name] {
		return false
	}
	wd, err := w.add(w.fd, path, dirWatchMask)
	if err != nil {
		if err == unix.ENOSPC {
			w.refused[name] = true
		}
		return false
	}
	// A path may come back with the descriptor of a directory watched under another name (a
	// symlink to it): the last name wins, the other is checked with a stat.
	if old, ok := w.byWD[int32(wd)]; ok {
		delete(w.byName, old)
	}
	w.byWD[int32(wd)], w.byName[name] = name, int32(wd)
	return true
}

// unchanged reports whether the directory is watched and had no event since it was listed.
func (w *dirWatch) unchanged(name string) bool {
	if w == nil {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.byName[name]
	return ok && !w.changed[name]
}

// forget stops watching the directory.
func (w *dirWatch) forget(name string) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if wd, ok := w.byName[name]; ok {
		unix.InotifyRmWatch(w.fd, uint32(wd))
		delete(w.byName, name)
		delete(w.byWD, wd)
		delete(w.changed, name)
		clear(w.refused) // a watch is free again
	}
}

// close stops the watcher.
func (w *dirWatch) close() {
	if w == nil {
		return
	}
	w.mu.Lock()
	w.fd = -1 // no more watch calls on a descriptor about to be closed (and perhaps reused)
	w.mu.Unlock()
	w.f.Close()
	<-w.done
}

func (w *dirWatch) run() {
	defer close(w.done)
	buf := make([]byte, 64<<10)
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			// Closed, or the descriptor failed: from now on no directory counts as unchanged.
			w.mu.Lock()
			clear(w.byName)
			w.mu.Unlock()
			return
		}
		w.handle(buf[:n])
	}
}

// handle marks the directories the events in b are about as changed.
func (w *dirWatch) handle(b []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(b) >= unix.SizeofInotifyEvent {
		wd := int32(binary.NativeEndian.Uint32(b[0:]))
		mask := binary.NativeEndian.Uint32(b[4:])
		size := unix.SizeofInotifyEvent + int(binary.NativeEndian.Uint32(b[12:]))
		if size > len(b) {
			size = len(b)
		}
		b = b[size:]
		if mask&unix.IN_Q_OVERFLOW != 0 {
			// Events were lost: every directory is to be checked again.
			for name := range w.byName {
				w.changed[name] = true
			}
			continue
		}
		name, ok := w.byWD[wd]
		if !ok {
			continue
		}
		w.changed[name] = true
		if mask&unix.IN_IGNORED != 0 {
			// The watch is gone (the directory was removed): the next round stats it.
			delete(w.byWD, wd)
			delete(w.byName, name)
			clear(w.refused)
		}
	}
}
