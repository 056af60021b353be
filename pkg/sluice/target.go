package sluice

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Modules a process can run, with Loki's names. The target (-target, comma-separated) names
// modules and groups of them; a process builds only what its target needs.
const (
	Distributor   = "distributor"
	Ingester      = "ingester"
	Querier       = "querier"
	QueryFrontend = "query-frontend"
	Compactor     = "compactor"
)

// modules lists every module in the order /services prints them.
var modules = []string{Compactor, Distributor, Ingester, Querier, QueryFrontend}

// groups are Loki's targets that name several modules. Loki's backend also holds the index
// gateway, query scheduler and ruler, which Sluice does not have.
var groups = map[string][]string{
	"all":     modules,
	"write":   {Distributor, Ingester},
	"read":    {Querier, QueryFrontend},
	"backend": {Compactor},
}

// moduleSet is the set of modules a process runs.
type moduleSet map[string]bool

// Has reports whether m holds the module name.
func (m moduleSet) Has(name string) bool { return m[name] }

// All reports whether m holds every module (-target=all or an equivalent list).
func (m moduleSet) All() bool {
	for _, name := range modules {
		if !m[name] {
			return false
		}
	}
	return true
}

// Names returns the modules, sorted.
func (m moduleSet) Names() []string {
	var out []string
	for _, name := range modules {
		if m[name] {
			out = append(out, name)
		}
	}
	return out
}

// parseTarget returns the modules of target: module and group names separated by commas.
func parseTarget(target string) (moduleSet, error) {
	m := moduleSet{}
	for _, part := range strings.Split(target, ",") {
		name := strings.TrimSpace(part)
		switch {
		case name == "":
			return nil, fmt.Errorf("target: %q has an empty name; give module or group names separated by commas", target)
		case groups[name] != nil:
			for _, mod := range groups[name] {
				m[mod] = true
			}
		case slices.Contains(modules, name):
			m[name] = true
		default:
			return nil, fmt.Errorf("target: unknown name %q; use all, write, read, backend or modules among %s", name, strings.Join(modules, ", "))
		}
	}
	return m, nil
}

// validateTarget checks that one process can serve the target's modules on its own, and that a
// process running only part of Sluice shares its state with the others through S3.
func (c *Config) validateTarget() error {
	m, err := parseTarget(c.Target)
	if err != nil {
		return err
	}
	var errs []error
	// Sluice has no gRPC between modules: a distributor sends pushes to the ingester of its own
	// process, and a query frontend to the querier of its own process.
	if m.Has(Distributor) && !m.Has(Ingester) {
		errs = append(errs, fmt.Errorf("target: %q runs a distributor without an ingester; Sluice's distributor has no remote ingesters, so run them together (target=write)", c.Target))
	}
	if m.Has(Ingester) && !m.Has(Distributor) {
		errs = append(errs, fmt.Errorf("target: %q runs an ingester without a distributor, so nothing could push to it; run them together (target=write)", c.Target))
	}
	if m.Has(QueryFrontend) && !m.Has(Querier) {
		errs = append(errs, fmt.Errorf("target: %q runs a query frontend without a querier; Sluice has no remote queriers, so run them together (target=read)", c.Target))
	}
	if m.Has(Ingester) && len(c.Querier.IngesterAddresses) > 0 {
		errs = append(errs, fmt.Errorf("querier.ingester_addresses: must be empty when the target (%q) runs an ingester; its querier reads that one", c.Target))
	}
	if !m.All() {
		if _, useS3 := c.objectStore(); !useS3 {
			errs = append(errs, fmt.Errorf("target: %q runs only part of Sluice, which needs an object store every process shares: configure S3 (storage_config.aws or common.storage.s3), or run target=all with the filesystem store", c.Target))
		}
	}
	return errors.Join(errs...)
}
