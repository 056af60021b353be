package compactor

import (
	"context"
	"errors"
	"hash/crc32"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/chunk"
	"github.com/sluicelog/sluice/pkg/index"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/storage"
	"github.com/sluicelog/sluice/pkg/storage/s3"
	"github.com/sluicelog/sluice/pkg/storage/s3/s3test"
	"github.com/sluicelog/sluice/pkg/storage/shipper"
	"github.com/sluicelog/sluice/pkg/validation"
)

// shippedEnv is a bucket shared by ingesters, each with its own local index and real shipper
// uploader, and a compactor node with the shipped pass on.
type shippedEnv struct {
	t         *testing.T
	dir       string
	clock     *clock
	bucket    storage.ObjectClient
	overrides *validation.Overrides
	cfg       Config
	ingesters map[string]*ingester
}

type ingester struct {
	ix    *index.Index
	store *storage.Store
	sh    *shipper.Shipper
}

func newShippedEnv(t *testing.T, bucket storage.ObjectClient, defaults validation.Limits) *shippedEnv {
	e := &shippedEnv{
		t: t, dir: t.TempDir(), clock: &clock{t: start}, bucket: bucket,
		overrides: validation.NewOverrides(defaults), ingesters: map[string]*ingester{},
	}
	e.cfg = DefaultConfig()
	e.cfg.RetentionEnabled = true
	e.cfg.WorkingDirectory = filepath.Join(e.dir, "compactor")
	e.cfg.RetentionDeleteWorkerCount = 4
	return e
}

