package deletion

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrNotFound is returned (wrapped) for a request ID the tenant does not have.
var ErrNotFound = errors.New("could not find delete request with given id")

// bucketRequests holds every request: tenant ‖ 0x00 ‖ request ID → JSON of Request.
var bucketRequests = []byte("delete_requests")

// FileName is the name of the store's file in its directory.
const FileName = "delete_requests.db"

// Store keeps delete requests, with a copy in memory for the query path: Active is called for
// every query and must touch neither the disk nor the network. Its methods are safe for
// concurrent use.
//
// A Store has one of three roles (see shared.go for the last two):
//
//   - local (Open): the requests live in a bbolt file only;
//   - owner (OpenOwner): the compactor's store. The requests live in the object store, where
//     every change is uploaded before it is accepted; the bbolt file is a working copy;
//   - replica (NewReplica): a querier's read-only copy of what the owner uploaded, refreshed by
//     Sync.
type Store struct {
	db  *bolt.DB // nil for a replica
	now func() time.Time

	// shared is the object store side of an owner or a replica; nil for a local store.
	shared *shared

	// writeMu serialises changes (and syncs): a change is uploaded while holding it, never mu,
	// so a slow bucket does not hold up queries. The maps below change only under both.
	writeMu sync.Mutex

	mu sync.RWMutex
	// tenants maps a tenant to its requests, oldest first. A *Request in it is never modified:
	// a change replaces it, so readers may keep the pointers they got.
	tenants map[string][]*Request
	// gens are the tenants' cache generation numbers; see CacheGeneration.
	gens map[string]int64
	// baseGen is the generation of a tenant without changes since the store was opened.
	baseGen int64
	// synced is false until an owner or a replica has loaded the requests from the bucket (an
	// owner also when it found none there and uploaded its local ones). Always true for a local
	// store.
	synced bool

	// limits, when set, give each tenant's deletion_mode to the API (mode.go).
	limits atomic.Pointer[Limits]
}

// Open opens (creating it if needed) a local store in dir. now is the clock that stamps new
// requests (time.Now when nil). The caller must Close it.
func Open(dir string, now func() time.Time) (*Store, error) {
	s, err := openFile(dir, now)
	if err != nil {
		return nil, err
	}
	s.synced = true
	return s, nil
}

// newStore returns an empty store in memory.
func newStore(now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{now: now, tenants: map[string][]*Request{}, gens: map[string]int64{}, baseGen: now().UnixMilli()}
}

// openFile opens the bbolt file in dir and loads its requests.
func openFile(dir string, now func() time.Time) (*Store, error) {
	s := newStore(now)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("open delete requests: %w", err)
	}
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o640, &bolt.Options{Timeout: 10 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open delete requests %s: %w", path, err)
	}
	s.db = db
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketRequests)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			r := &Request{}
			if err := json.Unmarshal(v, r); err != nil {
				return fmt.Errorf("decode delete request %q: %w", k, err)
			}
			if err := r.parse(); err != nil {
				return fmt.Errorf("delete request %s of tenant %s: %w", r.RequestID, r.Tenant, err)
			}
			s.tenants[r.Tenant] = append(s.tenants[r.Tenant], r)
			return nil
		})
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("load delete requests from %s: %w", path, err), db.Close())
	}
	for _, rs := range s.tenants {
		sortRequests(rs)
	}
	return s, nil
}

// Close closes the store's file, if it has one.
func (s *Store) Close() error {
	if s.db == nil {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close delete requests: %w", err)
	}
	return nil
}

func sortRequests(rs []*Request) {
	slices.SortStableFunc(rs, func(a, b *Request) int {
		return cmp.Or(cmp.Compare(a.CreatedAt, b.CreatedAt), cmp.Compare(a.RequestID, b.RequestID))
	})
}

func requestKey(tenant, id string) []byte {
	k := make([]byte, 0, len(tenant)+1+len(id))
	k = append(k, tenant...)
	k = append(k, 0)
	return append(k, id...)
}

