package ingester

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/distributor"
	"github.com/sluicelog/sluice/pkg/flagext"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql"
	"github.com/sluicelog/sluice/pkg/storage"
	"github.com/sluicelog/sluice/pkg/validation"
)

// memStore keeps flushed chunks.
type memStore struct {
	mu     sync.Mutex
	chunks []*storage.Chunk
}

func (m *memStore) PutChunk(_ context.Context, c *storage.Chunk) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.chunks = append(m.chunks, c)
	return nil
}

func newTestIngester(t testing.TB, walDir string, store Store) *Ingester {
	t.Helper()
	return newIngesterWith(t, store, func(c *Config) { c.WAL.Enabled, c.WAL.Dir = walDir != "", walDir })
}

func selectAll(t testing.TB, ing *Ingester, dir logproto.Direction) []string {
	t.Helper()
	it, err := ing.SelectLogs(context.Background(), "t", logql.SelectLogParams{
		Matchers: []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "app", "a")},
		Start:    0, End: 1 << 62, Direction: dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []string
	for it.Next() {
		out = append(out, fmt.Sprintf("%d:%s", it.At().Timestamp, it.At().Line))
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func streamOf(entries ...logproto.Entry) []logproto.Stream {
	return []logproto.Stream{{Labels: `{app="a"}`, Entries: entries}}
}

func TestOutOfOrderAndDuplicates(t *testing.T) {
	ing := newTestIngester(t, "", &memStore{})
	base := time.Now().UnixNano()
	ctx := context.Background()
	push := func(entries ...logproto.Entry) error { return ing.Push(ctx, "t", streamOf(entries...)) }
	if err := push(logproto.Entry{Timestamp: base + 30, Line: "c"}, logproto.Entry{Timestamp: base + 10, Line: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := push(logproto.Entry{Timestamp: base + 20, Line: "b"}, logproto.Entry{Timestamp: base + 10, Line: "a"}); err != nil {
		t.Fatal(err)
	}
	want := []string{fmt.Sprintf("%d:a", base+10), fmt.Sprintf("%d:b", base+20), fmt.Sprintf("%d:c", base+30)}
	if got := selectAll(t, ing, logproto.Forward); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("forward = %v, want %v (ordered, duplicate dropped)", got, want)
	}
	if got := selectAll(t, ing, logproto.Backward); got[0] != want[2] || got[2] != want[0] {
		t.Fatalf("backward = %v", got)
	}
	// An entry older than newest - max_chunk_age/2 (1h) is refused with 400, naming the stream.
	old := base + 30 - int64(61*time.Minute)
	err := push(logproto.Entry{Timestamp: old, Line: "late"}, logproto.Entry{Timestamp: base + 40, Line: "d"})
	var de *distributor.Error
	if !errors.As(err, &de) || de.Status != 400 || !strings.Contains(de.Msg, "entry too far behind") || !strings.Contains(de.Msg, `{app="a"}`) {
		t.Fatalf("late push = %v, want 400 entry too far behind", err)
	}
	if got := selectAll(t, ing, logproto.Forward); len(got) != 4 {
		t.Fatalf("after late push: %v, want the in-window entry kept", got)
	}
}

func TestWALReplayAndFlush(t *testing.T) {
	dir := t.TempDir()
	store := &memStore{}
	ing := newTestIngester(t, dir, store)
	base := time.Now().UnixNano()
	for i := 0; i < 100; i++ {
		if err := ing.Push(context.Background(), "t", streamOf(logproto.Entry{Timestamp: base + int64(i), Line: fmt.Sprintf("line %d", i),
			StructuredMetadata: labels.FromStrings("trace_id", fmt.Sprint(i))})); err != nil {
			t.Fatal(err)
		}
	}
	before := selectAll(t, ing, logproto.Forward)
	// Simulate a crash: close the WAL without flushing or checkpointing.
	if err := ing.wal.Close(); err != nil {
		t.Fatal(err)
	}
	again := newTestIngester(t, dir, store)
	after := selectAll(t, again, logproto.Forward)
	if strings.Join(before, "\n") != strings.Join(after, "\n") || len(after) != 100 {
		t.Fatalf("after replay %d entries, want the same 100", len(after))
	}
	// A clean stop flushes everything and leaves nothing to replay.
	again.Start()
	if err := again.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(store.chunks) == 0 || store.chunks[0].Entries != 100 {
		t.Fatalf("flushed %d chunks", len(store.chunks))
	}
	third := newTestIngester(t, dir, store)
	if got := selectAll(t, third, logproto.Forward); len(got) != 0 {
		t.Fatalf("after a clean stop the WAL replayed %d entries", len(got))
	}
	third.Stop(context.Background())
}

func BenchmarkPush(b *testing.B) {
	ing := newTestIngester(b, "", &memStore{})
	base := time.Now().UnixNano()
	line := `level=info ts=2024-01-01T00:00:00Z caller=server.go:42 msg="request served" method=GET path=/api/v1/users status=200 duration=12ms`
	streams := make([]logproto.Stream, 10)
	for s := range streams {
		streams[s].Labels = fmt.Sprintf(`{app="a", pod="p%d"}`, s)
		streams[s].Entries = make([]logproto.Entry, 100)
	}
	b.SetBytes(int64(10 * 100 * len(line)))
	b.ReportAllocs()
	n := int64(0)
	for b.Loop() {
		for s := range streams {
			for i := range streams[s].Entries {
				n++
				streams[s].Entries[i] = logproto.Entry{Timestamp: base + n, Line: line}
			}
		}
		if err := ing.Push(context.Background(), "t", streams); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPerStreamRateLimit(t *testing.T) {
	var cfg Config
	fs := flag.NewFlagSet("", flag.PanicOnError)
	cfg.RegisterFlags(fs)
	var lim validation.Limits
	lim.RegisterFlags(fs)
	lim.PerStreamRateLimit, lim.PerStreamRateLimitBurst = 100, 150
	cfg.WAL.Enabled = false
	ing, err := New(cfg, validation.NewOverrides(lim), &memStore{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ing.now = func() time.Time { return now }
	line := strings.Repeat("x", 100)
	if err := ing.Push(context.Background(), "t", streamOf(logproto.Entry{Timestamp: 1, Line: line})); err != nil {
		t.Fatalf("first push within the burst: %v", err)
	}
	err = ing.Push(context.Background(), "t", streamOf(logproto.Entry{Timestamp: 2, Line: line}))
	var de *distributor.Error
	if !errors.As(err, &de) || de.Status != 429 || !strings.Contains(de.Msg, "Per stream rate limit exceeded") {
		t.Fatalf("second push = %v, want 429 per stream rate limit", err)
	}
	// Another stream has its own budget.
	other := []logproto.Stream{{Labels: `{app="b"}`, Entries: []logproto.Entry{{Timestamp: 3, Line: line}}}}
	if err := ing.Push(context.Background(), "t", other); err != nil {
		t.Fatalf("other stream: %v", err)
	}
	now = now.Add(time.Second)
	if err := ing.Push(context.Background(), "t", streamOf(logproto.Entry{Timestamp: 4, Line: line})); err != nil {
		t.Fatalf("push after the bucket refilled: %v", err)
	}
}

func TestStreamLimit(t *testing.T) {
	var cfg Config
	fs := flag.NewFlagSet("", flag.PanicOnError)
	cfg.RegisterFlags(fs)
	var lim validation.Limits
	lim.RegisterFlags(fs)
	lim.MaxGlobalStreamsPerUser = 2
	cfg.WAL.Enabled = false
	ing, err := New(cfg, validation.NewOverrides(lim), &memStore{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	push := func(app string) error {
		return ing.Push(context.Background(), "team-a", []logproto.Stream{{Labels: fmt.Sprintf(`{app=%q}`, app), Entries: []logproto.Entry{{Timestamp: 1, Line: "x"}}}})
	}
	if err := push("a"); err != nil {
		t.Fatal(err)
	}
	if err := push("b"); err != nil {
		t.Fatal(err)
	}
	err = push("c")
	var de *distributor.Error
	if !errors.As(err, &de) || de.Status != 429 || !strings.Contains(de.Msg, "Maximum active stream limit exceeded") || !strings.Contains(de.Msg, "team-a") || !strings.Contains(de.Msg, "limit 2") {
		t.Fatalf("third stream = %v, want 429 naming the limit, the tenant and the value", err)
	}
	if err := push("a"); err != nil {
		t.Fatalf("an existing stream is still accepted: %v", err)
	}
}

// TestChunksSpanAtMostMaxChunkAge pushes six hours of one stream's logs at once, as a backfill
// or a promtail catching up does: the ingester cuts a chunk before an entry would make it span
// more than max_chunk_age (2h), and the sealed chunks are flushed at once, long before the
// next flush tick, so memory holds no more than max_chunk_age of the stream.
func TestChunksSpanAtMostMaxChunkAge(t *testing.T) {
	store := &memStore{}
	ing := newTestIngester(t, "", store)
	ing.cfg.FlushCheckPeriod = flagext.Duration(time.Hour)
	ing.Start()
	defer ing.Stop(context.Background())
	base := time.Now().Add(-6 * time.Hour).UnixNano()
	const n = 6 * 60
	for i := 0; i < n; i++ { // one entry a minute
		e := logproto.Entry{Timestamp: base + int64(i)*int64(time.Minute), Line: fmt.Sprintf("line %d", i)}
		if err := ing.Push(context.Background(), "t", streamOf(e)); err != nil {
			t.Fatal(err)
		}
	}
	// Entries 0..120 span exactly 2h (allowed); entry 121 would stretch the chunk past it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		store.mu.Lock()
		flushed := len(store.chunks)
		store.mu.Unlock()
		if flushed >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d chunks flushed 10s after pushing 6h of logs, want 2 sealed ones without waiting for the hourly tick", flushed)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := ing.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	total := 0
	for _, c := range store.chunks {
		if span := time.Duration(c.Through - c.From); span > 2*time.Hour {
			t.Errorf("chunk [%d, %d] spans %s, more than max_chunk_age", c.From, c.Through, span)
		}
		total += c.Entries
	}
	if len(store.chunks) != 3 || total != n {
		t.Errorf("%d chunks holding %d entries, want 3 holding %d", len(store.chunks), total, n)
	}
}

// TestAppendEntriesReturnsWhatItKept checks the entries appendEntries reports as accepted (what
// the WAL logs and tails see): all of them as the same slice when nothing is left out, and
// exactly the accepted ones, in order, when a duplicate or a too-old entry is.
func TestAppendEntriesReturnsWhatItKept(t *testing.T) {
	ing := newTestIngester(t, "", &memStore{})
	lim := ing.limits.For("t")
	s := &stream{key: `{app="a"}`}
	base := time.Now().UnixNano()
	in := []logproto.Entry{{Timestamp: base, Line: "a"}, {Timestamp: base + 1, Line: "b"}}
	kept, dups, err := s.appendEntries(in, &ing.cfg, lim, ing.enc, time.Now(), true)
	if err != nil || dups != 0 || len(kept) != 2 || &kept[0] != &in[0] {
		t.Fatalf("all accepted: kept %v (same slice: %v), dups %d, err %v", kept, len(kept) > 0 && &kept[0] == &in[0], dups, err)
	}
	old := base - int64(2*time.Hour)
	in = []logproto.Entry{{Timestamp: base + 2, Line: "c"}, {Timestamp: base + 1, Line: "b"}, {Timestamp: old, Line: "old"}, {Timestamp: base + 3, Line: "d"}}
	kept, dups, err = s.appendEntries(in, &ing.cfg, lim, ing.enc, time.Now(), true)
	var got []string
	for _, e := range kept {
		got = append(got, e.Line)
	}
	if strings.Join(got, ",") != "c,d" || dups != 1 || err == nil || !strings.Contains(err.Error(), "too far behind") {
		t.Fatalf("kept %v, dups %d, err %v; want c,d, 1 duplicate and the too-far-behind error", got, dups, err)
	}
	in[0].Line = "changed"
	if kept[0].Line != "c" {
		t.Error("with an entry left out, the kept entries must be a copy")
	}
}
