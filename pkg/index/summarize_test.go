package index_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/index"
)

// TestSummariesMatchIndex: StatsOf and VolumeOf over ChunkRefs' answer give what Index.Stats and
// Index.Volume give, for ranges inside a day, across days and cutting chunks.
func TestSummariesMatchIndex(t *testing.T) {
	ctx := context.Background()
	ix := openIndex(t, t.TempDir(), index.Options{})
	mustAdd(t, ix, labels.FromStrings("app", "api", "pod", "a"), ref(day0, day0+hour, 1), ref(day0+23*hour, day0+25*hour, 2))
	mustAdd(t, ix, labels.FromStrings("app", "api", "pod", "b"), ref(day0+2*hour, day0+3*hour, 3))
	mustAdd(t, ix, labels.FromStrings("app", "web", "pod", "c"), ref(day0+30*hour, day0+31*hour, 4), index.ChunkRef{From: day0 + 5*hour, Through: day0 + 6*hour, Checksum: 5})

	apps := m(t, labels.MatchRegexp, "app", ".+")
	api := m(t, labels.MatchEqual, "app", "api")
	for _, r := range [][2]int64{
		{day0, day0 + 2*index.DayNanos},
		{day0 + 30*minute, day0 + 24*hour},
		{day0 + 24*hour, day0 + 2*index.DayNanos},
		{day0 + 7*hour, day0 + 8*hour},
	} {
		for _, ms := range [][]*labels.Matcher{{apps}, {api}} {
			name := fmt.Sprintf("%v %v", r, ms)
			refs, err := ix.ChunkRefs(ctx, tenant, r[0], r[1], ms...)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ix.Stats(ctx, tenant, r[0], r[1], ms...)
			if err != nil {
				t.Fatal(err)
			}
			if got := index.StatsOf(refs, r[0], r[1]); got != want {
				t.Errorf("%s: StatsOf = %+v, Index.Stats = %+v", name, got, want)
			}
			for _, req := range []index.VolumeRequest{{}, {AggregateBy: index.AggregateByLabels}, {TargetLabels: []string{"pod"}}, {Limit: 1}} {
				run, err := index.VolumeMatchers(req, ms)
				if err != nil {
					t.Fatal(err)
				}
				sel, err := ix.ChunkRefs(ctx, tenant, r[0], r[1], run...)
				if err != nil {
					t.Fatal(err)
				}
				got, err := index.VolumeOf(sel, r[0], r[1], req, ms...)
				if err != nil {
					t.Fatal(err)
				}
				want, err := ix.Volume(ctx, tenant, r[0], r[1], req, ms...)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s %+v: VolumeOf = %v, Index.Volume = %v", name, req, got, want)
				}
			}
		}
	}
	if _, err := index.VolumeOf(nil, 0, 1, index.VolumeRequest{AggregateBy: "nope"}); err == nil {
		t.Error("VolumeOf with a bad aggregateBy: no error")
	}
}
