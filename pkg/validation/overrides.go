package validation

import (
	"sort"
	"sync/atomic"
)

// Overrides answers "what are tenant X's limits": the defaults, replaced per tenant by the
// runtime overrides when it has any. It is safe for concurrent use; SetTenantLimits swaps the
// whole per-tenant table at once (a reload of the overrides file).
type Overrides struct {
	defaults Limits
	tenants  atomic.Pointer[map[string]*Limits]
}

// NewOverrides returns Overrides with the given defaults and no per-tenant limits.
func NewOverrides(defaults Limits) *Overrides {
	o := &Overrides{defaults: defaults}
	o.tenants.Store(&map[string]*Limits{})
	return o
}

// SetTenantLimits replaces every tenant's overrides.
func (o *Overrides) SetTenantLimits(m map[string]*Limits) {
	o.tenants.Store(&m)
}

// Tenants returns the tenants that have overrides, sorted.
func (o *Overrides) Tenants() []string {
	m := *o.tenants.Load()
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Defaults returns the limits of tenants without overrides.
func (o *Overrides) Defaults() *Limits { return &o.defaults }

// For returns tenant's limits. The result must not be modified.
func (o *Overrides) For(tenant string) *Limits {
	if l, ok := (*o.tenants.Load())[tenant]; ok {
		return l
	}
	return &o.defaults
}
