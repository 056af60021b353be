package deletion

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/storage"
	"github.com/sluicelog/sluice/pkg/tenant"
)

const testKey = "index/" + ObjectName

// flakyBucket is the in-memory object store, whose Put and Get fail while told to.
type flakyBucket struct {
	*storage.Memory
	failPut, failGet atomic.Bool
	puts             atomic.Int64
}

var errBucketDown = errors.New("bucket is down")

func newFlaky() *flakyBucket { return &flakyBucket{Memory: storage.NewMemory()} }

func (b *flakyBucket) Put(ctx context.Context, key string, r io.Reader) error {
	if b.failPut.Load() {
		return errBucketDown
	}
	b.puts.Add(1)
	return b.Memory.Put(ctx, key, r)
}

func (b *flakyBucket) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if b.failGet.Load() {
		return nil, errBucketDown
	}
	return b.Memory.Get(ctx, key)
}

// stored returns the requests in the bucket's object, as "tenant/id/status", sorted.
func (b *flakyBucket) stored(t *testing.T) []string {
	t.Helper()
	rc, err := b.Memory.Get(context.Background(), testKey)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var doc document
	if err := json.NewDecoder(rc).Decode(&doc); err != nil {
		t.Fatalf("decode the bucket's object: %v", err)
	}
	if doc.Version != docVersion {
		t.Fatalf("object version = %d, want %d", doc.Version, docVersion)
	}
	var out []string
	for _, r := range doc.Requests {
		out = append(out, r.Tenant+"/"+r.RequestID+"/"+r.Status)
	}
	slices.Sort(out)
	return out
}

