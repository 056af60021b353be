package api

import (
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/tail"
)

// TestTailResponseShapes pins the bytes of tail messages to Loki's shapes.
func TestTailResponseShapes(t *testing.T) {
	streams := []Stream{{
		Labels: labels.FromStrings("app", "x", "pod", "p"),
		Entries: []Entry{
			{Timestamp: 1700000000000000001, Line: `say "hi"`},
			{Timestamp: 1700000000000000002, Line: "b", Parsed: labels.FromStrings("level", "warn")},
		},
	}}
	dropped := []tail.Dropped{{Timestamp: 1700000000000000003, Labels: labels.FromStrings("app", "x")}, {Timestamp: 4}}
	check := func(name, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
	check("v1", string(appendTailResponse(nil, streams, dropped, false)),
		`{"streams":[{"stream":{"app":"x","pod":"p"},"values":[["1700000000000000001","say \"hi\""],["1700000000000000002","b"]]}],`+
			`"dropped_entries":[{"timestamp":"1700000000000000003","labels":{"app":"x"}},{"timestamp":"4"}]}`)
	check("v1 categorized", string(appendTailResponse(nil, streams, nil, true)),
		`{"streams":[{"stream":{"app":"x","pod":"p"},"values":[["1700000000000000001","say \"hi\""],["1700000000000000002","b",{"parsed":{"level":"warn"}}]]}]}`)
	check("v1 drops only", string(appendTailResponse(nil, nil, dropped[:1], false)),
		`{"dropped_entries":[{"timestamp":"1700000000000000003","labels":{"app":"x"}}]}`)
	check("legacy", string(appendLegacyTailResponse(nil, streams, nil)),
		`{"streams":[{"labels":"{app=\"x\", pod=\"p\"}","entries":[{"ts":"2023-11-14T22:13:20.000000001Z","line":"say \"hi\""},`+
			`{"ts":"2023-11-14T22:13:20.000000002Z","line":"b"}]}],"dropped_entries":null}`)
	check("legacy drops", string(appendLegacyTailResponse(nil, nil, dropped[:1])),
		`{"streams":[],"dropped_entries":[{"Timestamp":"2023-11-14T22:13:20.000000003Z","Labels":"{app=\"x\"}"}]}`)
}

func TestStreamGrouperKeepsOrderAndGroups(t *testing.T) {
	a, b := labels.FromStrings("app", "a"), labels.FromStrings("app", "b")
	var g streamGrouper
	for i, ls := range []labels.Labels{a, b, a} {
		g.add(ls, ls.Hash(), Entry{Timestamp: int64(i)})
	}
	if len(g.streams) != 2 || len(g.streams[0].Entries) != 2 || g.streams[0].Entries[1].Timestamp != 2 || !labels.Equal(g.streams[1].Labels, b) {
		t.Fatalf("grouped = %+v", g.streams)
	}
}
