package deletion

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrNotFound is returned (wrapped) for a request ID the tenant does not have.
var ErrNotFound = errors.New("could not find delete request with given id")

// bucketRequests holds every request: tenant ‖ 0x00 ‖ request ID → JSON of Request.
var bucketRequests = []byte("delete_requests")

// FileName is the name of the store's file in its directory.
const FileName = "delete_requests.db"

// Store keeps delete requests durably in a bbolt file, with a copy in memory for the query path:
// Active is called for every query and must not touch the disk. Its methods are safe for
// concurrent use.
type Store struct {
	db  *bolt.DB
	now func() time.Time

	mu sync.RWMutex
	// tenants maps a tenant to its requests, oldest first. A *Request in it is never modified:
	// a change replaces it, so readers may keep the pointers they got.
	tenants map[string][]*Request
	// gens are the tenants' cache generation numbers; see CacheGeneration.
	gens map[string]int64
	// baseGen is the generation of a tenant without changes since Open.
	baseGen int64
}

// Open opens (creating it if needed) the store in dir. now is the clock that stamps new requests
// (time.Now when nil). The caller must Close it.
func Open(dir string, now func() time.Time) (*Store, error) {
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("open delete requests: %w", err)
	}
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o640, &bolt.Options{Timeout: 10 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open delete requests %s: %w", path, err)
	}
	s := &Store{db: db, now: now, tenants: map[string][]*Request{}, gens: map[string]int64{}, baseGen: now().UnixMilli()}
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

// Close closes the store's file.
func (s *Store) Close() error {
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
// (Unix ms, inclusive) and returns it.
func (s *Store) Add(tenant, query string, start, end int64) (Request, error) {
	r := &Request{Tenant: tenant, Query: query, Start: start, End: end, Status: StatusReceived, CreatedAt: s.now().UnixMilli()}
	if err := r.parse(); err != nil {
		return Request{}, err
	}
	if start > end {
		return Request{}, fmt.Errorf("add delete request: start %d after end %d", start, end)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
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
	if err := s.put(r); err != nil {
		return Request{}, err
	}
	rs := append(slices.Clone(s.tenants[tenant]), r)
	sortRequests(rs)
	s.tenants[tenant] = rs
	s.bump(tenant)
	return *r, nil
}

// put writes r to the file.
func (s *Store) put(r *Request) error {
	v, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode delete request %s: %w", r.RequestID, err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRequests).Put(requestKey(r.Tenant, r.RequestID), v)
	})
	if err != nil {
		return fmt.Errorf("write delete request %s: %w", r.RequestID, err)
	}
	return nil
}

// find returns the request and its index in the tenant's list; the caller holds mu.
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

// Remove deletes the tenant's request id (a cancellation).
func (s *Store) Remove(tenant, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, i, ok := s.find(tenant, id)
	if !ok {
		return fmt.Errorf("remove delete request %q: %w", id, ErrNotFound)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRequests).Delete(requestKey(tenant, id))
	})
	if err != nil {
		return fmt.Errorf("remove delete request %s: %w", id, err)
	}
	rs := slices.Delete(slices.Clone(s.tenants[tenant]), i, i+1)
	if len(rs) == 0 {
		delete(s.tenants, tenant)
	} else {
		s.tenants[tenant] = rs
	}
	s.bump(tenant)
	return nil
}

// MarkProcessed records that the compactor has applied the tenant's request id to all of its
// data. A request cancelled meanwhile (with force) is skipped.
func (s *Store) MarkProcessed(tenant, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, i, ok := s.find(tenant, id)
	if !ok || old.Status == StatusProcessed {
		return nil
	}
	r := *old
	r.Status = StatusProcessed
	if err := s.put(&r); err != nil {
		return err
	}
	rs := slices.Clone(s.tenants[tenant])
	rs[i] = &r
	s.tenants[tenant] = rs
	s.bump(tenant)
	return nil
}

// Ready returns the received requests of every tenant created before createdBefore: those
// whose cancel period is over, which the compactor applies. The map is keyed by tenant; the
// requests must not be modified.
func (s *Store) Ready(createdBefore time.Time) map[string][]*Request {
	cut := createdBefore.UnixMilli()
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := map[string][]*Request{}
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
// it changes whenever the tenant's delete requests change (added, cancelled, processed), so a
// results cache that keys on it never serves lines a request hides. It also changes across
// restarts of the store.
func (s *Store) CacheGeneration(tenant string) int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if g, ok := s.gens[tenant]; ok {
		return g
	}
	return s.baseGen
}
