package tail

import (
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicelog/sluice/pkg/flagext"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/race"
	"github.com/sluicelog/sluice/pkg/unsafestr"
)

func TestSubscribeAppliesQuery(t *testing.T) {
	pushes := []logproto.Stream{
		stream(`{app="api", env="prod"}`, 100, "x one", "debug y", `{"level":"error","msg":"x boom"}`, `{"level":"info","msg":"x fine"}`),
		stream(`{app="web", env="prod"}`, 200, "x web", "debug web"),
		stream(`{app="db"}`, 300, "x db"),
	}
	for _, tc := range []struct {
		name, query string
		want        []string
		wantLabels  string // labels of the first entry, when set
	}{
		{"selector", `{app="web"}`, []string{"x web", "debug web"}, `{app="web", env="prod"}`},
		{"regexp selector", `{app=~"api|db"} |= "x"`, []string{"x one", `{"level":"error","msg":"x boom"}`, `{"level":"info","msg":"x fine"}`, "x db"}, ""},
		{"line filter", `{env="prod"} != "debug" |= "x"`, []string{"x one", `{"level":"error","msg":"x boom"}`, `{"level":"info","msg":"x fine"}`, "x web"}, ""},
		{"json and label filter", `{app="api"} | json | level="error"`, []string{`{"level":"error","msg":"x boom"}`},
			`{app="api", env="prod", level="error", msg="x boom"}`},
		{"line_format", `{app="api"} | json | level="info" | line_format "{{.msg}}!"`, []string{"x fine!"}, ""},
		{"no match", `{app="none"}`, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := New(Config{}, nil)
			s := subscribe(t, r, "t1", tc.query, 0)
			r.Push("t1", pushes)
			// A marker push on a stream every query sees tells when the hub is done.
			got, _ := collect(t, s, len(tc.want))
			if !slices.Equal(lines(got), tc.want) {
				t.Fatalf("lines = %q, want %q", lines(got), tc.want)
			}
			if tc.wantLabels != "" && got[0].Labels.String() != tc.wantLabels {
				t.Errorf("labels = %s, want %s", got[0].Labels.String(), tc.wantLabels)
			}
			quiet(t, s)
		})
	}
}

func TestSubscribeRejectsBadQueries(t *testing.T) {
	r := New(Config{}, nil)
	for _, q := range []string{``, `{app="a"`, `count_over_time({app="a"}[1m])`, `{app=~".*"}`, `{app="a"} | line_format "{{.a"`} {
		_, err := r.Subscribe("t", q, 0)
		var re *RequestError
		if !errors.As(err, &re) || re.StatusCode() != http.StatusBadRequest {
			t.Errorf("Subscribe(%q) = %v, want a 400 RequestError", q, err)
		}
	}
	if n := r.Tails("t"); n != 0 {
		t.Errorf("Tails = %d after failed subscriptions, want 0", n)
	}
}

func TestTenantsAreIsolated(t *testing.T) {
	r := New(Config{}, nil)
	a := subscribe(t, r, "a", `{app="x"}`, 0)
	b := subscribe(t, r, "b", `{app="x"}`, 0)
	r.Push("a", []logproto.Stream{stream(`{app="x"}`, 1, "for a")})
	got, _ := collect(t, a, 1)
	if got[0].Line != "for a" {
		t.Fatalf("tenant a got %q", got[0].Line)
	}
	quiet(t, b)
	r.Push("c", []logproto.Stream{stream(`{app="x"}`, 1, "for c")}) // no tail: nothing happens
	quiet(t, a)
	quiet(t, b)
}

