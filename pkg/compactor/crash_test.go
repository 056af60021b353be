package compactor

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/index"
	"github.com/sluicelog/sluice/pkg/validation"
)

// The crash tests run a compaction's steps one by one, stop ("crash") between two of them by
// restarting the environment on the same files, and check that nothing still referenced is
// ever deleted and that the work completes after the restart.

// markOnly does the first steps of a run on every table of tenant: plan and write the marker,
// but not remove the index entries, as a crash right after the marker's rename would leave it.
func markOnly(t *testing.T, e *env, tenant string) {
	t.Helper()
	ctx := context.Background()
	tables, err := index.ListTables(e.ix.Dir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tf := range tables {
		if tf.Tenant != tenant {
			continue
		}
		series, err := e.ix.TableChunks(ctx, tenant, tf.Day)
		if err != nil {
			t.Fatal(err)
		}
		p := e.c.plan(e.clock.Now(), tenant, series, nil)
		var keys []string
		for _, s := range p.drop {
			for _, r := range s.Refs {
				r.Tenant = tenant
				keys = append(keys, r.Key())
			}
		}
		if len(keys) == 0 {
			continue
		}
		if _, err := writeMarker(e.c.markers, e.clock.Now(), keys); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCrashAfterMarkerBeforeIndexRemoval(t *testing.T) {
	e := newEnv(t, validation.Limits{RetentionPeriod: days(7)})
	app := labels.FromStrings("app", "api")
	old := e.put("fake", app, start.Add(-8*day), "old")
	recent := e.put("fake", app, start.Add(-day), "recent")

	markOnly(t, e, "fake")
	e.restart()
	// Past the delay, the sweeper finds the marker but the index still references its chunk:
	// the object must stay, and the marker is done with.
	e.clock.Advance(3 * time.Hour)
	mustSweep(t, e.c)
	if got := e.keys("fake"); !sameKeys(got, []string{old, recent}) {
		t.Fatalf("objects after sweeping a marker of referenced chunks = %s, want both", shortKeys(got))
	}
	if got := e.lines("fake", `{app="api"}`, false); !slices.Equal(got, []string{"old", "recent"}) {
		t.Fatalf("lines = %q, want both still readable", got)
	}
	if ms, _ := listMarkers(e.c.markers); len(ms) != 0 {
		t.Fatalf("marker left after sweep: %v", ms)
	}
	// The next run marks and removes it for real, and a later sweep deletes it.
	mustRun(t, e.c)
	if got := e.indexed("fake"); !slices.Equal(got, []string{recent}) {
		t.Fatalf("indexed after the run = %s, want recent", shortKeys(got))
	}
	e.clock.Advance(2 * time.Hour)
	mustSweep(t, e.c)
	if got := e.keys("fake"); !slices.Equal(got, []string{recent}) {
		t.Fatalf("objects after the final sweep = %s, want recent", shortKeys(got))
	}
}

func TestCrashAfterIndexRemovalBeforeSweep(t *testing.T) {
	e := newEnv(t, validation.Limits{RetentionPeriod: days(7)})
	old := e.put("fake", labels.FromStrings("app", "api"), start.Add(-8*day), "old")
	mustRun(t, e.c)
	e.restart()
	// The marker on disk is the only record of the chunk; the restarted sweeper finds it.
	e.clock.Advance(time.Hour)
	mustSweep(t, e.c)
	if got := e.keys("fake"); !slices.Equal(got, []string{old}) {
		t.Fatalf("objects before the delay = %s, want the old chunk", shortKeys(got))
	}
	e.clock.Advance(time.Hour)
	mustSweep(t, e.c)
	if got := e.keys("fake"); len(got) != 0 {
		t.Fatalf("objects after the delay = %s, want none", shortKeys(got))
	}
}

func TestCrashDuringSweep(t *testing.T) {
	e := newEnv(t, validation.Limits{RetentionPeriod: days(7)})
	app := labels.FromStrings("app", "api")
	a := e.put("fake", app, start.Add(-9*day), "a")
	b := e.put("fake", app, start.Add(-8*day), "b")
	mustRun(t, e.c)
	// The sweep deleted one object, then the process died before removing the marker.
	if err := e.objects.Delete(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	e.restart()
	e.clock.Advance(2 * time.Hour)
	mustSweep(t, e.c)
	if got := e.keys("fake"); len(got) != 0 {
		t.Fatalf("objects after the resumed sweep = %s, want none (b=%s)", shortKeys(got), b)
	}
	if ms, _ := listMarkers(e.c.markers); len(ms) != 0 {
		t.Fatalf("marker left: %v", ms)
	}
}

func TestCrashWhileWritingMarker(t *testing.T) {
	e := newEnv(t, validation.Limits{RetentionPeriod: days(7)})
	old := e.put("fake", labels.FromStrings("app", "api"), start.Add(-8*day), "old")
	// A marker cut short by a crash keeps its temporary name; its chunks were never removed
	// from the index.
	tmp := filepath.Join(e.c.markers, "00000000000000000001-00000000"+tmpSuffix)
	if err := os.WriteFile(tmp, []byte(markerHeader+"\n"+old[:10]), 0o640); err != nil {
		t.Fatal(err)
	}
	// A damaged complete marker is reported and left alone, never acted on.
	bad := filepath.Join(e.c.markers, "00000000000000000002-00000000"+markerSuffix)
	if err := os.WriteFile(bad, []byte(markerHeader+"\n"+old), 0o640); err != nil {
		t.Fatal(err)
	}
	e.restart()
	e.clock.Advance(3 * time.Hour)
	if err := e.c.Sweep(context.Background()); err == nil {
		t.Fatal("Sweep() with a truncated marker = nil, want an error")
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("temporary marker still there: %v", err)
	}
	if _, err := os.Stat(bad); err != nil {
		t.Fatalf("damaged marker removed: %v", err)
	}
	if got := e.keys("fake"); !slices.Equal(got, []string{old}) {
		t.Fatalf("objects = %s, want the old chunk untouched", shortKeys(got))
	}
}

func TestSweepKeepsChunkReferencedByAnotherDay(t *testing.T) {
	e := newEnv(t, validation.Limits{})
	// A chunk spanning midnight is in two tables. A marker naming it (left by a crash, or by a
	// bug) must not delete it while either table references it.
	span := e.put("fake", labels.FromStrings("app", "api"), start.Add(-12*time.Hour-time.Second), "before midnight", "after")
	ref, err := index.ParseKey(span)
	if err != nil {
		t.Fatal(err)
	}
	if index.DayOf(ref.From) == index.DayOf(ref.Through) {
		t.Fatalf("chunk %s does not span midnight", span)
	}
	if _, err := writeMarker(e.c.markers, e.clock.Now(), []string{span}); err != nil {
		t.Fatal(err)
	}
	// Lose the first day's table: only the second day's still references the chunk.
	if err := e.ix.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(index.TablePath(e.ix.Dir(), "fake", index.DayOf(ref.From))); err != nil {
		t.Fatal(err)
	}
	if err := e.deletes.Close(); err != nil {
		t.Fatal(err)
	}
	e.open()
	e.clock.Advance(3 * time.Hour)
	mustSweep(t, e.c)
	if got := e.keys("fake"); !slices.Equal(got, []string{span}) {
		t.Fatalf("objects = %s, want the referenced chunk kept", shortKeys(got))
	}
}