func owner(t *testing.T, dir string, b Bucket, c *clock) *Store {
	t.Helper()
	st, err := OpenOwner(dir, Shared{Bucket: b, Key: testKey, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// summary returns the tenant's requests in the store as "tenant/id/status".
func summary(st *Store, tenants ...string) []string {
	var out []string
	for _, tn := range tenants {
		for _, r := range st.List(tn) {
			out = append(out, r.Tenant+"/"+r.RequestID+"/"+r.Status)
		}
	}
	slices.Sort(out)
	return out
}

// TestOwnerUploadFailure: a change whose upload fails is refused and leaves nothing behind, in
// memory, in the local file or in the bucket; the next change that succeeds carries everything
// accepted before it.
func TestOwnerUploadFailure(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: now}
	b := newFlaky()
	dir := t.TempDir()
	st := owner(t, dir, b, c)
	if err := st.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if b.puts.Load() != 0 {
		t.Fatalf("an owner with no requests uploaded %d times at its first sync, want none", b.puts.Load())
	}
	a, err := st.Add(ctx, "t1", `{app="a"}`, 1000, 2000)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := b.stored(t), []string{"t1/" + a.RequestID + "/received"}; !slices.Equal(got, want) {
		t.Fatalf("bucket after Add = %v, want %v", got, want)
	}
	gen := st.CacheGeneration("t1")

	b.failPut.Store(true)
	c.Advance(time.Minute)
	if _, err := st.Add(ctx, "t1", `{app="b"}`, 1000, 2000); !errors.Is(err, errBucketDown) {
		t.Fatalf("Add with the bucket down = %v, want the upload's error", err)
	}
	if err := st.Remove(ctx, "t1", a.RequestID); !errors.Is(err, errBucketDown) {
		t.Fatalf("Remove with the bucket down = %v, want the upload's error", err)
	}
	if err := st.MarkProcessed(ctx, "t1", a.RequestID); !errors.Is(err, errBucketDown) {
		t.Fatalf("MarkProcessed with the bucket down = %v, want the upload's error", err)
	}
	want := []string{"t1/" + a.RequestID + "/received"}
	if got := summary(st, "t1"); !slices.Equal(got, want) {
		t.Fatalf("store after failed changes = %v, want %v", got, want)
	}
	if got := b.stored(t); !slices.Equal(got, want) {
		t.Fatalf("bucket after failed changes = %v, want %v", got, want)
	}
	if g := st.CacheGeneration("t1"); g != gen {
		t.Fatalf("cache generation moved from %d to %d on failed changes", gen, g)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if got := localSummary(t, dir, c, "t1"); !slices.Equal(got, want) {
		t.Fatalf("local file after failed changes = %v, want %v", got, want)
	}

	// Back up: the next change uploads the whole set.
	b.failPut.Store(false)
	st = owner(t, dir, b, c)
	if err := st.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	d, err := st.Add(ctx, "t2", `{app="d"}`, 1000, 2000)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.MarkProcessed(ctx, "t1", a.RequestID); err != nil {
		t.Fatal(err)
	}
	want = []string{"t1/" + a.RequestID + "/processed", "t2/" + d.RequestID + "/received"}
	slices.Sort(want)
	if got := b.stored(t); !slices.Equal(got, want) {
		t.Fatalf("bucket after the bucket came back = %v, want %v", got, want)
	}
}

// TestOwnerBucketWins: an owner with an empty disk, or a stale one, loads the bucket's
// requests, and rewrites its local copy to match.
func TestOwnerBucketWins(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: now}
	b := newFlaky()
	first := owner(t, t.TempDir(), b, c)
	if err := first.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	a, err := first.Add(ctx, "t1", `{app="a"}`, 1000, 2000)
	if err != nil {
		t.Fatal(err)
	}
	staleDir := t.TempDir()
	// A stale disk: it has a request the bucket no longer has (cancelled since) and lacks a.
	addLocal(t, staleDir, c, `{app="old"}`)
	want := []string{"t1/" + a.RequestID + "/received"}
	for name, dir := range map[string]string{"empty disk": t.TempDir(), "stale disk": staleDir} {
		st := owner(t, dir, b, c)
		if err := st.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if got := summary(st, "t1"); !slices.Equal(got, want) {
			t.Fatalf("%s: requests = %v, want the bucket's %v", name, got, want)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		if got := localSummary(t, dir, c, "t1"); !slices.Equal(got, want) {
			t.Fatalf("%s: local copy after sync = %v, want %v", name, got, want)
		}
	}
}

// TestOwnerUploadsLocalRequests: requests kept only on disk (before the bucket held them) are
// uploaded at the owner's first sync.
func TestOwnerUploadsLocalRequests(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: now}
	dir := t.TempDir()
	a := addLocal(t, dir, c, `{app="a"}`)
	b := newFlaky()
	st := owner(t, dir, b, c)
	if err := st.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := b.stored(t), []string{"t1/" + a.RequestID + "/received"}; !slices.Equal(got, want) {
		t.Fatalf("bucket after the first sync = %v, want %v", got, want)
	}
}

// TestOwnerNotSynced: while the bucket cannot be read, the owner serves its local copy but takes
// no change and gives the compactor nothing to apply; Run retries until it is back.
func TestOwnerNotSynced(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: now}
	dir := t.TempDir()
	a := addLocal(t, dir, c, `{app="a"}`)
	b := newFlaky()
	b.failGet.Store(true)
	st := owner(t, dir, b, c)
	if err := st.Sync(ctx); !errors.Is(err, errBucketDown) {
		t.Fatalf("Sync with the bucket down = %v, want its error", err)
	}
	if st.Synced() {
		t.Fatal("Synced() = true after a failed sync")
	}
	if _, err := st.Add(ctx, "t1", `{app="b"}`, 1000, 2000); !errors.Is(err, ErrNotSynced) {
		t.Fatalf("Add before the first sync = %v, want ErrNotSynced", err)
	}
	if got := st.Ready(now.Add(48 * time.Hour)); len(got) != 0 {
		t.Fatalf("Ready before the first sync = %v, want none", got)
	}
	if got := st.Active("t1", 1e9, 2e9); len(got) != 1 || got[0].RequestID != a.RequestID {
		t.Fatalf("Active before the first sync = %v, want the local request", got)
	}

	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		st.Run(runCtx, 10*time.Millisecond)
	}()
	defer func() { cancel(); <-done }()
	b.failGet.Store(false)
	select {
	case <-done: // an owner's Run returns once synced
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not sync within 10s of the bucket coming back")
	}
	if !st.Synced() {
		t.Fatal("Run returned without syncing")
	}
	if _, err := st.Add(ctx, "t1", `{app="b"}`, 1000, 2000); err != nil {
		t.Fatalf("Add after the sync: %v", err)
	}
	if got := len(b.stored(t)); got != 2 {
		t.Fatalf("bucket holds %d requests, want the local one and the new one", got)
	}
}