func TestTakeOrdersByTimestampAfterDelay(t *testing.T) {
	r := New(Config{}, nil)
	s := subscribe(t, r, "t", `{app="x"}`, 2*time.Second)
	now := time.Now()
	t0 := now.UnixNano()
	r.Push("t", []logproto.Stream{stream(`{app="x"}`, t0+30, "third")})
	r.Push("t", []logproto.Stream{stream(`{app="y"}`, t0+10, "first"), stream(`{app="x"}`, t0+20, "second")})
	r.Push("t", []logproto.Stream{stream(`{app="x"}`, t0-int64(time.Minute), "old")})
	// Wait until the hub handed over all entries, then check what is due when.
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		n := len(s.pending)
		s.mu.Unlock()
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pending = %d, want 3", n)
		}
		time.Sleep(time.Millisecond)
	}
	es, _, wait := s.Take(now, 100, nil)
	if !slices.Equal(lines(es), []string{"old"}) {
		t.Fatalf("due now: %q, want only the entry older than delay_for", lines(es))
	}
	if wait <= 0 || wait > 2*time.Second+time.Millisecond {
		t.Fatalf("wait = %v, want up to delay_for", wait)
	}
	es, _, wait = s.Take(now.Add(2*time.Second+time.Millisecond), 100, nil)
	if !slices.Equal(lines(es), []string{"second", "third"}) {
		t.Fatalf("due after delay_for: %q, want [second third] in timestamp order", lines(es))
	}
	if wait != -1 {
		t.Fatalf("wait = %v with nothing pending, want -1", wait)
	}
}

func TestTakeHonoursMax(t *testing.T) {
	r := New(Config{}, nil)
	s := subscribe(t, r, "t", `{app="x"}`, 0)
	r.Push("t", []logproto.Stream{stream(`{app="x"}`, 1, "a", "b", "c")})
	collectN := func() []Entry {
		deadline := time.Now().Add(5 * time.Second)
		for {
			s.mu.Lock()
			n := len(s.pending)
			s.mu.Unlock()
			if n == 3 || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		es, _, wait := s.Take(time.Now(), 2, nil)
		if wait != 0 {
			t.Errorf("wait = %v with an entry due, want 0", wait)
		}
		return es
	}
	if got := lines(collectN()); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("Take(max 2) = %q", got)
	}
	if es, _, _ := s.Take(time.Now(), 2, nil); !slices.Equal(lines(es), []string{"c"}) {
		t.Fatalf("second Take = %q, want [c]", lines(es))
	}
}

func TestSlowSubscriberGetsDroppedEntries(t *testing.T) {
	reg := prometheus.NewRegistry()
	r := New(Config{BufferEntries: 10}, reg)
	slow := subscribe(t, r, "t", `{app="x"} | json`, 0)
	fast := subscribe(t, r, "t", `{app="x"}`, 0)
	var all []string
	for i := range 25 {
		all = append(all, fmt.Sprintf(`{"i":%d}`, i))
	}
	// Pushed one at a time, the fast reader keeps up while the slow one never reads.
	var got []Entry
	for i, l := range all {
		r.Push("t", []logproto.Stream{stream(`{app="x"}`, int64(i), l)})
		es, _ := collect(t, fast, 1)
		got = append(got, es...)
	}
	if len(got) != 25 {
		t.Fatalf("fast reader got %d entries, want 25", len(got))
	}
	es, ds := collect(t, slow, 25)
	if len(es) != 10 || len(ds) != 15 {
		t.Fatalf("slow reader got %d entries and %d drops, want 10 and 15", len(es), len(ds))
	}
	if ds[0].Timestamp != 10 || ds[0].Labels.String() != `{app="x", i="10"}` {
		t.Errorf("first drop = %d %s, want 10 {app=\"x\", i=\"10\"}", ds[0].Timestamp, ds[0].Labels)
	}
	// After reading, the slow subscriber has room again.
	r.Push("t", []logproto.Stream{stream(`{app="x"}`, 99, `{"i":99}`)})
	if es, ds := collect(t, slow, 1); len(es) != 1 || len(ds) != 0 {
		t.Fatalf("after catching up: %d entries, %d drops, want 1 and 0", len(es), len(ds))
	}
	if v := counterValue(t, reg, "sluice_tail_dropped_entries_total"); v != 15 {
		t.Errorf("dropped counter = %v, want 15", v)
	}
}

