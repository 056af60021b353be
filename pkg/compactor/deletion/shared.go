package deletion

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"

	"github.com/sluicelog/sluice/pkg/storage"
)

// This file keeps the requests in the object store, so that every process of a deployment sees
// the same ones and a compactor whose disk was lost finds them all again, as Loki's
// delete_request_store does. The owner (the compactor, exactly one per bucket) writes the whole
// set as one object after each change; replicas (queriers) read it. Put is atomic, so a reader
// sees the set before or after a change, never half of it.

// Bucket is what a shared store asks of the object store.
type Bucket interface {
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	Put(ctx context.Context, key string, r io.Reader) error
}

var _ Bucket = storage.ObjectClient(nil)

// ObjectName is the name of the requests' object under the key prefix.
const ObjectName = "delete_requests/delete_requests.json"

// ObjectKey returns the key of the requests' object under prefix (Loki's
// delete_request_store_key_prefix, "index/" by default).
func ObjectKey(prefix string) string { return prefix + ObjectName }

// docVersion is the version of the object's format; see FORMAT.md.
const docVersion = 1

// document is the object's content.
type document struct {
	Version  int        `json:"version"`
	Requests []*Request `json:"requests"`
}

// ErrNotSynced is returned (wrapped) by changes to an owner that has not loaded the bucket's
// requests yet, and by a replica's DeleteFilter before its first load (the bucket was not
// reachable, or its object is damaged). Its HTTP status is 503.
var ErrNotSynced = &notSyncedError{}

type notSyncedError struct{}

func (*notSyncedError) Error() string {
	return "delete requests not loaded from the object store yet (the log says why); retrying"
}
func (*notSyncedError) StatusCode() int { return http.StatusServiceUnavailable }

// ErrReadOnly is returned (wrapped) by changes to a replica: only the compactor changes
// delete requests.
var ErrReadOnly = errors.New("delete requests are read-only here; the compactor changes them")

// Shared says where an owner or a replica keeps its requests.
type Shared struct {
	Bucket Bucket
	// Key is the object's key (ObjectKey).
	Key string
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Registerer gets the sluice_delete_requests_* metrics; nil registers nothing.
	Registerer prometheus.Registerer
}

// shared is the object store side of a store.
type shared struct {
	bucket  Bucket
	key     string
	owner   bool
	logger  *slog.Logger
	loads   *prometheus.CounterVec
	uploads *prometheus.CounterVec
	lastOK  prometheus.Gauge
	local   prometheus.Counter
}

func newShared(o Shared, owner bool) *shared {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	sh := &shared{
		bucket: o.Bucket, key: o.Key, owner: owner, logger: o.Logger,
		loads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_delete_requests_loads_total",
			Help: "Loads of the delete requests from the object store, by status (success, failure).",
		}, []string{"status"}),
		uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_delete_requests_uploads_total",
			Help: "Uploads of the delete requests to the object store by the compactor, by status (success, failure).",
		}, []string{"status"}),
		lastOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sluice_delete_requests_last_load_timestamp_seconds",
			Help: "Unix time of the last successful load of the delete requests from the object store.",
		}),
		local: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_delete_requests_local_write_failures_total",
			Help: "Changes the compactor uploaded but could not write to its local working copy.",
		}),
	}
	for _, st := range []string{"success", "failure"} {
		sh.loads.WithLabelValues(st)
		sh.uploads.WithLabelValues(st)
	}
	if o.Registerer != nil {
		o.Registerer.MustRegister(sh.loads, sh.uploads, sh.lastOK, sh.local)
	}
	return sh
}

// OpenOwner opens the compactor's store: the requests live in o.Bucket under o.Key, with a
// working copy in a bbolt file in dir. It does not touch the bucket: call Sync (and Run, which
// retries it) before relying on it. Until the first Sync succeeds the store answers queries and
// lists from its local copy, refuses changes (ErrNotSynced) and gives the compactor no
// requests to apply. The caller must Close it.
func OpenOwner(dir string, o Shared) (*Store, error) {
	s, err := openFile(dir, o.Now)
	if err != nil {
		return nil, err
	}
	s.shared = newShared(o, true)
	return s, nil
}

// NewReplica returns a querier's read-only copy of the requests the owner keeps in o.Bucket
// under o.Key. It is empty, and its DeleteFilter fails with ErrNotSynced, until the first Sync
// succeeds; call Run to keep it in step.
func NewReplica(o Shared) *Store {
	s := newStore(o.Now)
	s.shared = newShared(o, false)
	return s
}

// writable reports whether the store takes changes now. The caller holds writeMu.
func (s *Store) writable() error {
	switch {
	case s.shared != nil && !s.shared.owner:
		return ErrReadOnly
	case !s.synced:
		return ErrNotSynced
	}
	return nil
}

// Synced reports whether the store has loaded the requests from the bucket (always true for a
// local store).
func (s *Store) Synced() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.synced
}

// upload writes every tenant's requests to the bucket.
func (sh *shared) upload(ctx context.Context, tenants map[string][]*Request) error {
	doc := document{Version: docVersion, Requests: []*Request{}}
	for _, rs := range tenants {
		doc.Requests = append(doc.Requests, rs...)
	}
	slices.SortFunc(doc.Requests, func(a, b *Request) int {
		return cmp.Or(cmp.Compare(a.Tenant, b.Tenant), cmp.Compare(a.RequestID, b.RequestID))
	})
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encode delete requests: %w", err)
	}
	if err := sh.bucket.Put(ctx, sh.key, bytes.NewReader(b)); err != nil {
		sh.uploads.WithLabelValues("failure").Inc()
		return fmt.Errorf("upload delete requests to %s: %w", sh.key, err)
	}
	sh.uploads.WithLabelValues("success").Inc()
	return nil
}

