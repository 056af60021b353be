package shipper

import (
	"strconv"
	"strings"

	"github.com/sluicelog/sluice/pkg/index"
)

// keyPrefix starts every shipped table's key.
const keyPrefix = "index/"

// tableKey is the object key of the table of tenant and day uploaded by the ingester name:
// index/<day>/<tenant>/<name>.db.
func tableKey(day int64, tenant, name string) string {
	return keyPrefix + strconv.FormatInt(day, 10) + "/" + tenant + "/" + name + ".db"
}

// shipped is one shipped table, as its key names it.
type shipped struct {
	key    string
	day    int64
	tenant string
	name   string
}

// parseKey parses a key tableKey made; other keys give false.
func parseKey(key string) (shipped, bool) {
	rest, ok := strings.CutPrefix(key, keyPrefix)
	if !ok {
		return shipped{}, false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 {
		return shipped{}, false
	}
	day, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || strconv.FormatInt(day, 10) != parts[0] {
		return shipped{}, false
	}
	name, ok := strings.CutSuffix(parts[2], ".db")
	if !ok || checkName(name) != nil || index.ValidateTenant(parts[1]) != nil {
		return shipped{}, false
	}
	return shipped{key: key, day: day, tenant: parts[1], name: name}, true
}

// tableID names a table by tenant and day.
type tableID struct {
	tenant string
	day    int64
}

func (id tableID) String() string { return id.tenant + "/" + strconv.FormatInt(id.day, 10) }
