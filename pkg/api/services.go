package api

import (
	"fmt"
	"net/http"
)

// serviceNames are the parts of a Sluice process running everything, listed by /services as
// Loki lists its modules when Deps.Services is nil.
var serviceNames = []string{"compactor", "distributor", "ingester", "querier", "query-frontend", "runtime-config", "server", "store"}

// services serves /services: one "name => State" line per running service, in plain text, as
// Loki (dskit) prints it. States are Loki's: Starting, Running, Stopping.
func (a *API) services(w http.ResponseWriter, r *http.Request) {
	state := "Running"
	if a.d.Ready != nil && a.d.Ready() != nil {
		state = "Starting"
	}
	w.Header().Set("Content-Type", "text/plain")
	names := a.d.Services
	if names == nil {
		names = serviceNames
	}
	for _, name := range names {
		fmt.Fprintf(w, "%s => %s\n", name, state)
	}
}