// compactor returns a compactor node (a fresh process on the same working directory) whose
// shipped tables live in bucket.
func (e *shippedEnv) compactor(bucket storage.ObjectClient) *Compactor {
	e.t.Helper()
	ix, err := index.Open(filepath.Join(e.dir, "compactor-index"), index.Options{NoSync: true})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = ix.Close() })
	c, err := New(e.cfg, Deps{
		Index: ix, Objects: e.bucket, Chunks: storage.NewStore(e.bucket, ix), Limits: e.overrides,
		Shipped: bucket, Now: e.clock.Now,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// ingester returns the ingester name, starting it on first use.
func (e *shippedEnv) ingester(name string) *ingester {
	e.t.Helper()
	if in, ok := e.ingesters[name]; ok {
		return in
	}
	ix, err := index.Open(filepath.Join(e.dir, "ingesters", name, "index"), index.Options{NoSync: true})
	if err != nil {
		e.t.Fatal(err)
	}
	sh, err := shipper.New(shipper.Config{CacheLocation: filepath.Join(e.dir, "ingesters", name, "cache"), IngesterName: name}, ix, e.bucket, nil, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	in := &ingester{ix: ix, store: storage.NewStore(e.bucket, ix), sh: sh}
	e.t.Cleanup(func() {
		_ = sh.Downloads().Close()
		_ = ix.Close()
	})
	e.ingesters[name] = in
	return in
}

// flush stores a chunk of lbls through the ingester name, one entry per line a second apart
// from at, and returns its object key.
func (e *shippedEnv) flush(name, tenant string, lbls labels.Labels, at time.Time, lines ...string) string {
	e.t.Helper()
	h, err := chunk.NewHead(chunk.Encodings()[1], 0, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	for i, l := range lines {
		if err := h.Append(&logproto.Entry{Timestamp: at.Add(time.Duration(i) * time.Second).UnixNano(), Line: l}); err != nil {
			e.t.Fatal(err)
		}
	}
	b, err := h.Bytes()
	if err != nil {
		e.t.Fatal(err)
	}
	from, through := h.Bounds()
	c := &storage.Chunk{Tenant: tenant, Labels: lbls, Data: b, From: from, Through: through, Entries: h.Entries(), UncompressedSize: h.UncompressedSize()}
	if err := e.ingester(name).store.PutChunk(context.Background(), c); err != nil {
		e.t.Fatal(err)
	}
	ref := index.ChunkRef{Tenant: tenant, Fingerprint: lbls.Hash(), From: from, Through: through, Checksum: crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))}
	return ref.Key()
}

// upload ships the ingester's changed tables.
func (e *shippedEnv) upload(name string) {
	e.t.Helper()
	if err := e.ingester(name).sh.Uploader().Upload(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

// tables returns the shipped table keys of tenant and day.
func (e *shippedEnv) tables(tenant string, day int64) []shipper.Shipped {
	e.t.Helper()
	ss, err := shipper.ListShipped(context.Background(), e.bucket, tenant, day)
	if err != nil {
		e.t.Fatal(err)
	}
	return ss
}

// queried returns the chunk keys a fresh querier finds for tenant in the shipped tables.
func (e *shippedEnv) queried(tenant string) []string {
	e.t.Helper()
	dir := e.t.TempDir()
	ix, err := index.Open(filepath.Join(dir, "index"), index.Options{NoSync: true})
	if err != nil {
		e.t.Fatal(err)
	}
	defer ix.Close()
	sh, err := shipper.New(shipper.Config{CacheLocation: filepath.Join(dir, "cache"), IngesterName: "querier"}, ix, e.bucket, nil, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	defer sh.Downloads().Close()
	all, err := labels.NewMatcher(labels.MatchRegexp, "__name__", ".*")
	if err != nil {
		e.t.Fatal(err)
	}
	series, err := sh.Index().ChunkRefs(context.Background(), tenant, 0, start.Add(10*day).UnixNano(), all)
	if err != nil {
		e.t.Fatal(err)
	}
	var keys []string
	for _, s := range series {
		for _, r := range s.Chunks {
			r.Tenant = tenant
			keys = append(keys, r.Key())
		}
	}
	slices.Sort(keys)
	return keys
}

func (e *shippedEnv) exists(key string) bool {
	e.t.Helper()
	rc, err := e.bucket.Get(context.Background(), key)
	if errors.Is(err, storage.ErrNotFound) {
		return false
	}
	if err != nil {
		e.t.Fatal(err)
	}
	_ = rc.Close()
	return true
}

func names(ss []shipper.Shipped) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Name
	}
	return out
}

// onlyCompacted fails unless the tables are exactly one merged table.
func onlyCompacted(t *testing.T, ss []shipper.Shipped) shipper.Shipped {
	t.Helper()
	if len(ss) != 1 || !ss[0].Compacted() {
		t.Fatalf("shipped tables = %v, want one compacted table", names(ss))
	}
	return ss[0]
}

// testMergeTwoIngesters merges two ingesters' tables of one day, over bucket.
func testMergeTwoIngesters(t *testing.T, bucket storage.ObjectClient) {
	e := newShippedEnv(t, bucket, validation.Limits{})
	ctx := context.Background()
	api, web := labels.FromStrings("app", "api"), labels.FromStrings("app", "web")
	at := start.Add(-2 * day)
	want := []string{
		e.flush("ing-a", "fake", api, at, "a1"),
		e.flush("ing-a", "fake", web, at.Add(time.Hour), "a2"),
		e.flush("ing-b", "fake", api, at.Add(2*time.Hour), "b1"),
		// Both ingesters flushed the same chunk (replication): one reference in the end.
		e.flush("ing-b", "fake", web, at.Add(time.Hour), "a2"),
	}
	e.flush("ing-b", "other", api, at, "x") // another tenant: a table of its own
	e.upload("ing-a")
	e.upload("ing-b")
	d := dayOf(at)
	if got := names(e.tables("fake", d)); !slices.Equal(got, []string{"ing-a", "ing-b"}) {
		t.Fatalf("before: shipped tables = %v", got)
	}
	slices.Sort(want)
	want = slices.Compact(want)
	if got := e.queried("fake"); !slices.Equal(got, want) {
		t.Fatalf("before: queried %v, want %v", shortKeys(got), shortKeys(want))
	}

	c := e.compactor(bucket)
	if err := c.RunOnce(ctx); err != nil {
		t.Fatalf("RunOnce() = %v", err)
	}
	merged := onlyCompacted(t, e.tables("fake", d))
	if got := e.queried("fake"); !slices.Equal(got, want) {
		t.Fatalf("after: queried %v, want %v", shortKeys(got), shortKeys(want))
	}
	// The other tenant had one table and nothing to drop: left as it is.
	if got := names(e.tables("other", d)); !slices.Equal(got, []string{"ing-b"}) {
		t.Fatalf("other tenant: shipped tables = %v, want [ing-b]", got)
	}
	for _, k := range want {
		if !e.exists(k) {
			t.Errorf("chunk %s deleted", k)
		}
	}
	// A second run finds one merged table and nothing to do.
	e.clock.Advance(time.Minute)
	if err := c.RunOnce(ctx); err != nil {
		t.Fatalf("second RunOnce() = %v", err)
	}
	if again := onlyCompacted(t, e.tables("fake", d)); again.Key != merged.Key {
		t.Fatalf("second run replaced %s with %s", merged.Key, again.Key)
	}
}

func TestShippedMergeTwoIngesters(t *testing.T) {
	testMergeTwoIngesters(t, storage.NewMemory())
}

func TestShippedMergeTwoIngestersS3(t *testing.T) {
	srv := s3test.Start(t)
	client, err := s3.New(context.Background(), srv.Config(srv.CreateBucket(t)))
	if err != nil {
		t.Fatal(err)
	}
	testMergeTwoIngesters(t, client)
}

// TestShippedMergeWithoutRetention merges even with retention off, dropping nothing.
func TestShippedMergeWithoutRetention(t *testing.T) {
	e := newShippedEnv(t, storage.NewMemory(), validation.Limits{RetentionPeriod: days(1)})
	e.cfg.RetentionEnabled = false
	api := labels.FromStrings("app", "api")
	at := start.Add(-5 * day)
	want := []string{e.flush("ing-a", "fake", api, at, "a"), e.flush("ing-b", "fake", api, at.Add(time.Minute), "b")}
	slices.Sort(want)
	e.upload("ing-a")
	e.upload("ing-b")
	mustRun(t, e.compactor(e.bucket))
	onlyCompacted(t, e.tables("fake", dayOf(at)))
	if got := e.queried("fake"); !slices.Equal(got, want) {
		t.Fatalf("queried %v, want %v", shortKeys(got), shortKeys(want))
	}
}

// retentionDay flushes, through two ingesters, chunks of one day of which the first two end
// before the 7-day cutoff and the last does not, and returns their keys.
func retentionDay(e *shippedEnv) (expired, kept []string) {
	api := labels.FromStrings("app", "api")
	cutoff := start.Add(-7 * day) // noon
	expired = []string{
		e.flush("ing-a", "fake", api, cutoff.Add(-3*time.Hour), "old-a"),
		e.flush("ing-b", "fake", api, cutoff.Add(-2*time.Hour), "old-b"),
	}
	kept = []string{e.flush("ing-b", "fake", api, cutoff.Add(2*time.Hour), "new-b")}
	e.upload("ing-a")
	e.upload("ing-b")
	return expired, kept
}

func TestShippedRetention(t *testing.T) {
	e := newShippedEnv(t, storage.NewMemory(), validation.Limits{RetentionPeriod: days(7)})
	expired, kept := retentionDay(e)
	c := e.compactor(e.bucket)
	mustRun(t, c)
	onlyCompacted(t, e.tables("fake", dayOf(start.Add(-7*day))))
	if got := e.queried("fake"); !slices.Equal(got, kept) {
		t.Fatalf("queried %v, want only %v", shortKeys(got), shortKeys(kept))
	}
	mustSweep(t, c)
	for _, k := range expired {
		if !e.exists(k) {
			t.Fatalf("expired chunk %s deleted before retention_delete_delay", k)
		}
	}
	e.clock.Advance(e.cfg.RetentionDeleteDelay.D() + time.Minute)
	mustSweep(t, c)
	for _, k := range expired {
		if e.exists(k) {
			t.Errorf("expired chunk %s still stored after the delay", k)
		}
	}
	for _, k := range kept {
		if !e.exists(k) {
			t.Errorf("kept chunk %s deleted", k)
		}
	}
}

// failingDeletes is the bucket of a compactor that crashes before deleting merged tables: it
// refuses every delete of a table.
type failingDeletes struct{ storage.ObjectClient }

func (f failingDeletes) Delete(ctx context.Context, key string) error {
	if strings.HasPrefix(key, "index/") {
		return errors.New("crash before delete")
	}
	return f.ObjectClient.Delete(ctx, key)
}

func TestShippedCrashBetweenUploadAndDelete(t *testing.T) {
	e := newShippedEnv(t, storage.NewMemory(), validation.Limits{RetentionPeriod: days(7)})
	expired, kept := retentionDay(e)
	d := dayOf(start.Add(-7 * day))
	// A merged table of an earlier run, which ing-b's newer upload made partial.
	mustRun(t, e.compactor(e.bucket))
	again := e.flush("ing-b", "fake", labels.FromStrings("app", "web"), start.Add(-7*day+3*time.Hour), "late")
	e.upload("ing-b")
	kept = append(kept, again)
	slices.Sort(kept)
	// ing-b uploads its whole local table again, which still holds its expired chunk (its own
	// node's local pass has not run in this test).
	before := e.queried("fake")
	if want := append(slices.Clone(kept), expired[1]); !sameKeys(before, want) {
		t.Fatalf("before: queried %v, want %v", shortKeys(before), shortKeys(want))
	}

	e.clock.Advance(time.Minute)
	crashed := e.compactor(failingDeletes{e.bucket})
	if err := crashed.RunOnce(context.Background()); err == nil {
		t.Fatal("RunOnce with failing deletes succeeded")
	}
	if n := len(e.tables("fake", d)); n != 3 {
		t.Fatalf("after crash: %d shipped tables (%v), want the old merged one, ing-b's and the new merged one", n, names(e.tables("fake", d)))
	}
	if got := e.queried("fake"); !slices.Equal(got, before) {
		t.Fatalf("after crash: queried %v, want %v", shortKeys(got), shortKeys(before))
	}

	// The restarted compactor merges the leftovers into one table.
	e.clock.Advance(time.Minute)
	c := e.compactor(e.bucket)
	mustRun(t, c)
	onlyCompacted(t, e.tables("fake", d))
	if got := e.queried("fake"); !slices.Equal(got, kept) {
		t.Fatalf("after restart: queried %v, want %v", shortKeys(got), shortKeys(kept))
	}
	e.clock.Advance(e.cfg.RetentionDeleteDelay.D() + time.Minute)
	mustSweep(t, c)
	for _, k := range expired {
		if e.exists(k) {
			t.Errorf("expired chunk %s still stored", k)
		}
	}
	for _, k := range kept {
		if !e.exists(k) {
			t.Errorf("kept chunk %s deleted", k)
		}
	}
}

// TestShippedSweepKeepsChunksOfShippedTables crashes after the marker and the upload: the
// sources still reference the expired chunks, so the sweeper must keep them.
func TestShippedSweepKeepsChunksOfShippedTables(t *testing.T) {
	e := newShippedEnv(t, storage.NewMemory(), validation.Limits{RetentionPeriod: days(7)})
	expired, _ := retentionDay(e)
	crashed := e.compactor(failingDeletes{e.bucket})
	if err := crashed.RunOnce(context.Background()); err == nil {
		t.Fatal("RunOnce with failing deletes succeeded")
	}
	e.clock.Advance(e.cfg.RetentionDeleteDelay.D() + time.Minute)
	mustSweep(t, crashed)
	for _, k := range expired {
		if !e.exists(k) {
			t.Fatalf("chunk %s deleted while ingester tables still reference it", k)
		}
	}
	if got := counterValue(crashed.m.skippedReferenced); got != float64(len(expired)) {
		t.Errorf("still-referenced skips = %v, want %d", got, len(expired))
	}
}

// uploadDuring is a bucket that runs fn just before the first merged table is uploaded.
type uploadDuring struct {
	storage.ObjectClient
	fn   func()
	done bool
}

func (u *uploadDuring) Put(ctx context.Context, key string, r io.Reader) error {
	if strings.Contains(key, "/"+shipper.CompactedPrefix) && !u.done {
		u.done = true
		u.fn()
	}
	return u.ObjectClient.Put(ctx, key, r)
}

func TestShippedFileUploadedDuringCompactionIsKept(t *testing.T) {
	e := newShippedEnv(t, storage.NewMemory(), validation.Limits{})
	api := labels.FromStrings("app", "api")
	at := start.Add(-day)
	want := []string{e.flush("ing-a", "fake", api, at, "a"), e.flush("ing-b", "fake", api, at.Add(time.Minute), "b")}
	e.upload("ing-a")
	e.upload("ing-b")
	late := e.flush("ing-c", "fake", api, at.Add(2*time.Minute), "c")
	want = append(want, late)
	slices.Sort(want)
	bucket := &uploadDuring{ObjectClient: e.bucket, fn: func() { e.upload("ing-c") }}
	mustRun(t, e.compactor(bucket))
	if !bucket.done {
		t.Fatal("no merged table was uploaded")
	}
	got := names(e.tables("fake", dayOf(at)))
	if len(got) != 2 || !strings.HasPrefix(got[0], shipper.CompactedPrefix) || got[1] != "ing-c" {
		t.Fatalf("shipped tables = %v, want the merged one and ing-c", got)
	}
	if q := e.queried("fake"); !slices.Equal(q, want) {
		t.Fatalf("queried %v, want %v", shortKeys(q), shortKeys(want))
	}
}
