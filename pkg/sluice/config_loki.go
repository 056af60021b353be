package sluice

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// A Loki configuration file carries settings that mean nothing to Sluice: gRPC ports, the
// hash ring, the schema of Loki's index, the pieces of Loki's query path that Sluice runs in
// one process. Sluice accepts them, so that a Loki file loads unchanged, ignores them, and
// says so at start (Config.IgnoredLokiSettings). Settings whose loss would change what the
// user gets are not among them: a ruler section (alerts that would never fire) is still an
// error, and so is replication the server cannot give.

// LokiOnlyConfig holds the top-level Loki sections Sluice accepts and ignores.
type LokiOnlyConfig struct {
	SchemaConfig    yaml.Node `yaml:"schema_config,omitempty"`
	Memberlist      yaml.Node `yaml:"memberlist,omitempty"`
	Frontend        yaml.Node `yaml:"frontend,omitempty"`
	FrontendWorker  yaml.Node `yaml:"frontend_worker,omitempty"`
	QueryScheduler  yaml.Node `yaml:"query_scheduler,omitempty"`
	IngesterClient  yaml.Node `yaml:"ingester_client,omitempty"`
	PatternIngester yaml.Node `yaml:"pattern_ingester,omitempty"`
	Analytics       yaml.Node `yaml:"analytics,omitempty"`
	Tracing         yaml.Node `yaml:"tracing,omitempty"`
	// Ruler is read only to refuse it with a clear reason: rules that are never evaluated
	// must not pass unnoticed.
	Ruler yaml.Node `yaml:"ruler,omitempty"`
}

// lokiOnlyReasons says why each accepted Loki setting is ignored, by its YAML path.
var lokiOnlyReasons = map[string]string{
	"schema_config":             "Sluice has one chunk and index format; the object store is chosen by storage_config",
	"memberlist":                "Sluice has no hash ring",
	"frontend":                  "Sluice's query frontend runs in the querier's process, configured by query_range",
	"frontend_worker":           "Sluice's query frontend runs in the querier's process",
	"query_scheduler":           "Sluice's query frontend runs in the querier's process",
	"ingester_client":           "Sluice's processes talk over HTTP",
	"pattern_ingester":          "Sluice computes patterns at query time",
	"analytics":                 "Sluice reports no usage statistics",
	"tracing":                   "Sluice does not export traces",
	"server.grpc_*":             "Sluice serves HTTP only",
	"common.instance_addr":      "Sluice has no hash ring",
	"common.ring":               "Sluice has no hash ring",
	"common.replication_factor": "Sluice does not replicate streams (1 is the only value accepted)",
	"limits_config.metric_aggregation_enabled": "Sluice computes patterns and aggregations at query time",
}

// IgnoredLokiSettings lists the Loki settings present in the configuration that Sluice
// accepts without acting on them, each with the reason, for a warning at start.
func (c *Config) IgnoredLokiSettings() []string {
	var out []string
	add := func(path, reasonKey string) {
		out = append(out, path+": "+lokiOnlyReasons[reasonKey])
	}
	lo := &c.LokiOnly
	for _, s := range []struct {
		name string
		node *yaml.Node
	}{
		{"schema_config", &lo.SchemaConfig}, {"memberlist", &lo.Memberlist}, {"frontend", &lo.Frontend},
		{"frontend_worker", &lo.FrontendWorker}, {"query_scheduler", &lo.QueryScheduler},
		{"ingester_client", &lo.IngesterClient}, {"pattern_ingester", &lo.PatternIngester},
		{"analytics", &lo.Analytics}, {"tracing", &lo.Tracing},
	} {
		if !s.node.IsZero() {
			add(s.name, s.name)
		}
	}
	keys := make([]string, 0, len(c.Server.LokiOnly))
	for k := range c.Server.LokiOnly {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if strings.HasPrefix(k, "grpc_") {
			add("server."+k, "server.grpc_*")
		}
	}
	if c.Common.InstanceAddr != "" {
		add("common.instance_addr", "common.instance_addr")
	}
	if !c.Common.Ring.IsZero() {
		add("common.ring", "common.ring")
	}
	if c.Common.ReplicationFactor != 0 {
		add("common.replication_factor", "common.replication_factor")
	}
	if c.Limits.MetricAggregationEnabled {
		add("limits_config.metric_aggregation_enabled", "limits_config.metric_aggregation_enabled")
	}
	return out
}

// validateLokiOnly rejects what Sluice cannot accept among the Loki-only settings.
func (c *Config) validateLokiOnly() []error {
	var errs []error
	for k := range c.Server.LokiOnly {
		if !strings.HasPrefix(k, "grpc_") {
			errs = append(errs, fmt.Errorf("server.%s: unknown setting", k))
		}
	}
	if !c.LokiOnly.Ruler.IsZero() {
		errs = append(errs, fmt.Errorf("ruler: Sluice has no ruler yet, so alerting and recording rules would never be evaluated; remove the section"))
	}
	if rf := c.Common.ReplicationFactor; rf < 0 || rf > 1 {
		errs = append(errs, fmt.Errorf("common.replication_factor: %d; Sluice does not replicate streams, so only 1 is accepted", rf))
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errs
}