func TestBufferBytesBound(t *testing.T) {
	r := New(Config{BufferBytes: 10}, nil)
	s := subscribe(t, r, "t", `{app="x"}`, 0)
	r.Push("t", []logproto.Stream{stream(`{app="x"}`, 1, "12345", "67890", "x")})
	es, ds := collect(t, s, 3)
	if !slices.Equal(lines(es), []string{"12345", "67890"}) || len(ds) != 1 {
		t.Fatalf("got %q and %d drops, want two lines within 10 bytes and one drop", lines(es), len(ds))
	}
}

func TestPushNeverBlocks(t *testing.T) {
	r := New(Config{QueueSize: 1, BufferEntries: 1 << 20}, nil)
	s := subscribe(t, r, "t", `{app="x"}`, 0)
	const pushes = 500
	start := time.Now()
	var slowest time.Duration
	for i := range pushes {
		t0 := time.Now()
		r.Push("t", []logproto.Stream{stream(`{app="x"}`, int64(i), strings.Repeat("x", 100))})
		slowest = max(slowest, time.Since(t0))
	}
	took := time.Since(start)
	// Every entry is either delivered or reported dropped: nothing is lost silently.
	es, ds := collect(t, s, pushes)
	if len(es)+len(ds) != pushes {
		t.Fatalf("delivered %d + dropped %d, want %d", len(es), len(ds), pushes)
	}
	t.Logf("%d pushes in %v (slowest %v): %d delivered, %d dropped", pushes, took, slowest, len(es), len(ds))
	if slowest > 100*time.Millisecond {
		t.Errorf("slowest Push took %v", slowest)
	}
}

func TestPushCopiesItsInput(t *testing.T) {
	r := New(Config{}, nil)
	s := subscribe(t, r, "t", `{app="x"}`, 0)
	buf := []byte(`{app="x"}hello`)
	r.Push("t", []logproto.Stream{{Labels: unsafestr.String(buf[:9]), Entries: []logproto.Entry{{Timestamp: 1, Line: unsafestr.String(buf[9:])}}}})
	copy(buf, "XXXXXXXXXXXXXX") // the pusher reuses its buffer at once
	es, _ := collect(t, s, 1)
	if es[0].Line != "hello" || es[0].Labels.String() != `{app="x"}` {
		t.Fatalf("got %q %s, want the pushed line and labels", es[0].Line, es[0].Labels)
	}
}

func TestPushWithoutTailsAllocs(t *testing.T) {
	race.SkipAllocs(t)
	r := New(Config{}, nil)
	streams := []logproto.Stream{stream(`{app="x"}`, 1, "a", "b")}
	if n := testing.AllocsPerRun(100, func() { r.Push("t", streams) }); n != 0 {
		t.Errorf("Push with no tails: %v allocs, want 0", n)
	}
	// Nor when tails exist only for other tenants.
	subscribe(t, r, "other", `{app="x"}`, 0)
	if n := testing.AllocsPerRun(100, func() { r.Push("t", streams) }); n != 0 {
		t.Errorf("Push for a tenant without tails: %v allocs, want 0", n)
	}
}

func TestMaxPerTenant(t *testing.T) {
	r := New(Config{MaxPerTenant: 2}, nil)
	subscribe(t, r, "t", `{app="x"}`, 0)
	s2 := subscribe(t, r, "t", `{app="x"}`, 0)
	_, err := r.Subscribe("t", `{app="x"}`, 0)
	var re *RequestError
	if !errors.As(err, &re) || re.StatusCode() != http.StatusBadRequest || !strings.Contains(err.Error(), "(3 > 2)") {
		t.Fatalf("third Subscribe = %v, want Loki's limit error with 400", err)
	}
	subscribe(t, r, "other", `{app="x"}`, 0) // other tenants have their own count
	s2.Close()
	subscribe(t, r, "t", `{app="x"}`, 0) // a closed tail frees its place
}

