package deletion

import (
	"net/http"

	"github.com/sluicelog/sluice/pkg/tenant"
	"github.com/sluicelog/sluice/pkg/validation"
)

// Limits gives a tenant's limits (validation.Overrides); the deletion API reads deletion_mode.
type Limits interface {
	For(tenant string) *validation.Limits
}

// SetLimits makes the deletion API served over the store (Handler) refuse the tenants whose
// deletion_mode is disabled, as Loki does: 403 "deletion is not available for this tenant".
// The compactor sets it from the tenants' limits (compactor.New); without it every tenant may
// use the API. Call it before serving.
func (s *Store) SetLimits(l Limits) { s.limits.Store(&l) }

// deletionEnabled reports whether tenant may use the deletion API.
func (s *Store) deletionEnabled(tenant string) bool {
	l := s.limits.Load()
	return l == nil || (*l).For(tenant).DeletionEnabled()
}

// deletionNotAvailable is Loki's answer to a tenant whose deletion_mode is disabled.
const deletionNotAvailable = "deletion is not available for this tenant"

// enabled serves next to the tenants that may use the deletion API.
func (h *Handler) enabled(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := tenant.From(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if !h.store.deletionEnabled(id) {
			http.Error(w, deletionNotAvailable, http.StatusForbidden)
			return
		}
		next(w, r)
	})
}
