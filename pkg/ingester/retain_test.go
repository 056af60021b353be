package ingester

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/model/labels"
	"gopkg.in/yaml.v3"

	"github.com/sluicelog/sluice/pkg/flagext"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/validation"
)

// manualClock is a clock that moves only when told to.
type manualClock struct{ ns atomic.Int64 }

func newManualClock(t time.Time) *manualClock {
	c := &manualClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *manualClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *manualClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// newIngesterWith builds an ingester without WAL over store, with the defaults changed by edit
// (which may turn the WAL on).
func newIngesterWith(t testing.TB, store Store, edit func(*Config)) *Ingester {
	t.Helper()
	var cfg Config
	fs := flag.NewFlagSet("", flag.PanicOnError)
	cfg.RegisterFlags(fs)
	var lim validation.Limits
	lim.RegisterFlags(fs)
	cfg.WAL.Enabled = false
	edit(&cfg)
	ing, err := New(cfg, validation.NewOverrides(lim), store, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ing
}

// metricValue reads a counter's or gauge's current value.
func metricValue(t testing.TB, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.GetGauge().GetValue()
}

// pushLines pushes n entries to {app="a"} of tenant t, one nanosecond apart from base.
func pushLines(t testing.TB, ing *Ingester, base int64, n int) {
	t.Helper()
	var entries []logproto.Entry
	for i := range n {
		entries = append(entries, logproto.Entry{Timestamp: base + int64(i), Line: fmt.Sprintf("line %d", i)})
	}
	if err := ing.Push(context.Background(), "t", streamOf(entries...)); err != nil {
		t.Fatal(err)
	}
}

func seriesOfA(ing *Ingester) []labels.Labels {
	return ing.Series(context.Background(), "t", 0, 1<<62, []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "app", "a")})
}

// TestFlushedChunksAreRetained: a flushed chunk keeps answering queries (lines and series) for
// chunk_retain_period after its flush, counted in loki_ingester_memory_chunks but no longer as
// unflushed data, and is released at the first flush pass after that; the stream itself goes
// once idle, and both gauges come back to zero.
func TestFlushedChunksAreRetained(t *testing.T) {
	clock := newManualClock(time.Now())
	store := &memStore{}
	ing := newIngesterWith(t, store, func(c *Config) { c.ChunkRetainPeriod = RetainFor(time.Minute) })
	ing.now = clock.now
	ctx := context.Background()
	pushLines(t, ing, clock.now().UnixNano(), 10)
	before := selectAll(t, ing, logproto.Forward)
	if len(before) != 10 || metricValue(t, ing.metrics.chunks) != 1 || metricValue(t, ing.metrics.streams) != 1 {
		t.Fatalf("before the flush: %d lines, %v chunks, %v streams; want 10, 1, 1", len(before),
			metricValue(t, ing.metrics.chunks), metricValue(t, ing.metrics.streams))
	}
	if err := ing.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if len(store.chunks) != 1 || store.chunks[0].Entries != 10 {
		t.Fatalf("flushed %d chunks, want 1 of 10 entries", len(store.chunks))
	}

	retained := func(stage string) {
		t.Helper()
		if got := selectAll(t, ing, logproto.Forward); fmt.Sprint(got) != fmt.Sprint(before) {
			t.Fatalf("%s: lines %v, want the flushed ones %v", stage, got, before)
		}
		if got := seriesOfA(ing); len(got) != 1 {
			t.Fatalf("%s: series %v, want {app=\"a\"}", stage, got)
		}
		if st := ing.UnflushedStats(ctx, "t", 0, 1<<62, nil); len(st) != 0 {
			t.Fatalf("%s: unflushed stats %+v, want none (the store's index counts a retained chunk)", stage, st)
		}
		if n := metricValue(t, ing.metrics.chunks); n != 1 {
			t.Fatalf("%s: loki_ingester_memory_chunks = %v, want the retained chunk", stage, n)
		}
	}
	retained("right after the flush")
	clock.advance(time.Minute - time.Nanosecond)
	if err := ing.flush(ctx, false); err != nil {
		t.Fatal(err)
	}
	retained("a flush pass just before the period ends")

	clock.advance(time.Nanosecond)
	if err := ing.flush(ctx, false); err != nil {
		t.Fatal(err)
	}
	if got := selectAll(t, ing, logproto.Forward); len(got) != 0 {
		t.Fatalf("after the retain period: lines %v, want none", got)
	}
	if got := seriesOfA(ing); len(got) != 0 {
		t.Fatalf("after the retain period: series %v, want none", got)
	}
	if c, s := metricValue(t, ing.metrics.chunks), metricValue(t, ing.metrics.streams); c != 0 || s != 1 {
		t.Fatalf("after the retain period: %v chunks, %v streams; want 0 and the stream (not idle yet)", c, s)
	}
	clock.advance(ing.cfg.ChunkIdlePeriod.D())
	if err := ing.flush(ctx, false); err != nil {
		t.Fatal(err)
	}
	if c, s := metricValue(t, ing.metrics.chunks), metricValue(t, ing.metrics.streams); c != 0 || s != 0 {
		t.Fatalf("once idle: %v chunks, %v streams; want 0, 0", c, s)
	}
}

