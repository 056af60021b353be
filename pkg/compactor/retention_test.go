package compactor

import (
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/validation"
)

func TestRetentionRemovesExpiredChunksThenObjects(t *testing.T) {
	e := newEnv(t, validation.Limits{RetentionPeriod: days(7)})
	app := labels.FromStrings("app", "api")
	old := e.put("fake", app, start.Add(-8*day), "old 1", "old 2")
	// A chunk ending exactly at the cutoff is not older than the period: kept.
	edge := e.put("fake", app, start.Add(-7*day), "edge")
	recent := e.put("fake", app, start.Add(-day), "recent")

	mustRun(t, e.c)
	if got, want := e.indexed("fake"), []string{edge, recent}; !sameKeys(got, want) {
		t.Fatalf("indexed after run = %s, want %s", shortKeys(got), shortKeys(want))
	}
	if got := e.lines("fake", `{app="api"}`, false); !slices.Equal(got, []string{"edge", "recent"}) {
		t.Fatalf("lines after run = %q, want [edge recent]", got)
	}
	// The object outlives its index entry by retention_delete_delay (2h).
	e.clock.Advance(time.Hour)
	mustSweep(t, e.c)
	if got := e.keys("fake"); !sameKeys(got, []string{old, edge, recent}) {
		t.Fatalf("objects 1h after the run = %s, want all three", shortKeys(got))
	}
	e.clock.Advance(time.Hour)
	mustSweep(t, e.c)
	if got := e.keys("fake"); !sameKeys(got, []string{edge, recent}) {
		t.Fatalf("objects 2h after the run = %s, want edge and recent", shortKeys(got))
	}
	if ms, _ := listMarkers(e.c.markers); len(ms) != 0 {
		t.Fatalf("markers left after sweeping: %v", ms)
	}
	// A day later the edge chunk has expired too.
	e.clock.Advance(day)
	mustRun(t, e.c)
	if got := e.indexed("fake"); !sameKeys(got, []string{recent}) {
		t.Fatalf("indexed a day later = %s, want only recent", shortKeys(got))
	}
}

func TestRetentionDisabledKeepsEverything(t *testing.T) {
	e := newEnv(t, validation.Limits{RetentionPeriod: days(1)})
	e.cfg.RetentionEnabled = false
	e.restart()
	k := e.put("fake", labels.FromStrings("app", "api"), start.Add(-30*day), "old")
	mustRun(t, e.c)
	e.clock.Advance(3 * time.Hour)
	mustSweep(t, e.c)
	if got := e.indexed("fake"); !slices.Equal(got, []string{k}) {
		t.Fatalf("indexed with retention disabled = %v, want the old chunk", got)
	}
}

func TestRetentionPerTenantAndStream(t *testing.T) {
	defaults := validation.Limits{
		RetentionPeriod: days(7),
		RetentionStream: []validation.StreamRetention{
			{Selector: `{env="dev"}`, Priority: 1, Period: days(1)},
			{Selector: `{env="dev", app="keep"}`, Priority: 2, Period: days(30)},
		},
	}
	for i := range defaults.RetentionStream {
		if err := defaults.RetentionStream[i].Parse(); err != nil {
			t.Fatal(err)
		}
	}
	e := newEnv(t, defaults)
	long := defaults
	long.RetentionPeriod = days(30)
	long.RetentionStream = []validation.StreamRetention{{Selector: `{env="prod"}`, Priority: 1, Period: days(2)}}
	if err := long.RetentionStream[0].Parse(); err != nil {
		t.Fatal(err)
	}
	e.overrides.SetTenantLimits(map[string]*validation.Limits{"long": &long})

	prod := labels.FromStrings("app", "api", "env", "prod")
	dev := labels.FromStrings("app", "api", "env", "dev")
	devKeep := labels.FromStrings("app", "keep", "env", "dev")
	var want, gone []string
	keep := func(k string) { want = append(want, k) }
	drop := func(k string) { gone = append(gone, k) }

	// Tenant "fake": global limits.
	drop(e.put("fake", prod, start.Add(-8*day), "fake prod 8d")) // 7d global period
	keep(e.put("fake", prod, start.Add(-3*day), "fake prod 3d")) // within 7d
	drop(e.put("fake", dev, start.Add(-2*day), "fake dev 2d"))   // dev stream: 1d
	keep(e.put("fake", devKeep, start.Add(-8*day), "fake keep")) // priority 2: 30d
	// Tenant "long": its own 30d period, and its own stream rule for prod.
	keep(e.put("long", prod, start.Add(-time.Hour*30), "long prod 30h")) // within 2d
	drop(e.put("long", prod, start.Add(-3*day), "long prod 3d"))         // prod: 2d
	drop(e.put("long", dev, start.Add(-2*day), "long dev 2d"))           // global dev rule: 1d
	keep(e.put("long", labels.FromStrings("app", "x"), start.Add(-20*day), "long x 20d"))

	mustRun(t, e.c)
	got := append(e.indexed("fake"), e.indexed("long")...)
	if !sameKeys(got, want) {
		t.Fatalf("indexed after run = %s\nwant %s", shortKeys(got), shortKeys(want))
	}
	e.clock.Advance(2 * time.Hour)
	mustSweep(t, e.c)
	objects := append(e.keys("fake"), e.keys("long")...)
	if !sameKeys(objects, want) {
		t.Fatalf("objects after sweep = %s\nwant %s", shortKeys(objects), shortKeys(want))
	}
}

func TestRetentionPeriodOf(t *testing.T) {
	rule := func(sel string, prio int, period int) validation.StreamRetention {
		r := validation.StreamRetention{Selector: sel, Priority: prio, Period: days(period)}
		if err := r.Parse(); err != nil {
			t.Fatal(err)
		}
		return r
	}
	ret := retention{
		tenant: []validation.StreamRetention{rule(`{a="1"}`, 1, 3), rule(`{a="1", b="2"}`, 1, 5), rule(`{c=~"x.*"}`, 0, 9)},
		global: []validation.StreamRetention{rule(`{a=~".+"}`, 5, 100)},
		period: 7 * day,
	}
	check := func(lbls labels.Labels, want time.Duration) {
		t.Helper()
		if got := ret.periodOf(lbls); got != want {
			t.Errorf("periodOf(%s) = %s, want %s", lbls, got, want)
		}
	}
	check(labels.FromStrings("a", "1"), 3*day)
	check(labels.FromStrings("a", "1", "b", "2"), 5*day)  // same priority: longer period
	check(labels.FromStrings("a", "1", "c", "xy"), 3*day) // higher priority wins over the longer 9d
	check(labels.FromStrings("a", "2"), 100*day)          // only the global rule matches
	check(labels.FromStrings("z", "1"), 7*day)            // no rule: the tenant's period
}
