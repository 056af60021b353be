//go:build unix

package sluice

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDataDir takes an exclusive lock on <dir>/.lock for the life of the process, so a second
// server pointed at the same data directory fails at once instead of replaying and extending
// the first one's write-ahead log. The kernel drops the lock when the process dies.
func lockDataDir(dir string) (unlock func() error, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(dir, ".lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("data directory %s is in use by another sluice process (lock %s)", dir, path)
		}
		return nil, fmt.Errorf("lock data directory %s: %w", dir, err)
	}
	return f.Close, nil
}
