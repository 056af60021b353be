package tail

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
)

// Why a subscription ended, as Subscription.Err reports it.
var (
	// ErrMaxDuration ends a tail open for longer than Config.MaxDuration (Loki's wording).
	ErrMaxDuration = errors.New("reached tail max duration limit")
	// ErrClosed ends every tail when the registry closes (the server shuts down).
	ErrClosed = errors.New("server is shutting down")
)

// RequestError is a tail request that cannot be served: a bad query (400), too many tails
// (400, as Loki) or a registry that is closed (503).
type RequestError struct {
	Status int
	Err    error
}

func (e *RequestError) Error() string   { return e.Err.Error() }
func (e *RequestError) Unwrap() error   { return e.Err }
func (e *RequestError) StatusCode() int { return e.Status }

// Registry holds the live tails of every tenant.
type Registry struct {
	cfg     Config
	metrics *metrics

	active atomic.Int64 // open subscriptions, read by Push without a lock

	mu     sync.RWMutex
	hubs   map[string]*hub
	closed bool
}

// New returns an empty registry. Zero values in cfg take the defaults, except MaxPerTenant
// where 0 means no limit (DefaultConfig has Loki's 10).
func New(cfg Config, reg prometheus.Registerer) *Registry {
	return &Registry{cfg: cfg.withDefaults(), metrics: newMetrics(reg), hubs: map[string]*hub{}}
}

// Push offers the streams a tenant just pushed to its tails. It never blocks and does not
// keep streams: with no tail open it returns at once, otherwise it copies them onto the
// tenant's queue (or, when that is full, records them as dropped).
func (r *Registry) Push(tenant string, streams []logproto.Stream) {
	if r.active.Load() == 0 || len(streams) == 0 {
		return
	}
	r.mu.RLock()
	h := r.hubs[tenant]
	r.mu.RUnlock()
	if h != nil {
		h.offer(streams)
	}
}

// Subscribe opens a tail of query, a LogQL log query, for tenant. Entries are due delayFor
// after their timestamp (see Take). The caller must Close the subscription.
func (r *Registry) Subscribe(tenant, query string, delayFor time.Duration) (*Subscription, error) {
	sel, err := syntax.ParseLogSelector(query)
	if err != nil {
		return nil, &RequestError{Status: http.StatusBadRequest, Err: err}
	}
	ms, err := sel.LabelMatchers()
	if err != nil {
		return nil, &RequestError{Status: http.StatusBadRequest, Err: err}
	}
	pipe, err := logql.NewPipeline(sel)
	if err != nil {
		return nil, &RequestError{Status: http.StatusBadRequest, Err: err}
	}
	key := sel.String()
	if !shareable(sel) {
		key = ""
	}
	s := &Subscription{
		reg: r, tenant: tenant, delay: delayFor, matchers: ms,
		pipeline: &sharedPipeline{key: key, p: pipe},
		wake:     make(chan struct{}, 1), done: make(chan struct{}),
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, &RequestError{Status: http.StatusServiceUnavailable, Err: ErrClosed}
	}
	h := r.hubs[tenant]
	n := 0
	if h != nil {
		n = len(*h.subs.Load())
	}
	max := r.cfg.MaxPerTenant
	if r.cfg.TenantLimit != nil {
		if l := r.cfg.TenantLimit(tenant); l > 0 {
			max = l
		}
	}
	if max > 0 && n >= max {
		return nil, &RequestError{Status: http.StatusBadRequest,
			Err: fmt.Errorf("max concurrent tail requests limit exceeded, count > limit (%d > %d)", n+1, max)}
	}
	if h == nil {
		h = newHub(r, tenant)
		r.hubs[tenant] = h
	} else if p := h.sharedPipeline(key); key != "" && p != nil {
		s.pipeline = p
	}
	h.setSubs(append(append([]*Subscription(nil), *h.subs.Load()...), s))
	r.active.Add(1)
	r.metrics.active.Inc()
	s.mu.Lock()
	s.timer = time.AfterFunc(r.cfg.MaxDuration.D(), func() { s.finish(ErrMaxDuration) })
	s.mu.Unlock()
	return s, nil
}

// shareable reports whether tails of sel can share one pipeline: all but `distinct`, whose
// memory of values seen belongs to each tail.
func shareable(sel *syntax.LogSelector) bool {
	for _, st := range sel.Stages {
		if _, ok := st.(*syntax.Distinct); ok {
			return false
		}
	}
	return true
}

// remove unregisters s; the tenant's hub stops with its last subscription.
func (r *Registry) remove(s *Subscription) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.hubs[s.tenant]
	if h == nil {
		return
	}
	old := *h.subs.Load()
	kept := make([]*Subscription, 0, len(old))
	for _, o := range old {
		if o != s {
			kept = append(kept, o)
		}
	}
	if len(kept) == len(old) {
		return
	}
	r.active.Add(-1)
	r.metrics.active.Dec()
	h.setSubs(kept)
	if len(kept) == 0 {
		delete(r.hubs, s.tenant)
		h.shutdown()
	}
}

// Tails returns the number of open tails of tenant.
func (r *Registry) Tails(tenant string) int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if h := r.hubs[tenant]; h != nil {
		return len(*h.subs.Load())
	}
	return 0
}

// Close ends every tail with ErrClosed and refuses new ones. It waits for the hubs to stop.
func (r *Registry) Close() {
	r.mu.Lock()
	r.closed = true
	var subs []*Subscription
	var hubs []*hub
	for _, h := range r.hubs {
		subs = append(subs, *h.subs.Load()...)
		hubs = append(hubs, h)
	}
	r.mu.Unlock()
	for _, s := range subs {
		s.finish(ErrClosed)
	}
	for _, h := range hubs {
		<-h.done
	}
}
