//go:build !linux

package storage

// syncPaths makes the files at paths durable, and the directories holding them.
func syncPaths(_ string, paths []string) error { return fsyncEach(paths) }