// TestSealedChunksAreRetained: chunks sealed because they are full or long are flushed at once
// (flushSealed) and retained too, next to the open head; the next flush pass after the retain
// period releases them and keeps the head.
func TestSealedChunksAreRetained(t *testing.T) {
	clock := newManualClock(time.Now())
	store := &memStore{}
	ing := newIngesterWith(t, store, func(c *Config) { c.ChunkRetainPeriod = RetainFor(time.Minute) })
	ing.now = clock.now
	ctx := context.Background()
	base := clock.now().Add(-6 * time.Hour).UnixNano()
	const n = 6 * 60
	for i := range n { // one entry a minute: chunks of 121, 121 and 118 entries (max_chunk_age 2h)
		e := logproto.Entry{Timestamp: base + int64(i)*int64(time.Minute), Line: fmt.Sprintf("line %d", i)}
		if err := ing.Push(ctx, "t", streamOf(e)); err != nil {
			t.Fatal(err)
		}
	}
	ing.flushSealed(ctx)
	if len(store.chunks) != 2 {
		t.Fatalf("flushSealed wrote %d chunks, want the 2 sealed ones", len(store.chunks))
	}
	if got := len(selectAll(t, ing, logproto.Forward)); got != n {
		t.Fatalf("after flushing the sealed chunks: %d lines, want all %d", got, n)
	}
	if c := metricValue(t, ing.metrics.chunks); c != 3 {
		t.Fatalf("loki_ingester_memory_chunks = %v, want 3 (2 retained, the head)", c)
	}
	clock.advance(time.Minute)
	if err := ing.flush(ctx, false); err != nil {
		t.Fatal(err)
	}
	if got := len(selectAll(t, ing, logproto.Forward)); got != n-2*121 {
		t.Fatalf("after the retain period: %d lines, want the head's %d", got, n-2*121)
	}
	if c := metricValue(t, ing.metrics.chunks); c != 1 {
		t.Fatalf("after the retain period: loki_ingester_memory_chunks = %v, want 1 (the head)", c)
	}
}

// TestZeroRetainPeriodDropsFlushedChunks: with chunk_retain_period 0, a flushed chunk leaves
// memory at the end of its flush, as before the setting existed.
func TestZeroRetainPeriodDropsFlushedChunks(t *testing.T) {
	clock := newManualClock(time.Now())
	store := &memStore{}
	ing := newIngesterWith(t, store, func(c *Config) { c.ChunkRetainPeriod = RetainFor(0) })
	ing.now = clock.now // never moves: the release must not wait for the clock
	pushLines(t, ing, clock.now().UnixNano(), 10)
	if err := ing.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(store.chunks) != 1 || store.chunks[0].Entries != 10 {
		t.Fatalf("flushed %d chunks, want 1 of 10 entries", len(store.chunks))
	}
	if got := selectAll(t, ing, logproto.Forward); len(got) != 0 {
		t.Fatalf("after the flush: lines %v, want none in memory", got)
	}
	if c := metricValue(t, ing.metrics.chunks); c != 0 {
		t.Fatalf("loki_ingester_memory_chunks = %v, want 0", c)
	}
}

