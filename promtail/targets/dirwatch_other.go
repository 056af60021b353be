//go:build !linux

package targets

// dirWatch is the inotify watcher of Linux (dirwatch_linux.go). Elsewhere there is none, and the
// directory cache checks every directory with a stat each round.
type dirWatch struct{}

func newDirWatch() *dirWatch                   { return nil }
func (*dirWatch) watch(name, path string) bool { return false }
func (*dirWatch) unchanged(name string) bool   { return false }
func (*dirWatch) forget(name string)           {}
func (*dirWatch) close()                       {}
