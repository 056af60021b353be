// Package api serves Loki's HTTP API: push, queries, labels and series, and the operational
// endpoints (/ready, /metrics, /config, /flush, buildinfo), with Loki's paths, parameters and
// JSON shapes, plus the legacy /api/prom aliases.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/build"
	"github.com/sluicelog/sluice/pkg/distributor"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql"
	"github.com/sluicelog/sluice/pkg/push"
	"github.com/sluicelog/sluice/pkg/push/otlp"
	"github.com/sluicelog/sluice/pkg/tenant"
	"github.com/sluicelog/sluice/pkg/validation"
)

// Pusher takes decoded pushes (the distributor).
type Pusher interface {
	Push(ctx context.Context, tenant string, req *logproto.PushRequest) error
}

// Reader answers label and series look-ups (the querier).
type Reader interface {
	Series(ctx context.Context, from, through int64, ms []*labels.Matcher) ([]labels.Labels, error)
	LabelNames(ctx context.Context, from, through int64, ms []*labels.Matcher) ([]string, error)
	LabelValues(ctx context.Context, name string, from, through int64, ms []*labels.Matcher) ([]string, error)
}

// Limits gives a tenant's limits (validation.Overrides).
type Limits interface {
	For(tenant string) *validation.Limits
}

// Flusher flushes the ingester's chunks (POST /flush).
type Flusher interface {
	Flush(ctx context.Context) error
}

// Deps are what the API serves from. A process that runs only some modules leaves the others'
// dependencies nil, and their routes are not served (404): Pusher nil, no push routes; Engine
// nil, no query, label, series, index, pattern or tail routes; Flusher nil, no /flush.
type Deps struct {
	Pusher  Pusher
	Reader  Reader
	Engine  Engine
	Flusher Flusher
	// Index answers /index/stats and /index/volume; nil takes Reader when it implements it.
	Index IndexReader
	// Limits are the tenants' limits of the volume endpoints (volume_enabled,
	// volume_max_series); nil applies none.
	Limits Limits
	// Logs streams raw entries for /patterns; nil takes Reader when it implements it.
	Logs   logql.Querier
	Tailer Tailer // live tails (/tail); nil answers 404
	// Ingester serves this process's in-memory streams to the queriers of other processes
	// (the internal /ingester/select_logs and /ingester/series routes); nil, not served.
	Ingester    IngesterReader
	AuthEnabled bool
	// MaxPushBytes bounds a push body, compressed and decompressed (Loki's
	// distributor max_recv_msg_size, 100 MB by default).
	MaxPushBytes int64
	// OTLP returns how the OTLP endpoint maps a tenant's pushes (its otlp_config and
	// discover_service_name, the default index labels); nil maps as Loki's defaults.
	OTLP func(tenant string) otlp.Config
	// ConfigYAML renders the effective configuration for GET /config.
	ConfigYAML func() ([]byte, error)
	// Ready reports whether the server takes traffic (nil means always).
	Ready    func() error
	Gatherer prometheus.Gatherer
	Registry prometheus.Registerer
	Logger   *slog.Logger
	Now      func() time.Time
	// Services are the names /services lists; nil lists those of a process running everything.
	Services []string
}

// API holds the handlers.
type API struct {
	d       Deps
	metrics *metrics
	extra   []extraRoute
}

type extraRoute struct {
	pattern string
	h       http.Handler
	tenant  bool
}

// Handle registers a route served by another module (the compactor's deletion API, say).
// With tenantScoped the request's tenant is put in its context first, as for Loki's own routes.
// Call it before Handler.
func (a *API) Handle(pattern string, h http.Handler, tenantScoped bool) {
	a.extra = append(a.extra, extraRoute{pattern, h, tenantScoped})
}

// New returns the API over d.
func New(d Deps) *API {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Index == nil {
		d.Index, _ = d.Reader.(IndexReader)
	}
	if d.Logs == nil {
		d.Logs, _ = d.Reader.(logql.Querier)
	}
	if d.MaxPushBytes == 0 {
		d.MaxPushBytes = 100 << 20
	}
	return &API{d: d, metrics: newMetrics(d.Registry)}
}