// localFailed reports a change that reached the bucket but not the local working copy.
func (sh *shared) localFailed(err error) {
	sh.local.Inc()
	sh.logger.Error("delete request change uploaded but not written to the local working copy; the object store's copy wins at the next start", "err", err)
}

// fetch reads the requests from the bucket: nil and no error when there is no object yet.
func (sh *shared) fetch(ctx context.Context) (map[string][]*Request, bool, error) {
	rc, err := sh.bucket.Get(ctx, sh.key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("load delete requests from %s: %w", sh.key, err)
	}
	b, err := io.ReadAll(rc)
	err = errors.Join(err, rc.Close())
	if errors.Is(err, storage.ErrNotFound) { // deleted between the Get and the read
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("load delete requests from %s: %w", sh.key, err)
	}
	tenants, err := decodeDocument(b)
	if err != nil {
		return nil, false, fmt.Errorf("load delete requests from %s: %w", sh.key, err)
	}
	return tenants, true, nil
}

// decodeDocument parses the object's content into each tenant's requests, sorted.
func decodeDocument(b []byte) (map[string][]*Request, error) {
	var doc document
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if doc.Version != docVersion {
		return nil, fmt.Errorf("decode: format version %d is not %d", doc.Version, docVersion)
	}
	tenants := map[string][]*Request{}
	for _, r := range doc.Requests {
		if r == nil {
			return nil, errors.New("decode: null request")
		}
		if err := r.parse(); err != nil {
			return nil, fmt.Errorf("delete request %s of tenant %s: %w", r.RequestID, r.Tenant, err)
		}
		switch r.Status {
		case StatusReceived, StatusProcessed:
		default:
			return nil, fmt.Errorf("delete request %s of tenant %s: unknown status %q", r.RequestID, r.Tenant, r.Status)
		}
		tenants[r.Tenant] = append(tenants[r.Tenant], r)
	}
	for _, rs := range tenants {
		sortRequests(rs)
	}
	return tenants, nil
}

// Sync loads the requests from the bucket. For a replica they replace its copy; when there is
// no object yet (no compactor has written one) the replica has none. For an owner the bucket
// wins over the local working copy, which is rewritten to match; when the bucket has no object
// yet (a new bucket, or requests from before they were kept there), the owner uploads its local
// ones, if it has any. On error nothing changes: a replica keeps serving its last copy.
func (s *Store) Sync(ctx context.Context) error {
	if s.shared == nil {
		return nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	err := s.sync(ctx)
	if err != nil {
		s.shared.loads.WithLabelValues("failure").Inc()
		return err
	}
	s.shared.loads.WithLabelValues("success").Inc()
	s.shared.lastOK.Set(float64(s.now().UnixNano()) / 1e9)
	return nil
}

func (s *Store) sync(ctx context.Context) error {
	tenants, found, err := s.shared.fetch(ctx)
	if err != nil {
		return err
	}
	switch {
	case !found && s.shared.owner:
		// The local copy becomes the bucket's (with none, there is nothing to write yet).
		if n := len(s.tenants); n > 0 {
			if err := s.shared.upload(ctx, s.tenants); err != nil {
				return err
			}
			s.shared.logger.Info("uploaded the local delete requests to the object store", "tenants", n)
		}
		tenants = s.tenants
	case !found:
		tenants = map[string][]*Request{}
	case s.shared.owner:
		if err := s.replaceLocal(tenants); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range s.tenants {
		if !sameRequests(s.tenants[t], tenants[t]) {
			s.bump(t)
		}
	}
	for t := range tenants {
		if _, ok := s.tenants[t]; !ok {
			s.bump(t)
		}
	}
	s.tenants = tenants
	s.synced = true
	return nil
}

// replaceLocal rewrites the working copy to hold tenants, in one transaction.
func (s *Store) replaceLocal(tenants map[string][]*Request) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketRequests); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
			return err
		}
		b, err := tx.CreateBucket(bucketRequests)
		if err != nil {
			return err
		}
		for _, rs := range tenants {
			for _, r := range rs {
				v, err := json.Marshal(r)
				if err != nil {
					return err
				}
				if err := b.Put(requestKey(r.Tenant, r.RequestID), v); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write the object store's delete requests to the local working copy: %w", err)
	}
	return nil
}

// sameRequests reports whether two lists hold the same requests in the same states.
func sameRequests(a, b []*Request) bool {
	return slices.EqualFunc(a, b, func(x, y *Request) bool {
		return x.RequestID == y.RequestID && x.Tenant == y.Tenant && x.Query == y.Query &&
			x.Start == y.Start && x.End == y.End && x.Status == y.Status && x.CreatedAt == y.CreatedAt
	})
}

// SyncRetry is how soon Run tries again after a failed Sync, when its interval is longer.
const SyncRetry = 5 * time.Second

// Run keeps the store in step with the bucket until ctx is done. A replica syncs every
// interval. An owner syncs until it succeeds once (at start, the bucket may be away), then
// returns: it is the only writer, so the bucket cannot change under it. After a failure the
// next try comes after SyncRetry, or interval if shorter. A local store returns at once.
func (s *Store) Run(ctx context.Context, interval time.Duration) {
	if s.shared == nil {
		return
	}
	wait := time.Duration(0)
	if s.Synced() {
		if s.shared.owner {
			return
		}
		wait = interval
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := s.Sync(ctx)
		switch {
		case err == nil && s.shared.owner:
			s.shared.logger.Info("delete requests loaded from the object store")
			return
		case err == nil:
			t.Reset(interval)
		default:
			if ctx.Err() != nil {
				return
			}
			s.shared.logger.Warn("load delete requests from the object store; will retry", "err", err)
			t.Reset(min(interval, SyncRetry))
		}
	}
}
