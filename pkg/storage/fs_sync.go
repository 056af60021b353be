package storage

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// fsyncEach makes the files at paths durable, and the directories holding them, with one fsync
// each: syncPaths where the system has no syncfs. A file removed since it was written needs
// nothing.
func fsyncEach(paths []string) error {
	dirs := map[string]bool{}
	for _, p := range paths {
		if err := fsyncPath(p); err != nil {
			return err
		}
		dirs[filepath.Dir(p)] = true
	}
	for d := range dirs {
		if err := fsyncPath(d); err != nil {
			return err
		}
	}
	return nil
}

func fsyncPath(p string) error {
	f, err := os.Open(p)
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
