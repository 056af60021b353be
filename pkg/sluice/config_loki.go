package sluice

import (
	"fmt"
	"maps"
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

// Why Sluice ignores the Loki settings it accepts.
const (
	noRing        = "Sluice has no hash ring"
	inProcessPath = "Sluice's query frontend runs in the querier's process, configured by query_range"
	atQueryTime   = "Sluice computes patterns at query time"
)

// IgnoredLokiSettings lists the Loki settings present in the configuration that Sluice
// accepts without acting on them, each as "setting: reason", for a warning at start.
func (c *Config) IgnoredLokiSettings() []string {
	lo := &c.LokiOnly
	settings := []struct {
		name   string
		set    bool
		reason string
	}{
		{"schema_config", !lo.SchemaConfig.IsZero(), "Sluice has one chunk and index format; the object store is chosen by storage_config"},
		{"memberlist", !lo.Memberlist.IsZero(), noRing},
		{"frontend", !lo.Frontend.IsZero(), inProcessPath},
		{"frontend_worker", !lo.FrontendWorker.IsZero(), inProcessPath},
		{"query_scheduler", !lo.QueryScheduler.IsZero(), inProcessPath},
		{"ingester_client", !lo.IngesterClient.IsZero(), "Sluice's processes talk over HTTP"},
		{"pattern_ingester", !lo.PatternIngester.IsZero(), atQueryTime},
		{"analytics", !lo.Analytics.IsZero(), "Sluice reports no usage statistics"},
		{"tracing", !lo.Tracing.IsZero(), "Sluice does not export traces"},
		{"common.instance_addr", c.Common.InstanceAddr != "", noRing},
		{"common.ring", !c.Common.Ring.IsZero(), noRing},
		{"common.replication_factor", c.Common.ReplicationFactor != 0, "Sluice does not replicate streams (1 is the only value accepted)"},
		{"limits_config.metric_aggregation_enabled", c.Limits.MetricAggregationEnabled, atQueryTime},
	}
	var out []string
	for _, s := range settings {
		if s.set {
			out = append(out, s.name+": "+s.reason)
		}
	}
	keys := slices.Sorted(maps.Keys(c.Server.LokiOnly))
	for _, k := range keys {
		if strings.HasPrefix(k, "grpc_") {
			out = append(out, "server."+k+": Sluice serves HTTP only")
		}
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