// TestRetainedChunksReleasedByFlushLoop runs the flush loop on the real clock: a flushed chunk
// answers queries until the retain period has passed since its flush, never less, and the
// loop then releases it without being asked.
func TestRetainedChunksReleasedByFlushLoop(t *testing.T) {
	const retain = 500 * time.Millisecond
	store := &memStore{}
	ing := newIngesterWith(t, store, func(c *Config) {
		c.ChunkRetainPeriod = RetainFor(retain)
		c.FlushCheckPeriod = flagext.Duration(20 * time.Millisecond)
	})
	ing.Start()
	defer func() {
		if err := ing.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	pushLines(t, ing, time.Now().UnixNano(), 10)
	flushStart := time.Now() // the chunk's flush time is after this
	if err := ing.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := flushStart.Add(10 * time.Second)
	for {
		asked := time.Now()
		got := selectAll(t, ing, logproto.Forward)
		if len(got) == 0 {
			if held := asked.Sub(flushStart); held < retain {
				t.Fatalf("the chunk was gone %s after the flush began, before the retain period (%s)", held, retain)
			}
			break
		}
		if len(got) != 10 {
			t.Fatalf("retained chunk gives %d lines, want 10", len(got))
		}
		if asked.After(deadline) {
			t.Fatalf("the retained chunk is still in memory %s after its flush, retain period %s", asked.Sub(flushStart), retain)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if c := metricValue(t, ing.metrics.chunks); c != 0 {
		t.Fatalf("after the release: loki_ingester_memory_chunks = %v, want 0", c)
	}
	if len(store.chunks) != 1 {
		t.Fatalf("%d chunks in the store, want 1", len(store.chunks))
	}
}

// TestMemoryStreamsCountsEveryTenant: loki_ingester_memory_streams counts the streams of all
// tenants, not those of whichever tenant a flush pass looked at last.
func TestMemoryStreamsCountsEveryTenant(t *testing.T) {
	ing := newIngesterWith(t, &memStore{}, func(*Config) {})
	for _, tenant := range []string{"t", "u"} {
		if err := ing.Push(context.Background(), tenant, streamOf(logproto.Entry{Timestamp: 1, Line: "x"})); err != nil {
			t.Fatal(err)
		}
	}
	if err := ing.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := metricValue(t, ing.metrics.streams); s != 2 {
		t.Fatalf("loki_ingester_memory_streams = %v with one stream in each of two tenants, want 2", s)
	}
}

// TestRetainPeriod: chunk_retain_period not given means DefaultChunkRetainPeriod; given by flag
// or YAML, even as 0, it is what was given; negative, it is refused naming the field.
func TestRetainPeriod(t *testing.T) {
	var cfg Config
	fs := flag.NewFlagSet("", flag.PanicOnError)
	cfg.RegisterFlags(fs)
	if cfg.ChunkRetainPeriod.Given() || cfg.ChunkRetainPeriod.D() != DefaultChunkRetainPeriod {
		t.Fatalf("chunk_retain_period by default: given %v, %s; want not given, %s", cfg.ChunkRetainPeriod.Given(), cfg.ChunkRetainPeriod.D(), DefaultChunkRetainPeriod)
	}
	if err := fs.Parse([]string{"-ingester.chunks-retain-period=0s"}); err != nil {
		t.Fatal(err)
	}
	if !cfg.ChunkRetainPeriod.Given() || cfg.ChunkRetainPeriod.D() != 0 {
		t.Fatalf("-ingester.chunks-retain-period=0s: given %v, %s; want given, 0s", cfg.ChunkRetainPeriod.Given(), cfg.ChunkRetainPeriod.D())
	}
	var y struct {
		R RetainPeriod `yaml:"r"`
	}
	if err := yaml.Unmarshal([]byte("r: 1d\n"), &y); err != nil || !y.R.Given() || y.R.D() != 24*time.Hour {
		t.Fatalf("YAML r: 1d = %+v, %v; want given, 24h", y.R, err)
	}
	out, err := yaml.Marshal(y)
	if err != nil || string(out) != "r: 1d\n" {
		t.Fatalf("YAML of 1d = %q, %v", out, err)
	}
	cfg.ChunkRetainPeriod = RetainFor(-time.Second)
	if err := cfg.Validate(); err == nil || err.Error() != "ingester.chunk_retain_period: must not be negative, got -1s" {
		t.Fatalf("Validate with chunk_retain_period -1s = %v, want an error naming the field", err)
	}
	cfg.ChunkRetainPeriod = RetainFor(time.Second)
	if cfg.ChunkRetainMaxBytes != 256<<20 {
		t.Errorf("chunk_retain_max_bytes defaults to %d, want 256 MiB", cfg.ChunkRetainMaxBytes)
	}
	cfg.ChunkRetainMaxBytes = -1
	if err := cfg.Validate(); err == nil || err.Error() != "ingester.chunk_retain_max_bytes: must not be negative, got -1" {
		t.Fatalf("Validate with chunk_retain_max_bytes -1 = %v, want an error naming the field", err)
	}
}

// TestRetainBoundReleasesOldestFirst: when the retained chunks pass chunk_retain_max_bytes, the
// ones flushed first are released before their period ends, and the newest stay.
func TestRetainBoundReleasesOldestFirst(t *testing.T) {
	clock := newManualClock(time.Now())
	store := &memStore{}
	ing := newIngesterWith(t, store, func(c *Config) { c.ChunkRetainPeriod = RetainFor(time.Hour) })
	ing.now = clock.now
	ctx := context.Background()
	base := clock.now().UnixNano()
	flushBatch := func(k int) int {
		t.Helper()
		pushLines(t, ing, base+int64(k)*int64(time.Second), 10)
		if err := ing.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		clock.advance(time.Second)
		return len(store.chunks[len(store.chunks)-1].Data)
	}
	first := flushBatch(0)
	// Room for two chunks and a half: the third flush must release the first, early.
	ing.cfg.ChunkRetainMaxBytes = first * 5 / 2
	second, third := flushBatch(1), flushBatch(2)
	if len(store.chunks) != 3 {
		t.Fatalf("%d chunks flushed, want 3", len(store.chunks))
	}
	var batches []int64
	for _, e := range selectAll(t, ing, logproto.Forward) { // "ts:line"
		ts, _, _ := strings.Cut(e, ":")
		n, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if k := (n - base) / int64(time.Second); !slices.Contains(batches, k) {
			batches = append(batches, k)
		}
	}
	if !slices.Equal(batches, []int64{1, 2}) {
		t.Fatalf("batches still answered from memory: %v, want the last two", batches)
	}
	if got, want := ing.retained.Load(), int64(second+third); got != want {
		t.Fatalf("retained %d bytes, want %d (the last two chunks)", got, want)
	}
	if got, want := metricValue(t, ing.metrics.retainedBytes), float64(second+third); got != want {
		t.Errorf("sluice_ingester_retained_chunk_bytes = %v, want %v", got, want)
	}
	if got := metricValue(t, ing.metrics.releasedEarly); got != 1 {
		t.Errorf("sluice_ingester_retained_chunks_released_early_total = %v, want 1", got)
	}
	// Past the period every chunk goes, and the count comes back to zero; those two went in
	// their time, not early.
	clock.advance(time.Hour)
	if err := ing.flush(ctx, false); err != nil {
		t.Fatal(err)
	}
	if n := ing.retained.Load(); n != 0 || len(selectAll(t, ing, logproto.Forward)) != 0 {
		t.Fatalf("after the period: %d bytes retained, lines left; want none", n)
	}
	if got := metricValue(t, ing.metrics.releasedEarly); got != 1 {
		t.Errorf("after the period: released early %v, want still 1", got)
	}
	if got := metricValue(t, ing.metrics.retainedBytes); got != 0 {
		t.Errorf("after the period: retained chunk bytes gauge %v, want 0", got)
	}
}
