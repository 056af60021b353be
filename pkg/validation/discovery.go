package validation

import (
	"flag"

	"github.com/sluicelog/sluice/pkg/flagext"
)

// DefaultDiscoverServiceName is Loki's default discover_service_name: the labels whose value
// becomes a stream's service_name, first present first.
var DefaultDiscoverServiceName = []string{
	"service", "app", "application", "app_name", "name", "app_kubernetes_io_name",
	"container", "container_name", "k8s_container_name", "component", "workload", "job", "k8s_job_name",
}

// DefaultLogLevelFields is Loki's default log_level_fields: the label, structured metadata and
// JSON or logfmt field names an entry's level is read from. An empty log_level_fields means
// this list too, as in Loki.
var DefaultLogLevelFields = []string{
	"level", "LEVEL", "Level", "log.level", "severity", "SEVERITY", "Severity", "SeverityText",
	"lvl", "LVL", "Lvl", "severity_text", "Severity_Text", "SEVERITY_TEXT",
}

// registerDiscoveryFlags registers the limits of Loki 3's push enrichment: the service_name
// label and the detected_level structured metadata. The flag names and defaults are Loki's.
func (l *Limits) registerDiscoveryFlags(fs *flag.FlagSet) {
	l.DiscoverServiceName = flagext.Strings(append([]string(nil), DefaultDiscoverServiceName...))
	fs.Var(&l.DiscoverServiceName, "validation.discover-service-name", "Comma-separated labels whose value is copied to service_name when a stream has none, first present first; unknown_service when none is present. Empty disables.")
	fs.BoolVar(&l.DiscoverLogLevels, "validation.discover-log-levels", true, "Add a detected_level structured metadata to entries that have none (needs allow_structured_metadata).")
	l.LogLevelFields = flagext.Strings(append([]string(nil), DefaultLogLevelFields...))
	fs.Var(&l.LogLevelFields, "validation.log-level-fields", "Comma-separated label and field names an entry's level is read from; empty means the default list.")
	fs.IntVar(&l.LogLevelFromJSONMaxDepth, "validation.log-level-from-json-max-depth", 2, "How many levels of nested JSON objects are searched for a level field; 0 or less searches all.")
}

// LevelFields returns the field names level discovery reads: log_level_fields, or Loki's
// default list when it is empty.
func (l *Limits) LevelFields() []string {
	if len(l.LogLevelFields) == 0 {
		return DefaultLogLevelFields
	}
	return l.LogLevelFields
}