// newID returns a random request ID of 8 hex digits, like Loki's.
func newID() (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("new request ID: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// Add records a new request of tenant deleting the entries query selects in [start, end]
// (Unix ms, inclusive) and returns it. An owner uploads it to the bucket first: when that
// fails, Add returns the error and nothing changed.
func (s *Store) Add(ctx context.Context, tenant, query string, start, end int64) (Request, error) {
	r := &Request{Tenant: tenant, Query: query, Start: start, End: end, Status: StatusReceived, CreatedAt: s.now().UnixMilli()}
	if err := r.parse(); err != nil {
		return Request{}, err
	}
	if start > end {
		return Request{}, fmt.Errorf("add delete request: start %d after end %d", start, end)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.writable(); err != nil {
		return Request{}, fmt.Errorf("add delete request: %w", err)
	}
	for {
		id, err := newID()
		if err != nil {
			return Request{}, err
		}
		if _, _, ok := s.find(tenant, id); !ok {
			r.RequestID = id
			break
		}
	}
	rs := append(slices.Clone(s.tenants[tenant]), r)
	sortRequests(rs)
	if err := s.commit(ctx, tenant, rs, r, ""); err != nil {
		return Request{}, fmt.Errorf("add delete request: %w", err)
	}
	return *r, nil
}

// commit makes rs the tenant's requests (put is the request added or changed, removed the ID
// of the one removed): the bucket first (an owner), then the local file, then memory. The
// caller holds writeMu.
//
// An owner whose upload fails changes nothing. Once the upload succeeded the change is
// accepted even if the local file cannot take it: the bucket wins when the owner loads it
// again, and memory must hold it, since the next upload is made from memory.
func (s *Store) commit(ctx context.Context, tenant string, rs []*Request, put *Request, removed string) error {
	if s.shared != nil {
		if err := s.shared.upload(ctx, s.withTenant(tenant, rs)); err != nil {
			return err
		}
	}
	if err := s.writeLocal(put, tenant, removed); err != nil {
		if s.shared == nil {
			return err
		}
		s.shared.localFailed(err)
	}
	s.mu.Lock()
	if len(rs) == 0 {
		delete(s.tenants, tenant)
	} else {
		s.tenants[tenant] = rs
	}
	s.bump(tenant)
	s.mu.Unlock()
	return nil
}

// withTenant returns every tenant's requests with the tenant's replaced by rs. The caller holds
// writeMu.
func (s *Store) withTenant(tenant string, rs []*Request) map[string][]*Request {
	all := make(map[string][]*Request, len(s.tenants)+1)
	for t, trs := range s.tenants {
		all[t] = trs
	}
	if len(rs) == 0 {
		delete(all, tenant)
	} else {
		all[tenant] = rs
	}
	return all
}

// writeLocal writes put to the file, or removes the tenant's request removed.
func (s *Store) writeLocal(put *Request, tenant, removed string) error {
	var v []byte
	if put != nil {
		var err error
		if v, err = json.Marshal(put); err != nil {
			return fmt.Errorf("encode delete request %s: %w", put.RequestID, err)
		}
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		if put != nil {
			return tx.Bucket(bucketRequests).Put(requestKey(put.Tenant, put.RequestID), v)
		}
		return tx.Bucket(bucketRequests).Delete(requestKey(tenant, removed))
	})
	if err != nil {
		return fmt.Errorf("write delete requests file: %w", err)
	}
	return nil
}

// find returns the request and its index in the tenant's list; the caller holds mu or writeMu.
func (s *Store) find(tenant, id string) (*Request, int, bool) {
	for i, r := range s.tenants[tenant] {
		if r.RequestID == id {
			return r, i, true
		}
	}
	return nil, 0, false
}

// List returns the tenant's requests, oldest first.
func (s *Store) List(tenant string) []Request {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Request, 0, len(s.tenants[tenant]))
	for _, r := range s.tenants[tenant] {
		out = append(out, *r)
	}
	return out
}

// Get returns the tenant's request id.
func (s *Store) Get(tenant, id string) (Request, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, _, ok := s.find(tenant, id)
	if !ok {
		return Request{}, fmt.Errorf("get delete request %q: %w", id, ErrNotFound)
	}
	return *r, nil
}

// Remove deletes the tenant's request id (a cancellation). An owner uploads the change first,
// as Add does.
func (s *Store) Remove(ctx context.Context, tenant, id string) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.writable(); err != nil {
		return fmt.Errorf("remove delete request %s: %w", id, err)
	}
	_, i, ok := s.find(tenant, id)
	if !ok {
		return fmt.Errorf("remove delete request %q: %w", id, ErrNotFound)
	}
	rs := slices.Delete(slices.Clone(s.tenants[tenant]), i, i+1)
	if err := s.commit(ctx, tenant, rs, nil, id); err != nil {
		return fmt.Errorf("remove delete request %s: %w", id, err)
	}
	return nil
}

// MarkProcessed records that the compactor has applied the tenant's request id to all of its
// data. A request cancelled meanwhile (with force) is skipped.
func (s *Store) MarkProcessed(ctx context.Context, tenant, id string) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.writable(); err != nil {
		return fmt.Errorf("mark delete request %s processed: %w", id, err)
	}
	old, i, ok := s.find(tenant, id)
	if !ok || old.Status == StatusProcessed {
		return nil
	}
	r := *old
	r.Status = StatusProcessed
	rs := slices.Clone(s.tenants[tenant])
	rs[i] = &r
	if err := s.commit(ctx, tenant, rs, &r, ""); err != nil {
		return fmt.Errorf("mark delete request %s processed: %w", id, err)
	}
	return nil
}

// Ready returns the received requests of every tenant created before createdBefore: those
// whose cancel period is over, which the compactor applies. The map is keyed by tenant; the
// requests must not be modified. An owner that has not loaded the bucket's requests yet
// returns none: its local copy may be stale.
func (s *Store) Ready(createdBefore time.Time) map[string][]*Request {
	cut := createdBefore.UnixMilli()
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := map[string][]*Request{}
	if !s.synced {
		return out
	}
	for tenant, rs := range s.tenants {
		for _, r := range rs {
			if r.Status == StatusReceived && r.CreatedAt < cut {
				out[tenant] = append(out[tenant], r)
			}
		}
	}
	return out
}

// Active returns the tenant's requests, received or processed, whose ranges overlap
// [from, through] (Unix ns, inclusive): the ones that hide lines from a query of that range.
// The requests must not be modified.
func (s *Store) Active(tenant string, from, through int64) []*Request {
	s.mu.RLock()
	rs := s.tenants[tenant]
	s.mu.RUnlock()
	var out []*Request
	for _, r := range rs {
		if r.Overlaps(from, through) {
			out = append(out, r)
		}
	}
	return out
}

// bump changes the tenant's cache generation; the caller holds mu.
func (s *Store) bump(tenant string) {
	g := max(s.now().UnixMilli(), s.gens[tenant]+1, s.baseGen+1)
	s.gens[tenant] = g
}

// CacheGeneration returns the tenant's cache generation number, as Loki's compactor serves it:
// it changes whenever the tenant's delete requests change as this store sees them (added,
// cancelled, processed; for a replica, when a sync brings the change), so a results cache that
// keys on it never serves lines a request hides. It also changes across restarts of the store.
func (s *Store) CacheGeneration(tenant string) int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if g, ok := s.gens[tenant]; ok {
		return g
	}
	return s.baseGen
}
