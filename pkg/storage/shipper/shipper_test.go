package shipper_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/index"
	"github.com/sluicelog/sluice/pkg/storage"
	"github.com/sluicelog/sluice/pkg/storage/shipper"
)

const tenant = "fake"

// day0 is the start of an arbitrary UTC day (2024-01-01).
const day0 = int64(19723) * index.DayNanos

var wholeDay = [2]int64{day0, day0 + index.DayNanos - 1}

// countingObjects counts Puts and Gets that reach the bucket.
type countingObjects struct {
	storage.ObjectClient
	puts, gets atomic.Int64
}

func (c *countingObjects) Put(ctx context.Context, key string, r io.Reader) error {
	c.puts.Add(1)
	return c.ObjectClient.Put(ctx, key, r)
}

func (c *countingObjects) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	c.gets.Add(1)
	return c.ObjectClient.Get(ctx, key)
}

// node is one ingester/querier: a local index and its shipper.
type node struct {
	dir   string
	index *index.Index
	sh    *shipper.Shipper
	reg   *prometheus.Registry
}

func newNode(t *testing.T, objects storage.ObjectClient, name string) *node {
	t.Helper()
	return newNodeIn(t, objects, name, t.TempDir())
}

// newNodeIn is newNode over the data directory dir, for example a restarted node's.
func newNodeIn(t *testing.T, objects storage.ObjectClient, name, dir string) *node {
	t.Helper()
	ix, err := index.Open(filepath.Join(dir, "index"), index.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	sh, err := shipper.New(shipper.Config{CacheLocation: filepath.Join(dir, "cache"), IngesterName: name}, ix, objects, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sh.Downloads().Close(); err != nil {
			t.Error(err)
		}
		ix.Close()
	})
	return &node{dir: dir, index: ix, sh: sh, reg: reg}
}

func (n *node) add(t *testing.T, app string, from int64, sum uint32) {
	t.Helper()
	ref := index.ChunkRef{From: from, Through: from + 1e9, Checksum: sum, Entries: 1, UncompressedBytes: 10}
	if err := n.index.Add(context.Background(), tenant, labels.FromStrings("app", app), ref); err != nil {
		t.Fatal(err)
	}
}

func (n *node) upload(t *testing.T) {
	t.Helper()
	if err := n.sh.Uploader().Upload(context.Background()); err != nil {
		t.Fatalf("Upload() = %v", err)
	}
}

// chunks returns "app checksum…" for every series the node's store index finds on day0.
func (n *node) chunks(t *testing.T, tenantID string) []string {
	t.Helper()
	got, err := n.sh.Index().ChunkRefs(context.Background(), tenantID, wholeDay[0], wholeDay[1])
	if err != nil {
		t.Fatalf("ChunkRefs() = %v", err)
	}
	var out []string
	for _, s := range got {
		line := s.Labels.Get("app")
		for _, c := range s.Chunks {
			line += fmt.Sprintf(" %d", c.Checksum)
		}
		out = append(out, line)
	}
	return out
}

