package distributor

import (
	"context"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/validation"
)

func TestIncrementDuplicateTimestamp(t *testing.T) {
	const at = int64(1_700_000_000_000_000_000)
	type e = logproto.Entry
	cases := []struct {
		name     string
		in, want []e
	}{
		{"no repeats", []e{{Timestamp: at, Line: "a"}, {Timestamp: at + 5, Line: "b"}}, []e{{Timestamp: at, Line: "a"}, {Timestamp: at + 5, Line: "b"}}},
		{"a run of one timestamp keeps its order", []e{{Timestamp: at, Line: "a"}, {Timestamp: at, Line: "b"}, {Timestamp: at, Line: "c"}},
			[]e{{Timestamp: at, Line: "a"}, {Timestamp: at + 1, Line: "b"}, {Timestamp: at + 2, Line: "c"}}},
		{"an exact repeat keeps its timestamp, to be dropped as a duplicate", []e{{Timestamp: at, Line: "a"}, {Timestamp: at, Line: "a"}},
			[]e{{Timestamp: at, Line: "a"}, {Timestamp: at, Line: "a"}}},
		{"an empty line differs", []e{{Timestamp: at, Line: "a"}, {Timestamp: at, Line: ""}}, []e{{Timestamp: at, Line: "a"}, {Timestamp: at + 1, Line: ""}}},
		{"a timestamp met by a moved one moves on", []e{{Timestamp: at, Line: "a"}, {Timestamp: at, Line: "b"}, {Timestamp: at + 1, Line: "c"}},
			[]e{{Timestamp: at, Line: "a"}, {Timestamp: at + 1, Line: "b"}, {Timestamp: at + 2, Line: "c"}}},
		{"repeat of a moved line, then a new line", []e{{Timestamp: at, Line: "a"}, {Timestamp: at, Line: "b"}, {Timestamp: at, Line: "c"}, {Timestamp: at + 2, Line: "c"}, {Timestamp: at + 2, Line: "d"}, {Timestamp: at + 1e9, Line: "e"}},
			[]e{{Timestamp: at, Line: "a"}, {Timestamp: at + 1, Line: "b"}, {Timestamp: at + 2, Line: "c"}, {Timestamp: at + 2, Line: "c"}, {Timestamp: at + 3, Line: "d"}, {Timestamp: at + 1e9, Line: "e"}}},
		{"out of order entries are left alone", []e{{Timestamp: at, Line: "a"}, {Timestamp: at + 2e9, Line: "c"}, {Timestamp: at + 1e9, Line: "b"}},
			[]e{{Timestamp: at, Line: "a"}, {Timestamp: at + 2e9, Line: "c"}, {Timestamp: at + 1e9, Line: "b"}}},
	}
	now := time.Unix(0, at).Add(time.Minute)
	for _, tc := range cases {
		for _, on := range []bool{true, false} {
			lim := defaultLimits()
			lim.DiscoverLogLevels = false
			lim.IncrementDuplicateTimestamp = on
			rec := &recorder{}
			d := New(validation.NewOverrides(lim), rec, nil)
			d.now = func() time.Time { return now }
			in := append([]e(nil), tc.in...)
			if err := d.Push(context.Background(), "t", &logproto.PushRequest{Streams: []logproto.Stream{{Labels: `{app="a"}`, Entries: in}}}); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			want := tc.want
			if !on {
				want = tc.in
			}
			got := rec.streams[0].Entries
			if len(got) != len(want) {
				t.Fatalf("%s (on %v): %d entries, want %d", tc.name, on, len(got), len(want))
			}
			for i := range want {
				if got[i].Timestamp != want[i].Timestamp || got[i].Line != want[i].Line {
					t.Errorf("%s (on %v): entry %d = %d %q, want %d %q", tc.name, on, i, got[i].Timestamp-at, got[i].Line, want[i].Timestamp-at, want[i].Line)
				}
			}
		}
	}
}

// A rejected entry does not count as the previous one: Loki looks only at accepted entries.
func TestIncrementDuplicateTimestampSkipsRejected(t *testing.T) {
	const at = int64(1_700_000_000_000_000_000)
	lim := defaultLimits()
	lim.DiscoverLogLevels = false
	lim.IncrementDuplicateTimestamp = true
	lim.MaxLineSize = 5
	rec := &recorder{}
	d := New(validation.NewOverrides(lim), rec, nil)
	d.now = func() time.Time { return time.Unix(0, at).Add(time.Minute) }
	err := d.Push(context.Background(), "t", &logproto.PushRequest{Streams: []logproto.Stream{{Labels: `{app="a"}`, Entries: []logproto.Entry{
		{Timestamp: at, Line: "a"}, {Timestamp: at, Line: "far too long"}, {Timestamp: at, Line: "b"},
	}}}})
	if err == nil {
		t.Fatal("the long line was accepted")
	}
	got := rec.streams[0].Entries
	if len(got) != 2 || got[1].Timestamp != at+1 || got[1].Line != "b" {
		t.Errorf("kept %+v, want a at +0 and b at +1", got)
	}
}