// TestTenantLimit checks that a tenant's own limit (limits_config and its overrides) replaces
// MaxPerTenant for that tenant, in both directions, and that 0 falls back to MaxPerTenant.
func TestTenantLimit(t *testing.T) {
	own := map[string]int{"small": 1, "big": 3}
	r := New(Config{MaxPerTenant: 2, TenantLimit: func(tenant string) int { return own[tenant] }}, nil)
	for tenant, want := range map[string]int{"small": 1, "big": 3, "default": 2} {
		for range want {
			subscribe(t, r, tenant, `{app="x"}`, 0)
		}
		_, err := r.Subscribe(tenant, `{app="x"}`, 0)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("(%d > %d)", want+1, want)) {
			t.Fatalf("%s: tail %d = %v, want the limit of %d", tenant, want+1, err, want)
		}
	}
	own["small"] = 2 // overrides reload: the next Subscribe sees the new limit
	subscribe(t, r, "small", `{app="x"}`, 0)
}

func TestMaxDurationEndsTail(t *testing.T) {
	r := New(Config{MaxDuration: flagext.Duration(20 * time.Millisecond)}, nil)
	s := subscribe(t, r, "t", `{app="x"}`, 0)
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("tail still open after its maximum duration")
	}
	if !errors.Is(s.Err(), ErrMaxDuration) {
		t.Errorf("Err = %v, want ErrMaxDuration", s.Err())
	}
	if n := r.Tails("t"); n != 0 {
		t.Errorf("Tails = %d, want 0", n)
	}
}

func TestCloseEndsAllTails(t *testing.T) {
	r := New(Config{}, nil)
	before := runtime.NumGoroutine()
	var subs []*Subscription
	for i := range 5 {
		subs = append(subs, subscribe(t, r, fmt.Sprint("t", i%2), `{app="x"}`, 0))
	}
	r.Close()
	for _, s := range subs {
		if !isClosed(s.Done()) || !errors.Is(s.Err(), ErrClosed) {
			t.Fatalf("after Close: done=%v err=%v, want ErrClosed", isClosed(s.Done()), s.Err())
		}
		s.Close() // the reader's own Close afterwards is harmless
	}
	if _, err := r.Subscribe("t0", `{app="x"}`, 0); err == nil || err.(*RequestError).StatusCode() != http.StatusServiceUnavailable {
		t.Fatalf("Subscribe after Close = %v, want 503", err)
	}
	waitGoroutines(t, before)
}

func TestClosingLastTailStopsHub(t *testing.T) {
	r := New(Config{}, nil)
	before := runtime.NumGoroutine()
	a := subscribe(t, r, "t", `{app="x"}`, 0)
	b := subscribe(t, r, "t", `{app="y"}`, 0)
	if runtime.NumGoroutine() <= before {
		t.Fatal("no hub goroutine while tails are open")
	}
	a.Close()
	r.Push("t", []logproto.Stream{stream(`{app="y"}`, 1, "still")})
	if es, _ := collect(t, b, 1); es[0].Line != "still" {
		t.Fatalf("remaining tail got %q", es[0].Line)
	}
	b.Close()
	waitGoroutines(t, before)
	if r.active.Load() != 0 || len(r.hubs) != 0 {
		t.Fatalf("active = %d, hubs = %d after closing every tail", r.active.Load(), len(r.hubs))
	}
}

func TestConcurrentPushAndSubscribe(t *testing.T) {
	r := New(Config{}, nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r.Push("t", []logproto.Stream{stream(fmt.Sprintf(`{app="x", p="%d"}`, p), int64(i), "line")})
			}
		}()
	}
	for range 50 {
		s, err := r.Subscribe("t", `{app="x"} |= "line"`, 0)
		if err != nil {
			t.Fatal(err)
		}
		s.Take(time.Now(), 100, nil)
		s.Close()
	}
	close(stop)
	wg.Wait()
	if n := r.Tails("t"); n != 0 {
		t.Fatalf("Tails = %d, want 0", n)
	}
}