func (n *node) metric(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := n.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

func expect(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func TestUploadOnlyWhatChanged(t *testing.T) {
	objects := &countingObjects{ObjectClient: storage.NewMemory()}
	n := newNode(t, objects, "ing-1")
	n.add(t, "api", day0, 1)
	n.upload(t)
	if got := objects.puts.Load(); got != 1 {
		t.Fatalf("puts after first upload = %d, want 1", got)
	}
	keys, _ := objects.List(context.Background(), "index/")
	expect(t, "keys", keys, fmt.Sprintf("index/%d/fake/ing-1.db", index.DayOf(day0)))
	n.upload(t)
	n.upload(t)
	if got := objects.puts.Load(); got != 1 {
		t.Fatalf("puts after uploads without writes = %d, want 1", got)
	}
	n.add(t, "api", day0+1e9, 2)
	n.upload(t)
	if got := objects.puts.Load(); got != 2 {
		t.Fatalf("puts after a write = %d, want 2", got)
	}
	if got := n.metric(t, "sluice_shipper_uploads_total"); got != 2 {
		t.Errorf("sluice_shipper_uploads_total = %v, want 2", got)
	}
}

func TestQuerierSeesShippedTables(t *testing.T) {
	objects := &countingObjects{ObjectClient: storage.NewMemory()}
	ing := newNode(t, objects, "ing-1")
	q := newNode(t, objects, "querier")
	ing.add(t, "api", day0, 1)
	ing.add(t, "web", day0+index.DayNanos/2, 2)
	ing.upload(t)

	expect(t, "querier chunks", q.chunks(t, tenant), "api 1", "web 2")
	if got := q.metric(t, "sluice_shipper_downloads_total"); got != 1 {
		t.Errorf("downloads = %v, want 1", got)
	}
	// The querier's local index adds to what it downloaded.
	q.add(t, "api", day0+5e9, 9)
	expect(t, "querier chunks with its own", q.chunks(t, tenant), "api 1 9", "web 2")
	// Another tenant sees nothing.
	expect(t, "other tenant", q.chunks(t, "other"))

	// A new upload reaches the querier at its next sync; an unchanged table is not fetched again.
	ing.add(t, "api", day0+2e9, 3)
	ing.upload(t)
	gets := objects.gets.Load()
	if err := q.sh.Downloads().Sync(context.Background()); err != nil {
		t.Fatalf("Sync() = %v", err)
	}
	expect(t, "querier chunks after sync", q.chunks(t, tenant), "api 1 3 9", "web 2")
	if err := q.sh.Downloads().Sync(context.Background()); err != nil {
		t.Fatalf("Sync() = %v", err)
	}
	if got := objects.gets.Load() - gets; got != 1 {
		t.Errorf("Gets over two syncs = %d, want 1 (one changed table, then nothing)", got)
	}

	// The ingester does not download its own upload of a table it still has.
	expect(t, "ingester chunks", ing.chunks(t, tenant), "api 1 3", "web 2")
	if got := ing.metric(t, "sluice_shipper_downloads_total"); got != 0 {
		t.Errorf("ingester downloads = %v, want 0", got)
	}
}

// TestReplacedNode: a node that lost its disk and comes back under the same name must not
// overwrite what it shipped before with a table holding only its new writes.
func TestReplacedNode(t *testing.T) {
	objects := storage.NewMemory()
	first := newNode(t, objects, "ing-1")
	first.add(t, "api", day0, 1)
	first.upload(t)

	second := newNode(t, objects, "ing-1") // empty directory, same name
	expect(t, "second life before writing", second.chunks(t, tenant), "api 1")
	second.add(t, "api", day0+1e9, 2)
	expect(t, "second life before its upload", second.chunks(t, tenant), "api 1 2")
	second.upload(t)

	q := newNode(t, objects, "querier")
	expect(t, "querier", q.chunks(t, tenant), "api 1 2")
	// The second life's local table now holds everything: a later upload keeps both.
	second.add(t, "web", day0, 3)
	second.upload(t)
	if err := q.sh.Downloads().Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	expect(t, "querier after another upload", q.chunks(t, tenant), "api 1 2", "web 3")
}

func TestCorruptShippedTable(t *testing.T) {
	ctx := context.Background()
	objects := storage.NewMemory()
	ing := newNode(t, objects, "ing-1")
	ing.add(t, "api", day0, 1)
	ing.upload(t)
	day := index.DayOf(day0)

	// Garbage under another ingester's name, and the tenant's real table copied under another
	// tenant's key: both are refused, the good table still answers.
	if err := objects.Put(ctx, fmt.Sprintf("index/%d/fake/ing-2.db", day), bytes.NewReader(bytes.Repeat([]byte("x"), 8192))); err != nil {
		t.Fatal(err)
	}
	rc, err := objects.Get(ctx, fmt.Sprintf("index/%d/fake/ing-1.db", day))
	if err != nil {
		t.Fatal(err)
	}
	good, _ := io.ReadAll(rc)
	rc.Close()
	if err := objects.Put(ctx, fmt.Sprintf("index/%d/other/ing-1.db", day), bytes.NewReader(good)); err != nil {
		t.Fatal(err)
	}

	q := newNode(t, objects, "querier")
	expect(t, "chunks despite a corrupt table", q.chunks(t, tenant), "api 1")
	expect(t, "chunks of a misplaced table", q.chunks(t, "other"))
	if got := q.metric(t, "sluice_shipper_corrupt_tables_total"); got != 2 {
		t.Errorf("sluice_shipper_corrupt_tables_total = %v, want 2", got)
	}
}

func TestStartStop(t *testing.T) {
	objects := storage.NewMemory()
	n := newNode(t, objects, "ing-1")
	n.add(t, "api", day0, 1)
	n.sh.Start()
	if err := n.sh.Stop(context.Background()); err != nil {
		t.Fatalf("Stop() = %v", err)
	}
	keys, _ := objects.List(context.Background(), "index/")
	if len(keys) != 1 {
		t.Fatalf("keys after Stop = %v, want the table uploaded", keys)
	}
}

// TestCacheSurvivesRestart: a restarted querier reuses the tables it downloaded when they are
// still current, and fetches again the ones that changed.
func TestCacheSurvivesRestart(t *testing.T) {
	objects := storage.NewMemory()
	ing := newNode(t, objects, "ing-1")
	ing.add(t, "api", day0, 1)
	ing.upload(t)
	dir := t.TempDir()
	q := newNodeIn(t, objects, "querier", dir)
	expect(t, "first life", q.chunks(t, tenant), "api 1")
	if err := q.sh.Downloads().Close(); err != nil {
		t.Fatal(err)
	}
	q.index.Close()

	q = newNodeIn(t, objects, "querier", dir)
	expect(t, "second life", q.chunks(t, tenant), "api 1")
	if got := q.metric(t, "sluice_shipper_downloads_total"); got != 0 {
		t.Errorf("downloads after restart with a current cache = %v, want 0", got)
	}
	if err := q.sh.Downloads().Close(); err != nil {
		t.Fatal(err)
	}
	q.index.Close()

	ing.add(t, "api", day0+1e9, 2)
	ing.upload(t)
	q = newNodeIn(t, objects, "querier", dir)
	expect(t, "third life", q.chunks(t, tenant), "api 1 2")
	if got := q.metric(t, "sluice_shipper_downloads_total"); got != 1 {
		t.Errorf("downloads after restart with a stale cache = %v, want 1", got)
	}
}

// failingObjects fails every call while down is set.
type failingObjects struct {
	storage.ObjectClient
	down atomic.Bool
	puts atomic.Int64
}

var errDown = errors.New("bucket is down")

func (f *failingObjects) Put(ctx context.Context, key string, r io.Reader) error {
	f.puts.Add(1)
	if f.down.Load() {
		return errDown
	}
	return f.ObjectClient.Put(ctx, key, r)
}

func (f *failingObjects) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.ObjectClient.Get(ctx, key)
}

// TestUploadRetriesAfterOutage: while the bucket is down an upload fails fast (one try, not one
// per table) and loses nothing; the next upload after it is back ships every table.
func TestUploadRetriesAfterOutage(t *testing.T) {
	objects := &failingObjects{ObjectClient: storage.NewMemory()}
	n := newNode(t, objects, "ing-1")
	n.add(t, "api", day0, 1)
	n.upload(t)
	objects.down.Store(true)
	n.add(t, "api", day0+index.DayNanos, 2) // a second day's table
	n.add(t, "api", day0+1e9, 3)
	puts := objects.puts.Load()
	err := n.sh.Uploader().Upload(context.Background())
	if !errors.Is(err, errDown) {
		t.Fatalf("Upload() while down = %v, want %v", err, errDown)
	}
	if got := objects.puts.Load() - puts; got != 1 {
		t.Errorf("Puts while down = %d, want 1 (the upload stops at the first bucket error)", got)
	}
	objects.down.Store(false)
	n.upload(t)
	q := newNode(t, objects, "querier")
	got, err := q.sh.Index().ChunkRefs(context.Background(), tenant, day0, day0+2*index.DayNanos)
	if err != nil || len(got) != 1 || len(got[0].Chunks) != 3 {
		t.Fatalf("ChunkRefs after the outage = %+v, %v; want 3 chunks", got, err)
	}
}

// TestQuerierFollowsMergedTables: a querier listed the bucket, then the compactor merged that
// listing's table into a new file and deleted it. The querier's next query must find the
// merged file at once rather than miss the references until its next resync.
func TestQuerierFollowsMergedTables(t *testing.T) {
	objects := storage.NewMemory()
	ing := newNode(t, objects, "ing-1")
	ing.add(t, "api", day0, 1)
	ing.upload(t)
	q := newNode(t, objects, "querier")
	if err := q.sh.Downloads().List(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The compactor's merge: the same table under a compactor name, the source deleted.
	ctx := context.Background()
	src := fmt.Sprintf("index/%d/fake/ing-1.db", index.DayOf(day0))
	rc, err := objects.Get(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if err := objects.Put(ctx, fmt.Sprintf("index/%d/fake/compactor-1.db", index.DayOf(day0)), bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	if err := objects.Delete(ctx, src); err != nil {
		t.Fatal(err)
	}
	expect(t, "querier chunks after the merge", q.chunks(t, tenant), "api 1")
}
