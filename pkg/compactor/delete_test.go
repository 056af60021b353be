package compactor

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/compactor/deletion"
	"github.com/sluicelog/sluice/pkg/validation"
)

func ms(t time.Time) int64 { return t.UnixMilli() }

func TestDeleteRequestHidesLinesThenCompactionRemovesThem(t *testing.T) {
	e := newEnv(t, validation.Limits{})
	api, web := labels.FromStrings("app", "api"), labels.FromStrings("app", "web")
	partial := e.put("fake", api, start.Add(-2*day), "keep 1", "secret 1", "keep 2", "secret 2")
	allSecret := e.put("fake", api, start.Add(-2*day+time.Hour), "secret 3", "secret 4")
	outside := e.put("fake", api, start.Add(-5*day), "secret but too old")
	otherStream := e.put("fake", web, start.Add(-2*day), "secret web")
	otherTenant := e.put("other", api, start.Add(-2*day), "secret of other")

	req, err := e.deletes.Add(context.Background(), "fake", `{app="api"} |= "secret"`, ms(start.Add(-3*day)), ms(start.Add(-day)))
	if err != nil {
		t.Fatal(err)
	}
	// Hidden from queries at once, still stored.
	if got, want := e.lines("fake", `{app=~".+"}`, true), []string{"secret but too old", "keep 1", "secret web", "keep 2"}; !slices.Equal(got, want) {
		t.Fatalf("filtered lines = %q, want %q", got, want)
	}
	if got := e.lines("fake", `{app="api"}`, false); len(got) != 7 {
		t.Fatalf("stored lines = %q, want all 7", got)
	}
	if got := e.lines("other", `{app="api"}`, true); !slices.Equal(got, []string{"secret of other"}) {
		t.Fatalf("other tenant's lines = %q, want its own line kept", got)
	}

	// Within the cancel period the compactor leaves it alone.
	e.clock.Advance(23 * time.Hour)
	mustRun(t, e.c)
	if got := e.indexed("fake"); !sameKeys(got, []string{partial, allSecret, outside, otherStream}) {
		t.Fatalf("indexed within the cancel period = %s, want unchanged", shortKeys(got))
	}

	e.clock.Advance(time.Hour + time.Millisecond)
	mustRun(t, e.c)
	if got, want := e.lines("fake", `{app=~".+"}`, false), []string{"secret but too old", "keep 1", "secret web", "keep 2"}; !slices.Equal(got, want) {
		t.Fatalf("stored lines after compaction = %q, want %q", got, want)
	}
	indexed := e.indexed("fake")
	if slices.Contains(indexed, partial) || slices.Contains(indexed, allSecret) || !slices.Contains(indexed, outside) || !slices.Contains(indexed, otherStream) || len(indexed) != 3 {
		t.Fatalf("indexed after compaction = %s; want outside, otherStream and one rewritten chunk", shortKeys(indexed))
	}
	if got, _ := e.deletes.Get("fake", req.RequestID); got.Status != deletion.StatusProcessed {
		t.Fatalf("request status = %q, want processed", got.Status)
	}
	if got := counterValue(e.c.m.deletedLines.WithLabelValues("fake")); got != 4 {
		t.Errorf("deleted lines metric = %v, want 4", got)
	}
	if got := counterValue(e.c.m.rewritten); got != 1 {
		t.Errorf("rewritten chunks metric = %v, want 1", got)
	}
	if got := e.indexed("other"); !slices.Equal(got, []string{otherTenant}) {
		t.Fatalf("other tenant's chunks = %s, want untouched", shortKeys(got))
	}

	// The old objects go after the delay; the rewritten chunk stays.
	e.clock.Advance(2 * time.Hour)
	mustSweep(t, e.c)
	if got := e.keys("fake"); !sameKeys(got, indexed) {
		t.Fatalf("objects after sweep = %s, want exactly the indexed %s", shortKeys(got), shortKeys(indexed))
	}
	// Processed requests are not applied again: a second run changes nothing.
	mustRun(t, e.c)
	if got := e.indexed("fake"); !sameKeys(got, indexed) {
		t.Fatalf("indexed after a second run = %s, want %s", shortKeys(got), shortKeys(indexed))
	}
}