func waitGoroutines(tb testing.TB, want int) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			tb.Fatalf("goroutines = %d, want at most %d", runtime.NumGoroutine(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func counterValue(tb testing.TB, g prometheus.Gatherer, name string) float64 {
	tb.Helper()
	mfs, err := g.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func TestSameQuerySharesPipeline(t *testing.T) {
	r := New(Config{BufferEntries: 2}, nil)
	a := subscribe(t, r, "t", `{app="x"}|="y"`, 0)
	b := subscribe(t, r, "t", `{app="x"} |= "y"`, 0) // same query, other spelling
	c := subscribe(t, r, "t", `{app="x"} |= "z"`, 0)
	if a.pipeline != b.pipeline || a.pipeline == c.pipeline {
		t.Fatal("tails of one query should share a pipeline, and only they")
	}
	r.Push("t", []logproto.Stream{stream(`{app="x"}`, 1, "y1", "z", "y2")})
	if es, _ := collect(t, a, 2); !slices.Equal(lines(es), []string{"y1", "y2"}) {
		t.Fatalf("a got %q", lines(es))
	}
	// b shares the pipeline, not the buffer: it has its own entries and its own drops.
	r.Push("t", []logproto.Stream{stream(`{app="x"}`, 10, "y3")})
	if es, _ := collect(t, a, 1); !slices.Equal(lines(es), []string{"y3"}) {
		t.Fatalf("a got %q", lines(es))
	}
	// a has y3 before b is offered it (the hub serves a group's tails in turn), and reading b
	// now would make room for it. The hub takes pushes in order, so once c has a later push,
	// b has been offered y3.
	r.Push("t", []logproto.Stream{stream(`{app="x"}`, 11, "z2")})
	if es, _ := collect(t, c, 2); !slices.Equal(lines(es), []string{"z", "z2"}) {
		t.Fatalf("c got %q", lines(es))
	}
	es, ds := collect(t, b, 3)
	if !slices.Equal(lines(es), []string{"y1", "y2"}) || len(ds) != 1 || ds[0].Timestamp != 10 {
		t.Fatalf("b got %q and drops %v, want y1 y2 and y3 dropped", lines(es), ds)
	}
	a.Close()
	r.Push("t", []logproto.Stream{stream(`{app="x"}`, 20, "y4")})
	if es, _ := collect(t, b, 1); !slices.Equal(lines(es), []string{"y4"}) {
		t.Fatalf("b after a closed got %q", lines(es))
	}
}

func TestDistinctIsPerTail(t *testing.T) {
	r := New(Config{}, nil)
	const q = `{app="x"} | json | distinct i`
	first := subscribe(t, r, "t", q, 0)
	r.Push("t", []logproto.Stream{stream(`{app="x"}`, 1, `{"i":1}`)})
	collect(t, first, 1)
	second := subscribe(t, r, "t", q, 0)
	if first.pipeline == second.pipeline {
		t.Fatal("tails with distinct must not share a pipeline")
	}
	r.Push("t", []logproto.Stream{stream(`{app="x"}`, 2, `{"i":1}`, `{"i":2}`)})
	if es, _ := collect(t, first, 1); !slices.Equal(lines(es), []string{`{"i":2}`}) {
		t.Fatalf("first tail got %q, want only the new value", lines(es))
	}
	if es, _ := collect(t, second, 2); !slices.Equal(lines(es), []string{`{"i":1}`, `{"i":2}`}) {
		t.Fatalf("second tail got %q, want both values it had not seen", lines(es))
	}
}

func TestQueueBytesBound(t *testing.T) {
	r := New(Config{QueueBytes: 50}, nil)
	subscribe(t, r, "t", `{app="x"}`, 0)
	h := r.hubs["t"]
	// Hold the hub so that the queue fills.
	close(h.stop)
	<-h.done
	h.stop, h.done = make(chan struct{}), make(chan struct{})
	close(h.done)
	big := []logproto.Stream{stream(`{app="x"}`, 1, strings.Repeat("a", 100))}
	small := []logproto.Stream{stream(`{app="x"}`, 2, "b", "c")}
	r.Push("t", big)   // over the bound, but the queue is empty: queued
	r.Push("t", small) // would pass the bound: recorded as lost
	if len(h.queue) != 1 || h.queued.Load() != int64(streamsSize(big)) {
		t.Fatalf("queue holds %d pushes of %d bytes, want the big one only", len(h.queue), h.queued.Load())
	}
	if h.lostN != 2 || h.lost[0].ts[1] != 3 {
		t.Fatalf("lost = %+v, want the small push's two entries", h.lost)
	}
}
