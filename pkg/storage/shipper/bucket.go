package shipper

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sluicelog/sluice/pkg/index"
	"github.com/sluicelog/sluice/pkg/storage"
)

// This file is the compactor's view of the shipped tables: listing them straight from the
// bucket, downloading and checking one, and naming a merged table.

// Shipped names one table file in the bucket: index/<Day>/<Tenant>/<Name>.db.
type Shipped struct {
	Key    string
	Day    int64
	Tenant string
	// Name is the uploader's name: an ingester's, or CompactedPrefix and a time for a table a
	// compactor merged.
	Name string
}

// CompactedPrefix starts the name of a table a compactor merged from the shipped tables of one
// tenant and day.
const CompactedPrefix = "compactor-"

// Compacted reports whether a compactor wrote the table.
func (s Shipped) Compacted() bool { return strings.HasPrefix(s.Name, CompactedPrefix) }

// CompactedKey returns the key of a table merged at t: index/<day>/<tenant>/compactor-<unix ns>.db.
func CompactedKey(day int64, tenant string, t time.Time) string {
	return tableKey(day, tenant, CompactedPrefix+strconv.FormatInt(t.UnixNano(), 10))
}

// ListShipped lists the shipped tables in objects, in key order. Keys under index/ that are not
// table keys are left out. With a tenant, only that tenant's tables of day are listed.
func ListShipped(ctx context.Context, objects storage.ObjectClient, tenant string, day int64) ([]Shipped, error) {
	prefix := keyPrefix
	if tenant != "" {
		prefix += strconv.FormatInt(day, 10) + "/" + tenant + "/"
	}
	keys, err := objects.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("list shipped index tables under %s: %w", prefix, err)
	}
	out := make([]Shipped, 0, len(keys))
	for _, k := range keys {
		if s, ok := parseKey(k); ok {
			out = append(out, Shipped{Key: s.key, Day: s.day, Tenant: s.tenant, Name: s.name})
		}
	}
	return out, nil
}

// FetchShipped downloads the shipped table s into a new file in dir, checks it (every page, and
// that it holds the tenant and day its key names) and opens it read-only. The caller closes the
// table and removes its file (Table.Path). A missing object gives an error wrapping
// storage.ErrNotFound; a damaged table one wrapping index.ErrCorrupt.
func FetchShipped(ctx context.Context, objects storage.ObjectClient, s Shipped, dir string) (*index.Table, error) {
	path, err := fetchTable(ctx, objects, s.Key, dir)
	if err != nil {
		return nil, fmt.Errorf("fetch shipped index table %s: %w", s.Key, err)
	}
	t, err := openChecked(path, tableID{s.Tenant, s.Day})
	if err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("fetch shipped index table %s: %w", s.Key, err)
	}
	return t, nil
}
