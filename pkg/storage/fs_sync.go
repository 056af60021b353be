package storage

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// fsyncEach makes the files at paths durable, and with dirs the directories holding them, with
// one fsync each: syncPaths where the system has no syncfs. A file removed since it was
// written needs nothing.
func fsyncEach(paths []string, dirs bool) error {
	parents := map[string]bool{}
	for _, p := range paths {
		if err := fsyncPath(p, false); err != nil {
			return err
		}
		if dirs {
			parents[filepath.Dir(p)] = true
		}
	}
	for d := range parents {
		if err := fsyncPath(d, true); err != nil {
			return err
		}
	}
	return nil
}

// fsyncPath syncs the file or directory at p. A file is opened for writing: Windows flushes
// only a handle that may write.
func fsyncPath(p string, dir bool) error {
	flag := os.O_RDWR
	if dir {
		flag = os.O_RDONLY
	}
	f, err := os.OpenFile(p, flag, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
