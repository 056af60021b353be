package compactor

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/chunk"
	"github.com/sluicelog/sluice/pkg/compactor/deletion"
	"github.com/sluicelog/sluice/pkg/flagext"
	"github.com/sluicelog/sluice/pkg/index"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql"
	"github.com/sluicelog/sluice/pkg/querier"
	"github.com/sluicelog/sluice/pkg/storage"
	"github.com/sluicelog/sluice/pkg/validation"
)

// clock is a manual clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// start is the manual clock's start: noon of 2024-03-10, UTC.
var start = time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// env is a compactor over real files: an index, a filesystem object store and delete requests
// under one temporary directory.
type env struct {
	t         testing.TB
	dir       string
	clock     *clock
	ix        *index.Index
	objects   *storage.FS
	store     *storage.Store
	overrides *validation.Overrides
	deletes   *deletion.Store
	cfg       Config
	c         *Compactor
	reg       *prometheus.Registry
}

func newEnv(t testing.TB, defaults validation.Limits) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), clock: &clock{t: start}, overrides: validation.NewOverrides(defaults)}
	e.cfg = DefaultConfig()
	e.cfg.RetentionEnabled = true
	e.cfg.WorkingDirectory = filepath.Join(e.dir, "compactor")
	e.cfg.RetentionDeleteWorkerCount = 4
	var err error
	if e.objects, err = storage.OpenFS(filepath.Join(e.dir, "chunks")); err != nil {
		t.Fatal(err)
	}
	e.open()
	return e
}

// open opens the index and delete requests and builds a compactor, as a (re)starting process.
func (e *env) open() {
	e.t.Helper()
	var err error
	if e.ix, err = index.Open(filepath.Join(e.dir, "index"), index.Options{NoSync: true}); err != nil {
		e.t.Fatal(err)
	}
	if e.deletes, err = deletion.Open(filepath.Join(e.cfg.WorkingDirectory, "deletion"), e.clock.Now); err != nil {
		e.t.Fatal(err)
	}
	e.store = storage.NewStore(e.objects, e.ix)
	e.reg = prometheus.NewRegistry()
	e.c, err = New(e.cfg, Deps{
		Index: e.ix, Objects: e.objects, Chunks: e.store, Limits: e.overrides, Deletes: e.deletes,
		Registerer: e.reg, Now: e.clock.Now,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	ix, deletes := e.ix, e.deletes
	e.t.Cleanup(func() {
		_ = ix.Close()
		_ = deletes.Close()
	})
}

// restart closes everything and opens it again on the same files.
func (e *env) restart() {
	e.t.Helper()
	if err := e.ix.Close(); err != nil {
		e.t.Fatal(err)
	}
	if err := e.deletes.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.open()
}

// put stores a chunk of the stream lbls with one entry per line, the i-th at at+i seconds, and
// returns its object key.
func (e *env) put(tenant string, lbls labels.Labels, at time.Time, lines ...string) string {
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
	before := e.keys(tenant)
	err = e.store.PutChunk(context.Background(), &storage.Chunk{
		Tenant: tenant, Labels: lbls, Data: b, From: from, Through: through, Entries: h.Entries(), UncompressedSize: h.UncompressedSize(),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, k := range e.keys(tenant) {
		if !slices.Contains(before, k) {
			return k
		}
	}
	e.t.Fatalf("put chunk of %s: no new object", lbls)
	return ""
}

// keys returns the chunk objects of tenant.
func (e *env) keys(tenant string) []string {
	e.t.Helper()
	keys, err := e.objects.List(context.Background(), "chunks/"+tenant+"/")
	if err != nil {
		e.t.Fatal(err)
	}
	return keys
}

// indexed returns the object keys of every chunk the index holds for tenant.
func (e *env) indexed(tenant string) []string {
	e.t.Helper()
	all, err := labels.NewMatcher(labels.MatchRegexp, "__name__", ".*")
	if err != nil {
		e.t.Fatal(err)
	}
	series, err := e.ix.ChunkRefs(context.Background(), tenant, 0, start.Add(10*day).UnixNano(), all)
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

// lines returns the stored lines of tenant's streams matching selector, oldest first, as
// "line" strings; with filtered, the delete requests hide theirs as the querier does.
func (e *env) lines(tenant, selector string, filtered bool) []string {
	e.t.Helper()
	ctx := context.Background()
	ms := parseSelector(e.t, selector)
	p := logql.SelectLogParams{Matchers: ms, Start: 0, End: start.Add(10 * day).UnixNano(), Direction: logproto.Forward}
	it, err := e.store.SelectLogs(ctx, tenant, p)
	if err != nil {
		e.t.Fatal(err)
	}
	if filtered {
		if it, err = querier.FilterDeleted(ctx, e.deletes, tenant, p, it); err != nil {
			e.t.Fatal(err)
		}
	}
	defer it.Close()
	var out []string
	for it.Next() {
		out = append(out, strings.Clone(it.At().Line))
	}
	if err := it.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func parseSelector(t testing.TB, s string) []*labels.Matcher {
	t.Helper()
	sr := validation.StreamRetention{Selector: s}
	if err := sr.Parse(); err != nil {
		t.Fatal(err)
	}
	return sr.Matchers
}

func mustRun(t testing.TB, c *Compactor) {
	t.Helper()
	if err := c.RunOnce(context.Background()); err != nil {
		t.Fatalf("RunOnce() = %v", err)
	}
}

func mustSweep(t testing.TB, c *Compactor) {
	t.Helper()
	if err := c.Sweep(context.Background()); err != nil {
		t.Fatalf("Sweep() = %v", err)
	}
}

func days(n int) flagext.Duration { return flagext.Duration(time.Duration(n) * day) }

func sameKeys(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func shortKeys(keys []string) string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k[strings.LastIndexByte(k, '/')+1:]
	}
	return strings.Join(out, " ")
}

func dayOf(t time.Time) int64 { return t.UnixNano() / int64(day) }

// counterValue reads a counter's value.
func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}
