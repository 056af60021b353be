package index_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/index"
)

func Example() {
	dir, err := os.MkdirTemp("", "index-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ix, err := index.Open(dir, index.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer ix.Close()
	ctx := context.Background()

	// At flush: record the chunks of two streams.
	const t0 = int64(1700000000) * 1e9
	api := labels.FromStrings("app", "api", "namespace", "prod")
	web := labels.FromStrings("app", "web", "namespace", "prod")
	err = ix.AddBatch(ctx, "tenant-1", []index.SeriesRefs{
		{Labels: api, Refs: []index.ChunkRef{{From: t0, Through: t0 + 60e9, Checksum: 1, Entries: 120, UncompressedBytes: 9000}}},
		{Labels: web, Refs: []index.ChunkRef{{From: t0, Through: t0 + 30e9, Checksum: 2, Entries: 10, UncompressedBytes: 800}}},
	})
	if err != nil {
		log.Fatal(err)
	}

	// At query time: which chunks hold {namespace="prod", app=~"a.*"}?
	sel := []*labels.Matcher{
		labels.MustNewMatcher(labels.MatchEqual, "namespace", "prod"),
		labels.MustNewMatcher(labels.MatchRegexp, "app", "a.*"),
	}
	series, err := ix.ChunkRefs(ctx, "tenant-1", t0, t0+3600e9, sel...)
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range series {
		for _, c := range s.Chunks {
			fmt.Println(s.Labels, c.Entries, c.Key() == index.ChunkRef{Tenant: "tenant-1", Fingerprint: api.Hash(), From: t0, Through: t0 + 60e9, Checksum: 1}.Key())
		}
	}
	values, err := ix.LabelValues(ctx, "tenant-1", t0, t0+3600e9, "app")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(values)
	// Output:
	// {app="api", namespace="prod"} 120 true
	// [api web]
}