// TestReplica: a replica fails queries until its first load, then follows the owner's changes
// at each sync, moving the cache generation of exactly the tenants that changed, and keeps its
// last copy while the bucket cannot be read.
func TestReplica(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: now}
	b := newFlaky()
	own := owner(t, t.TempDir(), b, c)
	if err := own.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	rep := NewReplica(Shared{Bucket: b, Key: testKey, Now: c.Now})
	b.failGet.Store(true)
	if err := rep.Sync(ctx); err == nil {
		t.Fatal("replica Sync with the bucket down succeeded")
	}
	_, err := rep.DeleteFilter(ctx, "t1", 0, 1e18)
	var se interface{ StatusCode() int }
	if !errors.Is(err, ErrNotSynced) || !errors.As(err, &se) || se.StatusCode() != http.StatusServiceUnavailable {
		t.Fatalf("DeleteFilter before the first load = %v, want ErrNotSynced with status 503", err)
	}
	b.failGet.Store(false)
	if err := rep.Sync(ctx); err != nil {
		t.Fatalf("Sync with no object yet: %v", err)
	}
	if f, err := rep.DeleteFilter(ctx, "t1", 0, 1e18); f != nil || err != nil {
		t.Fatalf("DeleteFilter with no requests = non-nil %v, %v", f != nil, err)
	}

	c.Advance(time.Second)
	a, err := own.Add(ctx, "t1", `{app="a"}`, 1000, 2000)
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Active("t1", 1e9, 2e9); len(got) != 0 {
		t.Fatalf("replica sees %v before syncing", got)
	}
	g1, g2 := rep.CacheGeneration("t1"), rep.CacheGeneration("t2")
	c.Advance(time.Second)
	if err := rep.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rep.Active("t1", 1e9, 2e9); len(got) != 1 || got[0].RequestID != a.RequestID {
		t.Fatalf("replica Active after sync = %v, want %s", got, a.RequestID)
	}
	if g := rep.CacheGeneration("t1"); g == g1 {
		t.Fatal("t1's cache generation did not move when its requests arrived")
	}
	if g := rep.CacheGeneration("t2"); g != g2 {
		t.Fatalf("t2's cache generation moved (%d to %d) though its requests did not change", g2, g)
	}
	g1 = rep.CacheGeneration("t1")
	c.Advance(time.Second)
	if err := rep.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if g := rep.CacheGeneration("t1"); g != g1 {
		t.Fatalf("t1's cache generation moved on a sync without change (%d to %d)", g1, g)
	}

	if _, err := rep.Add(ctx, "t1", `{app="x"}`, 1000, 2000); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("replica Add = %v, want ErrReadOnly", err)
	}
	if err := own.Remove(ctx, "t1", a.RequestID); err != nil {
		t.Fatal(err)
	}
	b.failGet.Store(true)
	if err := rep.Sync(ctx); err == nil {
		t.Fatal("replica Sync with the bucket down succeeded")
	}
	if got := rep.Active("t1", 1e9, 2e9); len(got) != 1 {
		t.Fatalf("replica dropped its copy on a failed sync: Active = %v", got)
	}
	b.failGet.Store(false)
	c.Advance(time.Second)
	if err := rep.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rep.Active("t1", 1e9, 2e9); len(got) != 0 {
		t.Fatalf("replica Active after the cancellation synced = %v, want none", got)
	}
	if g := rep.CacheGeneration("t1"); g == g1 {
		t.Fatal("t1's cache generation did not move when its request was cancelled")
	}
}

