//go:build !linux

package storage

import "runtime"

// syncPaths makes the files at paths durable, and the directories holding them where a
// directory can be synced (not on Windows, where a rename is made durable with the file).
func syncPaths(_ string, paths []string) error { return fsyncEach(paths, runtime.GOOS != "windows") }
