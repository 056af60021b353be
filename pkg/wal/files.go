package wal

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The WAL directory holds segments named by their 8-digit (or wider) decimal number, e.g.
// 00000001, and checkpoints named checkpoint.<n>, where n is the newest segment the checkpoint
// covers. A checkpoint being written is checkpoint.<n>.tmp until it is complete and synced.
const (
	checkpointPrefix = "checkpoint."
	tmpSuffix        = ".tmp"
)

func segmentName(n int) string    { return fmt.Sprintf("%08d", n) }
func checkpointName(n int) string { return fmt.Sprintf("%s%08d", checkpointPrefix, n) }

// dirListing is what a WAL directory holds, each list in ascending order.
type dirListing struct {
	segments    []int
	checkpoints []int
	tmp         []string // unfinished checkpoints left by a crash
}

func (l dirListing) lastCheckpoint() (int, bool) {
	if len(l.checkpoints) == 0 {
		return 0, false
	}
	return l.checkpoints[len(l.checkpoints)-1], true
}

func listDir(dir string) (dirListing, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return dirListing{}, fmt.Errorf("list wal dir: %w", err)
	}
	var l dirListing
	for _, e := range ents {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, tmpSuffix) && strings.HasPrefix(name, checkpointPrefix):
			l.tmp = append(l.tmp, name)
		case strings.HasPrefix(name, checkpointPrefix):
			if n, ok := parseNumber(name[len(checkpointPrefix):]); ok && e.Type().IsRegular() {
				l.checkpoints = append(l.checkpoints, n)
			}
		default:
			if n, ok := parseNumber(name); ok && e.Type().IsRegular() {
				l.segments = append(l.segments, n)
			}
		}
	}
	slices.Sort(l.segments)
	slices.Sort(l.checkpoints)
	return l, nil
}

// parseNumber accepts the names we write: at least 8 decimal digits, no sign.
func parseNumber(s string) (int, bool) {
	if len(s) < 8 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// syncDir makes renames, creations and removals in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open wal dir for sync: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync wal dir: %w", err)
	}
	return nil
}

// removeCovered deletes the segments numbered up to upTo and every checkpoint older than
// checkpoint upTo, then syncs dir. Files that are already gone are not an error.
func removeCovered(dir string, l dirListing, upTo int) (removed int, err error) {
	for _, n := range l.segments {
		if n <= upTo {
			if err := removeIfExists(filepath.Join(dir, segmentName(n))); err != nil {
				return removed, err
			}
			removed++
		}
	}
	for _, n := range l.checkpoints {
		if n < upTo {
			if err := removeIfExists(filepath.Join(dir, checkpointName(n))); err != nil {
				return removed, err
			}
			removed++
		}
	}
	if removed > 0 {
		return removed, syncDir(dir)
	}
	return removed, nil
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("remove %s: %w", filepath.Base(path), err)
	}
	return nil
}
