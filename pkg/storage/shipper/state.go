package shipper

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/sluicelog/sluice/pkg/index"
)

// stateFile is the name, in the active index directory, of the record of uploads. It lives
// beside the tables it describes, so losing the directory loses both together.
const stateFile = "shipper_state.json"

// uploaded is what the Uploader knows of a table's last upload: the file's size and
// modification time when the snapshot was taken (a table whose file did not change since is not
// looked at again) and the snapshot's version.
type uploaded struct {
	Size    int64         `json:"size"`
	ModTime time.Time     `json:"mod_time"`
	Version index.Version `json:"version"`
}

// loadState reads the state file in dir; a missing file is an empty state.
func loadState(dir string) (map[string]uploaded, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]uploaded{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read shipper state: %w", err)
	}
	st := map[string]uploaded{}
	if err := json.Unmarshal(b, &st); err != nil {
		// The state only saves work: without it every table is merged and uploaded again.
		return map[string]uploaded{}, nil
	}
	return st, nil
}

// saveState replaces the state file in dir atomically.
func saveState(dir string, st map[string]uploaded) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode shipper state: %w", err)
	}
	tmp := filepath.Join(dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o640); err != nil {
		return fmt.Errorf("write shipper state: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, stateFile)); err != nil {
		return fmt.Errorf("write shipper state: %w", err)
	}
	return nil
}
