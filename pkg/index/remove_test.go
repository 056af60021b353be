package index_test

import (
	"context"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/index"
)

func TestRemoveChunks(t *testing.T) {
	ctx := context.Background()
	for _, postings := range []bool{false, true} {
		name := "labels"
		if postings {
			name = "postings"
		}
		t.Run(name, func(t *testing.T) {
			opts := index.Options{}
			if postings {
				index.SetAlwaysReadPostingsForTest(&opts)
			}
			ix := openIndex(t, t.TempDir(), opts)
			api := labels.FromStrings("app", "api", "env", "prod")
			web := labels.FromStrings("app", "web", "team", "blue")
			apiOld, apiNew := ref(day0+hour, day0+2*hour, 1), ref(day0+5*hour, day0+6*hour, 2)
			// A chunk spanning midnight is in two tables.
			webSpan := ref(day0+23*hour, day0+25*hour, 3)
			mustAdd(t, ix, api, apiOld, apiNew)
			mustAdd(t, ix, web, webSpan)

			n, err := ix.RemoveChunks(ctx, tenant, []index.SeriesRefs{{Labels: api, Refs: []index.ChunkRef{apiOld}}, {Labels: web, Refs: []index.ChunkRef{webSpan}}})
			if err != nil || n != 3 {
				t.Fatalf("RemoveChunks = %d, %v; want 3 table entries", n, err)
			}
			// Removing again changes nothing.
			if n, err := ix.RemoveChunks(ctx, tenant, []index.SeriesRefs{{Labels: web, Refs: []index.ChunkRef{webSpan}}}); err != nil || n != 0 {
				t.Fatalf("second RemoveChunks = %d, %v; want 0", n, err)
			}

			all := m(t, labels.MatchRegexp, "app", ".+")
			got, err := ix.ChunkRefs(ctx, tenant, day0, day0+2*index.DayNanos, all)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || !labels.Equal(got[0].Labels, api) || len(got[0].Chunks) != 1 || got[0].Chunks[0].Checksum != 2 {
				t.Fatalf("ChunkRefs after removal = %+v, want only api's chunk 2", got)
			}
			// The api series' span shrank: a range covering only the removed chunk finds nothing.
			series, err := ix.Series(ctx, tenant, day0, day0+3*hour, all)
			if err != nil || len(series) != 0 {
				t.Fatalf("Series in the removed chunk's range = %v, %v; want none", series, err)
			}
			names, err := ix.LabelNames(ctx, tenant, day0, day0+2*index.DayNanos)
			if err != nil || !slices.Equal(names, []string{"app", "env"}) {
				t.Fatalf("LabelNames = %v, %v; want [app env] (web's team label gone)", names, err)
			}
			values, err := ix.LabelValues(ctx, tenant, day0, day0+2*index.DayNanos, "app")
			if err != nil || !slices.Equal(values, []string{"api"}) {
				t.Fatalf("LabelValues(app) = %v, %v; want [api]", values, err)
			}
			neg, err := ix.Series(ctx, tenant, day0, day0+2*index.DayNanos, m(t, labels.MatchNotEqual, "team", "red"))
			if err != nil || len(neg) != 1 {
				t.Fatalf("Series(team!=red) = %v, %v; want api only", neg, err)
			}

			for _, c := range []struct {
				ref  index.ChunkRef
				want bool
			}{{apiOld, false}, {apiNew, true}, {webSpan, false}} {
				c.ref.Fingerprint = api.Hash()
				if c.ref.Checksum == 3 {
					c.ref.Fingerprint = web.Hash()
				}
				has, err := ix.HasChunk(ctx, tenant, c.ref)
				if err != nil || has != c.want {
					t.Errorf("HasChunk(%d) = %v, %v; want %v", c.ref.Checksum, has, err, c.want)
				}
			}

			// The series can come back, and new series still get posted after the removed one.
			mustAdd(t, ix, web, webSpan)
			other := labels.FromStrings("app", "web", "team", "green")
			mustAdd(t, ix, other, ref(day0+hour, day0+hour, 4))
			got, err = ix.ChunkRefs(ctx, tenant, day0, day0+2*index.DayNanos, m(t, labels.MatchEqual, "app", "web"))
			if err != nil || len(got) != 2 {
				t.Fatalf("ChunkRefs(app=web) after re-adding = %+v, %v; want 2 series", got, err)
			}
		})
	}
}

func TestRemoveChunksMissingTable(t *testing.T) {
	ix := openIndex(t, t.TempDir(), index.Options{})
	n, err := ix.RemoveChunks(context.Background(), tenant, []index.SeriesRefs{{Labels: labels.FromStrings("a", "b"), Refs: []index.ChunkRef{ref(day0, day0, 1)}}})
	if err != nil || n != 0 {
		t.Fatalf("RemoveChunks on an empty index = %d, %v; want 0, nil", n, err)
	}
	got, err := ix.TableChunks(context.Background(), tenant, index.DayOf(day0))
	if err != nil || got != nil {
		t.Fatalf("TableChunks of a missing table = %v, %v; want nil, nil", got, err)
	}
}
