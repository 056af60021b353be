package index

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// TableFile names one table file under an index directory.
type TableFile struct {
	Tenant string
	Day    int64
	// Path is the file's path: <dir>/<tenant>/index_<day>.db.
	Path string
}

// TablePath returns the path of the table of tenant and day under dir.
func TablePath(dir, tenant string, day int64) string {
	return filepath.Join(dir, tenant, tableFileName(day))
}

func tableFileName(day int64) string { return "index_" + strconv.FormatInt(day, 10) + ".db" }

// parseTableFileName returns the day of a table file name, and false for any other name.
func parseTableFileName(name string) (int64, bool) {
	s, ok := strings.CutPrefix(name, "index_")
	if !ok {
		return 0, false
	}
	if s, ok = strings.CutSuffix(s, ".db"); !ok {
		return 0, false
	}
	day, err := strconv.ParseInt(s, 10, 64)
	if err != nil || tableFileName(day) != name {
		return 0, false
	}
	return day, true
}

// ListTables returns the table files under dir, sorted by tenant and day. Other files and
// directories whose names are not valid tenant IDs are ignored. A missing dir has no tables.
func ListTables(dir string) ([]TableFile, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list index tables in %s: %w", dir, err)
	}
	var out []TableFile
	for _, e := range entries {
		if !e.IsDir() || ValidateTenant(e.Name()) != nil {
			continue
		}
		days, err := tenantDays(dir, e.Name())
		if err != nil {
			return nil, err
		}
		for _, d := range days {
			out = append(out, TableFile{Tenant: e.Name(), Day: d, Path: TablePath(dir, e.Name(), d)})
		}
	}
	return out, nil
}

// tenantDays returns the sorted days of the tenant's table files under dir.
func tenantDays(dir, tenant string) ([]int64, error) {
	entries, err := os.ReadDir(filepath.Join(dir, tenant))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list index tables of tenant %s: %w", tenant, err)
	}
	var days []int64
	for _, e := range entries {
		if day, ok := parseTableFileName(e.Name()); ok && e.Type().IsRegular() {
			days = append(days, day)
		}
	}
	slices.Sort(days)
	return days, nil
}
