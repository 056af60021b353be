package logql

import (
	"context"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/iter"
	"github.com/sluicelog/sluice/pkg/logproto"
)

// blankingQuerier records the selections made and, as a store may, returns the entries before
// NoLinesBefore with an empty line.
type blankingQuerier struct {
	q      Querier
	params []SelectLogParams
}

func (b *blankingQuerier) SelectLogs(ctx context.Context, p SelectLogParams) (iter.EntryIterator, error) {
	b.params = append(b.params, p)
	it, err := b.q.SelectLogs(ctx, p)
	if err != nil {
		return nil, err
	}
	return &blanking{EntryIterator: it, before: p.NoLinesBefore}, nil
}

type blanking struct {
	iter.EntryIterator
	before int64
	e      logproto.Entry
}

func (b *blanking) At() *logproto.Entry {
	b.e = *b.EntryIterator.At()
	if b.e.Timestamp < b.before {
		b.e.Line = ""
	}
	return &b.e
}

// TestNoLinesForCounts checks which metric queries tell the querier they read no line: those
// that only count entries, through stages that only filter, drop or keep labels. Their results
// must not change when the lines are left out; every other query must read its lines.
func TestNoLinesForCounts(t *testing.T) {
	mem, err := NewMemQuerier(fixtureStreams())
	if err != nil {
		t.Fatal(err)
	}
	plain := NewEngine(mem, Options{})
	for _, tc := range []struct {
		query   string
		noLines bool
	}{
		{`count_over_time({env="prod"}[1m])`, true},
		{`sum by (app) (rate({env=~".+"}[2m]))`, true},
		{`absent_over_time({app="nope"}[1m])`, true},
		{`sum by (level, detected_level) (count_over_time({env="prod"} | drop __error__ [1m]))`, true},
		{`count_over_time({env=~".+"} | trace_id="t3" | keep app [5m])`, true},
		{`count_over_time({env="prod"} | app != "web" | keep app [1m]) > 0`, true},
		{`bytes_over_time({env="prod"}[1m])`, false},
		{`count_over_time({env="prod"} |= "status" [1m])`, false},
		{`count_over_time({env="prod"} != "x" [1m])`, false},
		{`count_over_time({env="prod"} | logfmt [1m])`, false},
		{`count_over_time({env="prod"} | json | level="error" [1m])`, false},
		{`count_over_time({env="prod"} | line_format "{{.app}}" [1m])`, false},
		{`count_over_time({env="prod"} | label_format l="{{__line__}}" [1m])`, false},
		{`sum_over_time({app="web"} | logfmt | unwrap latency [1m])`, false},
		{`rate({app="web"} | regexp "status=(?P<s>\\d+)" [1m])`, false},
	} {
		t.Run(tc.query, func(t *testing.T) {
			bq := &blankingQuerier{q: mem}
			p := rangeQ(tc.query, sec(0), sec(600), 30*time.Second)
			got, err := NewEngine(bq, Options{}).Query(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			want, err := plain.Query(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			if g, w := valueSummary(got.Data), valueSummary(want.Data); g != w {
				t.Errorf("without lines:\n%s\nwith them:\n%s", g, w)
			}
			if len(bq.params) == 0 {
				t.Fatal("no selection")
			}
			for _, sp := range bq.params {
				if set := sp.NoLinesBefore != 0; set != tc.noLines {
					t.Errorf("NoLinesBefore = %d (Start %d, End %d), want it set: %v", sp.NoLinesBefore, sp.Start, sp.End, tc.noLines)
				} else if set && sp.NoLinesBefore != sp.End {
					t.Errorf("NoLinesBefore = %d, want End %d", sp.NoLinesBefore, sp.End)
				}
			}
		})
	}
}
