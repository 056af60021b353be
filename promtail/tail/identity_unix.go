//go:build unix

package tail

import (
	"os"
	"strconv"
	"syscall"
)

// identity names the file behind fi as "dev:inode", which survives renames.
func identity(fi os.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	return strconv.FormatUint(uint64(st.Dev), 10) + ":" + strconv.FormatUint(uint64(st.Ino), 10)
}