// Handler returns the router with every endpoint.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	t := func(h http.HandlerFunc) http.Handler { return tenant.Middleware(a.d.AuthEnabled, h) }
	route := func(path string, h http.Handler, names ...string) {
		mux.Handle(path, a.instrument(path, h))
		for _, n := range names {
			mux.Handle(n, a.instrument(path, h))
		}
	}
	if a.d.Pusher != nil {
		route("POST /loki/api/v1/push", t(a.push), "POST /api/prom/push")
		route("POST /otlp/v1/logs", t(a.otlpPush))
	}
	if a.d.Engine != nil {
		route("/loki/api/v1/query_range", t(a.queryRange))
		route("/loki/api/v1/query", t(a.query))
		route("/api/prom/query", t(a.legacyQuery))
		route("/loki/api/v1/labels", t(a.labelNames), "/loki/api/v1/label")
		route("/loki/api/v1/label/{name}/values", t(a.labelValues))
		route("/api/prom/label", t(a.legacyLabelNames))
		route("/api/prom/label/{name}/values", t(a.legacyLabelValues))
		route("/loki/api/v1/series", t(a.series), "/api/prom/series")
		route("GET /loki/api/v1/tail", t(a.tail), "GET /api/prom/tail")
		route("/loki/api/v1/index/stats", t(a.indexStats))
		route("/loki/api/v1/index/volume", t(a.volume))
		route("/loki/api/v1/index/volume_range", t(a.volumeRange))
		route("/loki/api/v1/detected_labels", t(a.detectedLabels))
		route("/loki/api/v1/detected_fields", t(a.detectedFields))
		route("/loki/api/v1/detected_field/{name}/values", t(a.detectedFieldValues))
		route("/loki/api/v1/patterns", t(a.patterns))
		route("/loki/api/v1/format_query", http.HandlerFunc(a.formatQuery))
	}
	route("GET /services", http.HandlerFunc(a.services))
	route("GET /loki/api/v1/status/buildinfo", http.HandlerFunc(a.buildInfo))
	if a.d.Flusher != nil {
		route("POST /flush", http.HandlerFunc(a.flush), "POST /ingester/flush")
	}
	if a.d.Ingester != nil {
		route("POST /ingester/select_logs", t(a.ingesterSelectLogs))
		route("POST /ingester/series", t(a.ingesterSeries))
	}
	route("GET /ready", http.HandlerFunc(a.ready))
	route("GET /config", http.HandlerFunc(a.config))
	for _, r := range a.extra {
		h := r.h
		if r.tenant {
			h = tenant.Middleware(a.d.AuthEnabled, h)
		}
		route(r.pattern, h)
	}
	// Go's profiler, as Loki serves it.
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	if a.d.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(a.d.Gatherer, promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "404 page not found: "+r.URL.Path, http.StatusNotFound)
	})
	return mux
}

// writeJSON writes v with status 200.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// writeError answers err with Loki's status code and a one-line plain-text reason.
func (a *API) writeError(w http.ResponseWriter, err error) {
	status := a.errorStatus(err)
	http.Error(w, err.Error(), status)
}

// errorStatus returns the HTTP status Loki answers err with, logging the errors that are the
// server's (5xx).
func (a *API) errorStatus(err error) int {
	status := http.StatusInternalServerError
	var pe *paramError
	var de *distributor.Error
	var se interface{ StatusCode() int }
	switch {
	case errors.As(err, &de):
		status = de.Status
	case errors.As(err, &pe):
		status = http.StatusBadRequest
	case errors.As(err, &se):
		status = se.StatusCode()
	case errors.Is(err, push.ErrTooLarge):
		status = http.StatusRequestEntityTooLarge
	case errors.Is(err, push.ErrMalformed):
		status = http.StatusBadRequest
	case errors.Is(err, push.ErrUnsupported):
		status = http.StatusUnsupportedMediaType
	case errors.Is(err, tenant.ErrNoTenant):
		status = http.StatusUnauthorized
	case errors.Is(err, context.Canceled):
		status = 499 // client closed the request, as Loki reports it
	case errors.Is(err, context.DeadlineExceeded):
		status = http.StatusGatewayTimeout
	}
	if status >= 500 {
		a.d.Logger.Error("request failed", "err", err)
	}
	return status
}

func (a *API) push(w http.ResponseWriter, r *http.Request) {
	id, _ := tenant.From(r.Context())
	r.Body = http.MaxBytesReader(w, r.Body, a.d.MaxPushBytes)
	body, err := push.Decode(r, a.d.MaxPushBytes)
	if err != nil {
		a.writeError(w, err)
		return
	}
	// The pushers copy what they keep (chunks, WAL records, tails), so the body's pooled
	// memory can go back once Push returns.
	defer body.Release()
	if err := a.d.Pusher.Push(r.Context(), id, &body.Request); err != nil {
		a.writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) buildInfo(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, build.Get())
}

func (a *API) flush(w http.ResponseWriter, r *http.Request) {
	if a.d.Flusher == nil {
		http.Error(w, "no ingester in this process", http.StatusNotFound)
		return
	}
	if err := a.d.Flusher.Flush(r.Context()); err != nil {
		a.writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) ready(w http.ResponseWriter, r *http.Request) {
	if a.d.Ready != nil {
		if err := a.d.Ready(); err != nil {
			http.Error(w, "Not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	w.Write([]byte("ready\n"))
}

func (a *API) config(w http.ResponseWriter, r *http.Request) {
	if a.d.ConfigYAML == nil {
		http.Error(w, "no configuration", http.StatusNotFound)
		return
	}
	b, err := a.d.ConfigYAML()
	if err != nil {
		a.writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(b)
}