func TestDeleteRequestTimeRange(t *testing.T) {
	e := newEnv(t, validation.Limits{})
	api := labels.FromStrings("app", "api")
	at := start.Add(-2 * day)
	covered := e.put("fake", api, at, "a", "b")                    // at, at+1s
	half := e.put("fake", api, at.Add(time.Minute), "c", "d", "e") // +60s..+62s
	// The range ends at +61s inclusive: "c" and "d" go, "e" stays.
	if _, err := e.deletes.Add(context.Background(), "fake", `{app="api"}`, ms(at), ms(at.Add(61*time.Second))); err != nil {
		t.Fatal(err)
	}
	if got := e.lines("fake", `{app="api"}`, true); !slices.Equal(got, []string{"e"}) {
		t.Fatalf("filtered lines = %q, want [e]", got)
	}
	e.clock.Advance(25 * time.Hour)
	mustRun(t, e.c)
	if got := e.lines("fake", `{app="api"}`, false); !slices.Equal(got, []string{"e"}) {
		t.Fatalf("stored lines = %q, want [e]", got)
	}
	got := e.indexed("fake")
	if len(got) != 1 || got[0] == covered || got[0] == half {
		t.Fatalf("indexed = %s, want one new chunk", shortKeys(got))
	}
}

func TestCrashAfterRewriteBeforeRemoval(t *testing.T) {
	e := newEnv(t, validation.Limits{})
	api := labels.FromStrings("app", "api")
	old := e.put("fake", api, start.Add(-2*day), "keep", "secret", "keep too")
	req, err := e.deletes.Add(context.Background(), "fake", `{app="api"} |~ "sec.et"`, ms(start.Add(-3*day)), ms(start))
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(25 * time.Hour)
	// The rewritten chunk is stored, then the process dies before marking the old one.
	series, err := e.ix.TableChunks(context.Background(), "fake", dayOf(start.Add(-2*day)))
	if err != nil || len(series) != 1 {
		t.Fatalf("TableChunks = %v, %v", series, err)
	}
	reqs := e.deletes.Ready(e.clock.Now())["fake"]
	if len(reqs) != 1 || reqs[0].RequestID != req.RequestID {
		t.Fatalf("Ready = %v, want the request", reqs)
	}
	gone, err := e.c.rewrite(context.Background(), "fake", rewriteItem{lbls: api, ref: series[0].Chunks[0], reqs: reqs})
	if err != nil || !gone {
		t.Fatalf("rewrite = %v, %v; want gone", gone, err)
	}
	e.restart()
	// Both chunks are indexed now; queries still see each kept line once.
	if got := e.lines("fake", `{app="api"}`, true); !slices.Equal(got, []string{"keep", "keep too"}) {
		t.Fatalf("filtered lines after the crash = %q", got)
	}
	mustRun(t, e.c)
	if got := e.lines("fake", `{app="api"}`, false); !slices.Equal(got, []string{"keep", "keep too"}) {
		t.Fatalf("stored lines after the restarted run = %q, want the kept lines once", got)
	}
	e.clock.Advance(2 * time.Hour)
	mustSweep(t, e.c)
	keys := e.keys("fake")
	if slices.Contains(keys, old) || !sameKeys(keys, e.indexed("fake")) {
		t.Fatalf("objects = %s, indexed = %s; want the old chunk gone and every object indexed", shortKeys(keys), shortKeys(e.indexed("fake")))
	}
}

func TestDeleteSkipsCorruptChunk(t *testing.T) {
	e := newEnv(t, validation.Limits{})
	api := labels.FromStrings("app", "api")
	bad := e.put("fake", api, start.Add(-2*day), "keep", "secret")
	good := e.put("fake", api, start.Add(-2*day+time.Hour), "keep 2", "secret 2")
	if err := e.objects.Put(context.Background(), bad, strings.NewReader("not a chunk")); err != nil {
		t.Fatal(err)
	}
	r, err := e.deletes.Add(context.Background(), "fake", `{app="api"} |= "secret"`, 0, ms(start))
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(25 * time.Hour)
	mustRun(t, e.c)
	indexed := e.indexed("fake")
	if !slices.Contains(indexed, bad) || slices.Contains(indexed, good) || len(indexed) != 2 {
		t.Fatalf("indexed = %s; want the corrupt chunk kept and the good one rewritten", shortKeys(indexed))
	}
	if got, _ := e.deletes.Get("fake", r.RequestID); got.Status != deletion.StatusProcessed {
		t.Fatalf("status = %q, want processed", got.Status)
	}
	if got := counterValue(e.c.m.errors.WithLabelValues("corrupt_chunk")); got != 1 {
		t.Fatalf("corrupt chunk errors = %v, want 1", got)
	}
}
