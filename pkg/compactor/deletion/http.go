package deletion

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicelog/sluice/pkg/tenant"
)

// Handler serves Loki's deletion API over a Store:
//
//	POST|PUT /loki/api/v1/delete?query=…&start=…&end=…   create (204)
//	GET      /loki/api/v1/delete                          list (JSON)
//	DELETE   /loki/api/v1/delete?request_id=…[&force=true] cancel (204)
//	GET      /loki/api/v1/cache/generation_numbers        the tenant's cache generation (JSON string)
//
// The tenant comes from the request's context (the API's tenant middleware puts it there).
type Handler struct {
	store        *Store
	cancelPeriod time.Duration
	now          func() time.Time
	logger       *slog.Logger
	received     *prometheus.CounterVec
}

// NewHandler returns the API over store. A request can be cancelled for cancelPeriod after it
// was created. now is the clock (time.Now when nil); reg may be nil.
func NewHandler(store *Store, cancelPeriod time.Duration, now func() time.Time, logger *slog.Logger, reg prometheus.Registerer) *Handler {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{
		store: store, cancelPeriod: cancelPeriod, now: now, logger: logger,
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loki_compactor_delete_requests_received_total",
			Help: "Number of delete requests received per user.",
		}, []string{"user"}),
	}
	if reg != nil {
		reg.MustRegister(h.received)
	}
	return h
}

// Route is one endpoint of the API.
type Route struct {
	Pattern string // a net/http.ServeMux pattern with its method
	Handler http.Handler
}

// Routes returns the API's endpoints; they need the tenant in the request context. A tenant
// whose deletion_mode is disabled gets 403 from each (see Store.SetLimits).
func (h *Handler) Routes() []Route {
	const path = "/loki/api/v1/delete"
	return []Route{
		{"POST " + path, h.enabled(h.Add)},
		{"PUT " + path, h.enabled(h.Add)},
		{"GET " + path, h.enabled(h.List)},
		{"DELETE " + path, h.enabled(h.Cancel)},
		{"GET /loki/api/v1/cache/generation_numbers", h.enabled(h.CacheGeneration)},
	}
}

// Add creates a delete request.
func (h *Handler) Add(w http.ResponseWriter, r *http.Request) {
	id, err := tenant.From(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	params := r.URL.Query()
	query := params.Get("query")
	if query == "" {
		http.Error(w, "query not set", http.StatusBadRequest)
		return
	}
	sel, err := parseQuery(query)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	now := h.now()
	if params.Get("start") == "" {
		http.Error(w, "start time not set", http.StatusBadRequest)
		return
	}
	start, err := parseTime(params.Get("start"), now)
	if err != nil {
		http.Error(w, "invalid start time: require unix seconds or RFC3339 format", http.StatusBadRequest)
		return
	}
	end, err := parseTime(params.Get("end"), now)
	if err != nil {
		http.Error(w, "invalid end time: require unix seconds or RFC3339 format", http.StatusBadRequest)
		return
	}
	if end > now.UnixMilli() {
		http.Error(w, "deletes in the future are not allowed", http.StatusBadRequest)
		return
	}
	if start > end {
		http.Error(w, "start time can't be greater than end time", http.StatusBadRequest)
		return
	}
	if sel.filter != nil && end-start < 1000 {
		http.Error(w, "difference between start time and end time must be at least one second", http.StatusBadRequest)
		return
	}
	// For the compactor's store, Add returns only once the request is in the object store.
	req, err := h.store.Add(r.Context(), id, query, start, end)
	if err != nil {
		h.logger.Error("add delete request", "tenant", id, "err", err)
		http.Error(w, err.Error(), statusOf(err))
		return
	}
	h.logger.Info("delete request for user added", "delete_request_id", req.RequestID, "user", id, "query", query)
	h.received.WithLabelValues(id).Inc()
	w.WriteHeader(http.StatusNoContent)
}

// parseTime reads a delete request's time as Loki does: RFC 3339, or Unix seconds written with
// exactly 10 characters; empty means now. It returns Unix milliseconds.
func parseTime(s string, now time.Time) (int64, error) {
	if s == "" {
		return now.UnixMilli(), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UnixMilli(), nil
	}
	if len(s) != 10 {
		return 0, errors.New("not unix seconds")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errors.New("not unix seconds")
	}
	sec, frac := math.Modf(f)
	return int64(sec)*1000 + int64(math.Round(frac*1000)), nil
}

// apiTime is a time in Unix milliseconds that JSON renders as Loki does (Prometheus's
// model.Time): seconds as a number, with the milliseconds as decimals when there are any.
type apiTime int64

func (t apiTime) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(t)/1000, 'f', -1, 64), nil
}

// listItem is one element of the list response, with Loki's field names.
type listItem struct {
	RequestID string  `json:"request_id"`
	StartTime apiTime `json:"start_time"`
	EndTime   apiTime `json:"end_time"`
	Query     string  `json:"query"`
	Status    string  `json:"status"`
	CreatedAt apiTime `json:"created_at"`
}

// List answers the tenant's requests, processed or not, oldest first.
func (h *Handler) List(w http.ResponseWriter, r *http.Request) {
	id, err := tenant.From(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	reqs := h.store.List(id)
	out := make([]listItem, 0, len(reqs)) // [] rather than null when empty, as Loki
	for _, q := range reqs {
		out = append(out, listItem{q.RequestID, apiTime(q.Start), apiTime(q.End), q.Query, q.Status, apiTime(q.CreatedAt)})
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		h.logger.Warn("write delete requests", "err", err)
	}
}

// Cancel removes a request that has not been processed. Past the cancel period the compactor
// may be applying it, so cancelling then needs force=true (what was deleted stays deleted).
func (h *Handler) Cancel(w http.ResponseWriter, r *http.Request) {
	id, err := tenant.From(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	params := r.URL.Query()
	reqID := params.Get("request_id")
	req, err := h.store.Get(id, reqID)
	if errors.Is(err, ErrNotFound) {
		http.Error(w, ErrNotFound.Error(), http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if req.Status != StatusReceived {
		http.Error(w, "deletion of request which is in process or already processed is not allowed", http.StatusBadRequest)
		return
	}
	deadline := time.UnixMilli(req.CreatedAt).Add(h.cancelPeriod)
	if deadline.Before(h.now()) && !forced(params) {
		http.Error(w, fmt.Sprintf("deletion of request past the deadline of %s since its creation is not allowed", h.cancelPeriod), http.StatusBadRequest)
		return
	}
	if err := h.store.Remove(r.Context(), id, reqID); err != nil {
		if !errors.Is(err, ErrNotFound) {
			h.logger.Error("cancel delete request", "tenant", id, "delete_request_id", reqID, "err", err)
		}
		http.Error(w, err.Error(), statusOf(err))
		return
	}
	h.logger.Info("delete request cancelled", "delete_request_id", reqID, "user", id)
	w.WriteHeader(http.StatusNoContent)
}

// statusOf is the HTTP status of a store error: 404 for an unknown request, 503 while the
// store cannot take changes (its object store was not reachable yet), 500 otherwise (a failed
// upload among them: the change was not made).
func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrNotSynced), errors.Is(err, ErrReadOnly):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func forced(params url.Values) bool { return params.Get("force") == "true" }

// CacheGeneration answers the tenant's cache generation number as a JSON string, as Loki does.
func (h *Handler) CacheGeneration(w http.ResponseWriter, r *http.Request) {
	id, err := tenant.From(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(strconv.FormatInt(h.store.CacheGeneration(id), 10)); err != nil {
		h.logger.Warn("write cache generation", "err", err)
	}
}