// TestReplicaRun: Run reloads every interval.
func TestReplicaRun(t *testing.T) {
	ctx := context.Background()
	b := newFlaky()
	own := owner(t, t.TempDir(), b, &clock{t: now})
	if err := own.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	rep := NewReplica(Shared{Bucket: b, Key: testKey})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		rep.Run(runCtx, 10*time.Millisecond)
	}()
	defer func() { cancel(); <-done }()
	a, err := own.Add(ctx, "t1", `{app="a"}`, 1000, 2000)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(rep.Active("t1", 1e9, 2e9)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("replica did not load request %s within 10s", a.RequestID)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSyncRejectsBadObject: a damaged object is an error; an owner stays unsynced and a replica
// keeps its copy.
func TestSyncRejectsBadObject(t *testing.T) {
	ctx := context.Background()
	for name, body := range map[string]string{
		"not json":      `{"version":1,"requests":[`,
		"version":       `{"version":2,"requests":[]}`,
		"bad query":     `{"version":1,"requests":[{"request_id":"01","tenant":"t","query":"{app=","start_ms":0,"end_ms":1,"status":"received","created_at_ms":0}]}`,
		"bad status":    `{"version":1,"requests":[{"request_id":"01","tenant":"t","query":"{app=\"a\"}","start_ms":0,"end_ms":1,"status":"done","created_at_ms":0}]}`,
		"null request":  `{"version":1,"requests":[null]}`,
		"empty version": `{}`,
	} {
		t.Run(name, func(t *testing.T) {
			b := newFlaky()
			if err := b.Put(ctx, testKey, strings.NewReader(body)); err != nil {
				t.Fatal(err)
			}
			st := owner(t, t.TempDir(), b, &clock{t: now})
			if err := st.Sync(ctx); err == nil {
				t.Fatalf("owner Sync of %s succeeded", body)
			}
			if st.Synced() {
				t.Fatal("owner synced from a damaged object")
			}
			rep := NewReplica(Shared{Bucket: b, Key: testKey})
			if err := rep.Sync(ctx); err == nil {
				t.Fatalf("replica Sync of %s succeeded", body)
			}
		})
	}
}

// TestHandlerUploadFailure: over HTTP, a request whose upload fails answers 500 and is not
// listed; before the owner's first sync, changes answer 503.
func TestHandlerUploadFailure(t *testing.T) {
	c := &clock{t: now}
	b := newFlaky()
	b.failGet.Store(true)
	st := owner(t, t.TempDir(), b, c)
	h := NewHandler(st, 24*time.Hour, c.Now, nil, nil)
	mux := http.NewServeMux()
	for _, r := range h.Routes() {
		mux.Handle(r.Pattern, tenant.Middleware(true, r.Handler))
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	params := url.Values{"query": {`{app="a"}`}, "start": {"1710000000"}, "end": {"1710000100"}}

	if err := st.Sync(context.Background()); err == nil {
		t.Fatal("Sync with the bucket down succeeded")
	}
	if code, body := call(t, srv, http.MethodPost, "t1", params); code != http.StatusServiceUnavailable {
		t.Fatalf("POST before the first sync = %d %q, want 503", code, body)
	}
	b.failGet.Store(false)
	if err := st.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.failPut.Store(true)
	if code, body := call(t, srv, http.MethodPost, "t1", params); code != http.StatusInternalServerError || !strings.Contains(body, "upload delete requests") {
		t.Fatalf("POST with the upload failing = %d %q, want 500 naming the upload", code, body)
	}
	if got := list(t, srv, "t1"); len(got) != 0 {
		t.Fatalf("requests after a failed upload = %+v, want none", got)
	}
	b.failPut.Store(false)
	if code, body := call(t, srv, http.MethodPost, "t1", params); code != http.StatusNoContent {
		t.Fatalf("POST with the bucket back = %d %q", code, body)
	}
	got := list(t, srv, "t1")
	if len(got) != 1 {
		t.Fatalf("requests = %+v, want one", got)
	}
	b.failPut.Store(true)
	code, body := call(t, srv, http.MethodDelete, "t1", url.Values{"request_id": {got[0].RequestID}})
	if code != http.StatusInternalServerError {
		t.Fatalf("DELETE with the upload failing = %d %q, want 500", code, body)
	}
	if got := list(t, srv, "t1"); len(got) != 1 {
		t.Fatalf("requests after a failed cancel = %+v, want the request kept", got)
	}
	if stored := b.stored(t); len(stored) != 1 {
		t.Fatalf("bucket after a failed cancel = %v, want the request kept", stored)
	}
}

// addLocal records a request of tenant t1 for query in the local-only store in dir, as a
// compactor from before the bucket held requests did, and returns it.
func addLocal(t *testing.T, dir string, c *clock, query string) Request {
	t.Helper()
	local, err := Open(dir, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	r, err := local.Add(context.Background(), "t1", query, 1000, 2000)
	if err != nil {
		t.Fatal(err)
	}
	if err := local.Close(); err != nil {
		t.Fatal(err)
	}
	return r
}

// localSummary returns summary of tenant's requests in the local working copy in dir.
func localSummary(t *testing.T, dir string, c *clock, tenant string) []string {
	t.Helper()
	local, err := Open(dir, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	return summary(local, tenant)
}
