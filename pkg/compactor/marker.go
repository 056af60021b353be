package compactor

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// markerHeader is the first line of a marker file; FORMAT.md describes the file.
const markerHeader = "sluice-marker 1"

// markerSuffix ends the name of a complete marker; a file being written ends in ".tmp".
const (
	markerSuffix = ".marker"
	tmpSuffix    = ".tmp"
)

// markerDir is the directory of the marker files under a working directory.
func markerDir(workDir string) string { return filepath.Join(workDir, "retention", "markers") }

// marker is a marker file: the chunk object keys whose index entries were (or are about to be)
// removed at created.
type marker struct {
	path    string
	created time.Time
}

// writeMarker durably records keys in a new marker file stamped created: written under a
// temporary name, synced, renamed, and the directory synced, so that after a crash the marker
// is either whole or absent.
func writeMarker(dir string, created time.Time, keys []string) (marker, error) {
	var buf bytes.Buffer
	buf.WriteString(markerHeader)
	buf.WriteByte('\n')
	for _, k := range keys {
		if strings.ContainsAny(k, "\n\r") || k == "" {
			return marker{}, fmt.Errorf("write marker: bad chunk key %q", k)
		}
		buf.WriteString(k)
		buf.WriteByte('\n')
	}
	var suffix [4]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return marker{}, fmt.Errorf("write marker: %w", err)
	}
	// The creation time, zero-padded, leads the name so that names sort by age.
	name := fmt.Sprintf("%020d-%s", created.UnixNano(), hex.EncodeToString(suffix[:]))
	path := filepath.Join(dir, name+markerSuffix)
	tmp := filepath.Join(dir, name+tmpSuffix)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return marker{}, fmt.Errorf("write marker: %w", err)
	}
	if err := writeSynced(tmp, buf.Bytes()); err != nil {
		return marker{}, fmt.Errorf("write marker %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return marker{}, fmt.Errorf("write marker: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return marker{}, fmt.Errorf("write marker: %w", err)
	}
	return marker{path: path, created: created}, nil
}

func writeSynced(path string, b []byte) (err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	if _, err := f.Write(b); err != nil {
		return err
	}
	return f.Sync()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// listMarkers returns the complete marker files in dir, oldest first, and removes leftover
// temporary files: a crash interrupted their writing, before any index entry they name was
// removed, so they are not needed.
func listMarkers(dir string) ([]marker, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list markers: %w", err)
	}
	var out []marker
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, tmpSuffix) {
			if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("remove unfinished marker: %w", err)
			}
			continue
		}
		base, ok := strings.CutSuffix(name, markerSuffix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		stamp, _, _ := strings.Cut(base, "-")
		ns, err := strconv.ParseInt(stamp, 10, 64)
		if err != nil {
			continue // not ours
		}
		out = append(out, marker{path: filepath.Join(dir, name), created: time.Unix(0, ns)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

// readMarker returns the chunk keys of a marker file.
func readMarker(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read marker: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	if !sc.Scan() || sc.Text() != markerHeader {
		return nil, fmt.Errorf("read marker %s: not a marker file (want first line %q)", path, markerHeader)
	}
	var keys []string
	for sc.Scan() {
		if k := sc.Text(); k != "" {
			keys = append(keys, k)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read marker %s: %w", path, err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		return nil, fmt.Errorf("read marker %s: truncated (no final newline)", path)
	}
	return keys, nil
}
