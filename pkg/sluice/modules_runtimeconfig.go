package sluice

import (
	"net/http"

	"github.com/sluicelog/sluice/pkg/runtimeconfig"
)

// initRuntimeConfig loads the per-tenant overrides file and keeps reloading it.
func (s *Sluice) initRuntimeConfig() error {
	m, err := runtimeconfig.New(s.cfg.RuntimeConfig, s.overrides, s.logger.With("component", "runtime-config"), s.reg)
	if err != nil {
		return err
	}
	s.runners = append(s.runners, m.Run)
	s.routes = append(s.routes, route{"GET /runtime_config", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := m.YAML()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(b)
	}), false})
	return nil
}
