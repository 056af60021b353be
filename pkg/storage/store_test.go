package storage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/chunk"
	"github.com/sluicelog/sluice/pkg/index"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql"
	"github.com/sluicelog/sluice/pkg/storage"
)

const tenant = "fake"

// day0 is the start of an arbitrary UTC day (2024-01-01).
const day0 = int64(19723) * index.DayNanos

func openIndex(t testing.TB) *index.Index {
	t.Helper()
	ix, err := index.Open(t.TempDir(), index.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

// makeChunk encodes n entries of lbls, one second apart from start.
func makeChunk(t testing.TB, lbls labels.Labels, start int64, n int) *storage.Chunk {
	t.Helper()
	h, err := chunk.NewHead(chunk.EncSnappy, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := h.Append(&logproto.Entry{Timestamp: start + int64(i)*1e9, Line: fmt.Sprintf("line %d of %s", i, lbls)}); err != nil {
			t.Fatal(err)
		}
	}
	b, err := h.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	minT, maxT := h.Bounds()
	return &storage.Chunk{Tenant: tenant, Labels: lbls, Data: b, From: minT, Through: maxT, Entries: n, UncompressedSize: h.UncompressedSize()}
}

func selectAll(t testing.TB, s *storage.Store) ([]string, error) {
	t.Helper()
	m := labels.MustNewMatcher(labels.MatchRegexp, "app", ".+")
	it, err := s.SelectLogs(context.Background(), tenant, logql.SelectLogParams{Matchers: []*labels.Matcher{m}, Start: day0, End: day0 + index.DayNanos, Direction: logproto.Forward})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []string
	for it.Next() {
		out = append(out, strings.Clone(it.At().Line)) // valid only until Next
	}
	return out, it.Err()
}

func TestStoreSkipsCorruptChunks(t *testing.T) {
	ctx := context.Background()
	objects := storage.NewMemory()
	store := storage.NewStore(storage.CachedObjects(objects, storage.NewChunkCache(1<<20, 0, nil)), openIndex(t))
	var reported []string
	store.OnCorruptChunk(func(key string, err error) {
		if !errors.Is(err, chunk.ErrCorrupt) {
			t.Errorf("reported error %v does not wrap chunk.ErrCorrupt", err)
		}
		reported = append(reported, key)
	})
	good := makeChunk(t, labels.FromStrings("app", "good"), day0, 10)
	bad := makeChunk(t, labels.FromStrings("app", "bad"), day0, 10)
	for _, c := range []*storage.Chunk{good, bad} {
		if err := store.PutChunk(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := selectAll(t, store); err != nil || len(got) != 20 {
		t.Fatalf("SelectLogs() = %d lines, %v; want 20", len(got), err)
	}

	keys, _ := objects.List(ctx, "chunks/")
	var badKey string
	for _, k := range keys {
		rc, _ := objects.Get(ctx, k)
		b, _ := io.ReadAll(rc)
		rc.Close()
		if bytes.Equal(b, bad.Data) {
			badKey = k
			b[len(b)/2] ^= 1
			if err := objects.Put(ctx, k, bytes.NewReader(b)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The cache still holds the intact copy (chunks never change under a key); a new store
	// without it sees the damage.
	store = storage.NewStore(objects, store.Index())
	store.OnCorruptChunk(func(key string, err error) { reported = append(reported, key) })
	got, err := selectAll(t, store)
	if err != nil || len(got) != 10 {
		t.Fatalf("SelectLogs() with a corrupt chunk = %d lines, %v; want the 10 of the intact chunk", len(got), err)
	}
	if len(reported) != 1 || reported[0] != badKey {
		t.Fatalf("reported %v, want [%s]", reported, badKey)
	}
}

func TestUnion(t *testing.T) {
	ctx := context.Background()
	a, b := openIndex(t), openIndex(t)
	api, web, db := labels.FromStrings("app", "api"), labels.FromStrings("app", "web"), labels.FromStrings("app", "db")
	ref := func(from int64, sum uint32) index.ChunkRef {
		return index.ChunkRef{From: day0 + from, Through: day0 + from + 10, Checksum: sum, Entries: 1, UncompressedBytes: 1}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.Add(ctx, tenant, api, ref(0, 1), ref(100, 2)))
	must(a.Add(ctx, tenant, web, ref(0, 3)))
	must(b.Add(ctx, tenant, api, ref(100, 2), ref(50, 4))) // ref(100, 2) is in both
	must(b.Add(ctx, tenant, db, ref(0, 5)))

	u := storage.Union(a, b)
	got, err := u.ChunkRefs(ctx, tenant, day0, day0+index.DayNanos-1)
	if err != nil {
		t.Fatal(err)
	}
	var summary []string
	for _, s := range got {
		line := s.Labels.String()
		for _, c := range s.Chunks {
			line += fmt.Sprintf(" %d", c.Checksum)
		}
		summary = append(summary, line)
	}
	want := []string{`{app="api"} 1 4 2`, `{app="db"} 5`, `{app="web"} 3`}
	if fmt.Sprint(summary) != fmt.Sprint(want) {
		t.Errorf("Union ChunkRefs = %v, want %v", summary, want)
	}
	series, err := u.Series(ctx, tenant, day0, day0+index.DayNanos-1, labels.MustNewMatcher(labels.MatchNotEqual, "app", "web"))
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 2 || series[0].Labels.Get("app") != "api" || series[1].Labels.Get("app") != "db" {
		t.Errorf("Union Series = %v, want api and db", series)
	}
	if storage.Union(a) != storage.IndexReader(a) {
		t.Error("Union of one reader should be that reader")
	}
}

// TestStoreSummariesOverUnion: Stats and Volume read every index the store reads, counting a
// chunk both know once.
func TestStoreSummariesOverUnion(t *testing.T) {
	ctx := context.Background()
	local, shipped := openIndex(t), openIndex(t)
	ref := func(from int64, sum uint32) index.ChunkRef {
		return index.ChunkRef{From: day0 + from, Through: day0 + from + 10, Checksum: sum, Entries: 2, UncompressedBytes: 100}
	}
	api, web := labels.FromStrings("app", "api"), labels.FromStrings("app", "web")
	for _, err := range []error{
		local.Add(ctx, tenant, api, ref(0, 1)),
		shipped.Add(ctx, tenant, api, ref(0, 1), ref(100, 2)),
		shipped.Add(ctx, tenant, web, ref(0, 3)),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	store := storage.NewStore(storage.NewMemory(), local)
	st, err := store.Stats(ctx, tenant, day0, day0+index.DayNanos-1)
	if err != nil || st != (index.Stats{Streams: 1, Chunks: 1, Bytes: 100, Entries: 2}) {
		t.Fatalf("Stats of the local index = %+v, %v", st, err)
	}
	store.SetIndexReader(storage.Union(local, shipped))
	st, err = store.Stats(ctx, tenant, day0, day0+index.DayNanos-1)
	if err != nil || st != (index.Stats{Streams: 2, Chunks: 3, Bytes: 300, Entries: 6}) {
		t.Fatalf("Stats of the union = %+v, %v", st, err)
	}
	vol, err := store.Volume(ctx, tenant, day0, day0+index.DayNanos-1, index.VolumeRequest{}, labels.MustNewMatcher(labels.MatchRegexp, "app", ".+"))
	if err != nil || len(vol) != 2 || vol[0].Name != `{app="api"}` || vol[0].Bytes != 200 || vol[1].Bytes != 100 {
		t.Fatalf("Volume of the union = %+v, %v", vol, err)
	}
}

// WriteChunk leaves chunks unfound until CommitChunks, which makes them durable and indexes
// them all; committing again adds nothing. Run over the filesystem backend, whose writes wait
// for the commit's one sync, bare and behind the chunk cache, and over memory.
func TestWriteThenCommitChunks(t *testing.T) {
	backends := map[string]func(t *testing.T) storage.ObjectClient{
		"fs": func(t *testing.T) storage.ObjectClient {
			fs, err := storage.OpenFS(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return fs
		},
		"cached fs": func(t *testing.T) storage.ObjectClient {
			fs, err := storage.OpenFS(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return storage.CachedObjects(fs, storage.NewChunkCache(1<<20, 0, nil))
		},
		"memory": func(*testing.T) storage.ObjectClient { return storage.NewMemory() },
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			objects := open(t)
			store := storage.NewStore(objects, openIndex(t))
			var cs []*storage.Chunk
			for i, app := range []string{"a", "b", "a"} {
				cs = append(cs, makeChunk(t, labels.FromStrings("app", app), day0+int64(i)*3600e9, 5))
			}
			for _, c := range cs {
				if err := store.WriteChunk(ctx, c); err != nil {
					t.Fatal(err)
				}
			}
			if keys, err := objects.List(ctx, "chunks/"); err != nil || len(keys) != 3 {
				t.Fatalf("objects after WriteChunk = %v, %v; want 3", keys, err)
			}
			if got, err := selectAll(t, store); err != nil || len(got) != 0 {
				t.Fatalf("SelectLogs() before the commit = %d lines, %v; want none", len(got), err)
			}
			for range 2 {
				if err := store.CommitChunks(ctx, cs); err != nil {
					t.Fatal(err)
				}
				if got, err := selectAll(t, store); err != nil || len(got) != 15 {
					t.Fatalf("SelectLogs() after the commit = %d lines, %v; want 15", len(got), err)
				}
			}
		})
	}
}

// A lone chunk whose blocks overlap in time (a late write, here a resent entry, landed in a
// later block) may hold a duplicate, and a query returns it once; a chunk cut in time order
// is read without de-duplication and returns every entry.
func TestStoreDedupesWithinOutOfOrderChunk(t *testing.T) {
	ctx := context.Background()
	for _, resend := range []bool{false, true} {
		store := storage.NewStore(storage.NewMemory(), openIndex(t))
		h, err := chunk.NewHead(chunk.EncSnappy, 1024, 0) // small blocks: cut every few entries
		if err != nil {
			t.Fatal(err)
		}
		line := func(i int) string { return fmt.Sprintf("line %03d %s", i, strings.Repeat("x", 100)) }
		n := 0
		for i := range 40 {
			if err := h.Append(&logproto.Entry{Timestamp: day0 + int64(i)*1e9, Line: line(i)}); err != nil {
				t.Fatal(err)
			}
			n++
		}
		if resend { // entry 3 again, long after its block was cut
			if err := h.Append(&logproto.Entry{Timestamp: day0 + 3e9, Line: line(3)}); err != nil {
				t.Fatal(err)
			}
			n++
		}
		b, err := h.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		c, err := chunk.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Blocks()) < 3 || c.InOrder() == resend {
			t.Fatalf("resend %v: %d blocks, InOrder %v", resend, len(c.Blocks()), c.InOrder())
		}
		minT, maxT := h.Bounds()
		if err := store.PutChunk(ctx, &storage.Chunk{Tenant: tenant, Labels: labels.FromStrings("app", "a"), Data: b,
			From: minT, Through: maxT, Entries: n, UncompressedSize: h.UncompressedSize()}); err != nil {
			t.Fatal(err)
		}
		got, err := selectAll(t, store)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 40 {
			t.Errorf("resend %v: %d lines, want 40", resend, len(got))
		}
		for i := 1; i < len(got); i++ {
			if got[i] <= got[i-1] {
				t.Errorf("resend %v: line %d %q after %q", resend, i, got[i][:8], got[i-1][:8])
			}
		}
	}
}

// TestStoreNoLinesBefore checks which entries a selection whose caller reads no line before a
// time gets without their lines: those of a series' lone chunks that end before it. Chunks that
// overlap are de-duplicated, which compares lines, and keep them, as do chunks reaching the
// time. The entries are the same as with every line read.
func TestStoreNoLinesBefore(t *testing.T) {
	ctx := context.Background()
	store := storage.NewStore(storage.NewMemory(), openIndex(t))
	a, b := labels.FromStrings("app", "a"), labels.FromStrings("app", "b")
	a3 := makeChunk(t, a, day0+105e9, 10) // overlaps a2: its first five entries repeat a2's last five
	chunks := []*storage.Chunk{
		makeChunk(t, a, day0, 10), makeChunk(t, a, day0+100e9, 10), a3,
		makeChunk(t, b, day0, 10), makeChunk(t, b, day0+200e9, 10),
	}
	// a3's lines differ from a2's ("line 0 of" at 105 s): make the repeated ones equal.
	h, err := chunk.NewHead(chunk.EncSnappy, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := h.Append(&logproto.Entry{Timestamp: day0 + 105e9 + int64(i)*1e9, Line: fmt.Sprintf("line %d of %s", i+5, a)}); err != nil {
			t.Fatal(err)
		}
	}
	if a3.Data, err = h.Bytes(); err != nil {
		t.Fatal(err)
	}
	for _, c := range chunks {
		if err := store.PutChunk(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	sel := func(end, noLinesBefore int64) []string {
		m := labels.MustNewMatcher(labels.MatchRegexp, "app", ".+")
		it, err := store.SelectLogs(ctx, tenant, logql.SelectLogParams{Matchers: []*labels.Matcher{m}, Start: day0, End: end,
			Direction: logproto.Forward, NoLinesBefore: noLinesBefore})
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		var out []string
		for it.Next() {
			out = append(out, fmt.Sprintf("%s %d %q", it.Labels(), (it.At().Timestamp-day0)/1e9, it.At().Line))
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	all := sel(day0+index.DayNanos, 0)
	if len(all) != 45 {
		t.Fatalf("%d entries with their lines, want 45 (50 stored, 5 repeated)", len(all))
	}
	// A range that ends inside b2, the caller reading none of its lines: b2's entries before
	// the end come without theirs.
	part := sel(day0+205e9, day0+205e9)
	if len(part) != 40 || part[len(part)-1] != `{app="b"} 204 ""` || part[len(part)-5] != `{app="b"} 200 ""` || part[len(part)-6] == `{app="a"} 114 ""` {
		t.Errorf("to 205 s, no line read: got %q", part)
	}
	got := sel(day0+index.DayNanos, day0+200e9)
	if len(got) != len(all) {
		t.Fatalf("%d entries without lines before 200 s, %d with every line", len(got), len(all))
	}
	for i, e := range all {
		var lbls string
		var sec int64
		if _, err := fmt.Sscanf(e, "%s %d", &lbls, &sec); err != nil {
			t.Fatal(err)
		}
		want := e
		if sec < 10 { // a1 and b1: lone chunks that end before 200 s
			want = fmt.Sprintf("%s %d %q", lbls, sec, "")
		}
		if got[i] != want {
			t.Errorf("entry %d: got %s, want %s", i, got[i], want)
		}
	}
}
