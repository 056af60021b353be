package sluice

import (
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// cgroupMemoryFiles hold a container's memory limit: cgroup v2, then v1.
var cgroupMemoryFiles = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// memoryLimitShare is the part of the container's limit given to the Go heap as its soft limit;
// the rest covers stacks, the runtime and buffers outside the heap.
const memoryLimitShare = 0.9

// SetMemoryLimit makes the garbage collector keep the heap under 90% of the container's memory
// limit, so a busy ingester collects harder instead of being OOM-killed (with its unflushed
// data then replayed from the WAL). It does nothing when GOMEMLIMIT is set, which wins, or
// when no limit is found. It returns the limit it set, or 0.
func SetMemoryLimit(logger *slog.Logger) int64 {
	if _, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		return 0
	}
	limit := containerMemoryLimit(cgroupMemoryFiles)
	if limit <= 0 {
		return 0
	}
	soft := int64(float64(limit) * memoryLimitShare)
	debug.SetMemoryLimit(soft)
	if logger != nil {
		logger.Info("heap soft limit set from the container's memory limit", "container_limit_bytes", limit, "heap_limit_bytes", soft)
	}
	return soft
}

// containerMemoryLimit returns the first limit found in files, or 0 for none ("max", or the
// huge number cgroup v1 reports for no limit).
func containerMemoryLimit(files []string) int64 {
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			return 0
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 || n >= 1<<62 {
			return 0
		}
		return n
	}
	return 0
}
