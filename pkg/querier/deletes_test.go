package querier_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/compactor/deletion"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql"
	"github.com/sluicelog/sluice/pkg/querier"
	"github.com/sluicelog/sluice/pkg/race"
)

func TestFilterDeleted(t *testing.T) {
	ctx := context.Background()
	sec := int64(time.Second)
	streams := []logproto.Stream{
		{Labels: `{app="a"}`, Entries: []logproto.Entry{{Timestamp: 1 * sec, Line: "keep"}, {Timestamp: 2 * sec, Line: "secret"}, {Timestamp: 30 * sec, Line: "secret late"}}},
		{Labels: `{app="b"}`, Entries: []logproto.Entry{{Timestamp: 2 * sec, Line: "secret b"}}},
	}
	mq, err := logql.NewMemQuerier(streams)
	if err != nil {
		t.Fatal(err)
	}
	st, err := deletion.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Add(context.Background(), "t1", `{app="a"} |= "secret"`, 0, 10_000); err != nil {
		t.Fatal(err)
	}
	sel := func(tenant string, from, to int64) []string {
		t.Helper()
		ms := []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "app", ".+")}
		p := logql.SelectLogParams{Matchers: ms, Start: from, End: to, Direction: logproto.Forward}
		it, err := mq.SelectLogs(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if it, err = querier.FilterDeleted(ctx, st, tenant, p, it); err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		var out []string
		for it.Next() {
			out = append(out, it.Labels().Get("app")+":"+strings.Clone(it.At().Line))
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	check := func(got []string, want string) {
		t.Helper()
		if strings.Join(got, ",") != want {
			t.Errorf("got %v, want %s", got, want)
		}
	}
	check(sel("t1", 0, 60*sec), "a:keep,b:secret b,a:secret late")
	check(sel("t2", 0, 60*sec), "a:keep,a:secret,b:secret b,a:secret late")
	check(sel("t1", 20*sec, 60*sec), "a:secret late")
}

// sliceIter walks entries of one stream without allocating.
type sliceIter struct {
	lbls    labels.Labels
	hash    uint64
	entries []logproto.Entry
	i       int
}

func (s *sliceIter) Next() bool            { s.i++; return s.i <= len(s.entries) }
func (s *sliceIter) At() *logproto.Entry   { return &s.entries[s.i-1] }
func (s *sliceIter) Labels() labels.Labels { return s.lbls }
func (s *sliceIter) StreamHash() uint64    { return s.hash }
func (s *sliceIter) Err() error            { return nil }
func (s *sliceIter) Close() error          { return nil }

func benchEntries(n int) []logproto.Entry {
	out := make([]logproto.Entry, n)
	for i := range out {
		line := "GET /api/v1/users 200 12ms user=alice"
		if i%10 == 0 {
			line = "POST /login password=hunter2 user=bob"
		}
		out[i] = logproto.Entry{Timestamp: int64(i) * int64(time.Millisecond), Line: line}
	}
	return out
}

func filterSetup(tb testing.TB) (*deletion.Store, logql.SelectLogParams) {
	tb.Helper()
	st, err := deletion.Open(tb.TempDir(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	if _, err := st.Add(context.Background(), "t1", `{app="a"} |= "password="`, 0, 1<<40); err != nil {
		tb.Fatal(err)
	}
	return st, logql.SelectLogParams{Start: 0, End: 1 << 62, Direction: logproto.Forward}
}

func TestFilterDeletedAllocs(t *testing.T) {
	race.SkipAllocs(t)
	st, p := filterSetup(t)
	lbls := labels.FromStrings("app", "a")
	src := &sliceIter{lbls: lbls, hash: lbls.Hash(), entries: benchEntries(1000)}
	it, err := querier.FilterDeleted(context.Background(), st, "t1", p, src)
	if err != nil {
		t.Fatal(err)
	}
	it.Next() // the stream's filter is looked up once
	allocs := testing.AllocsPerRun(100, func() {
		if !it.Next() {
			src.i = 0
		}
	})
	if allocs != 0 {
		t.Fatalf("filtering allocates %v times per entry, want 0", allocs)
	}
}

func BenchmarkFilterDeleted(b *testing.B) {
	st, p := filterSetup(b)
	lbls := labels.FromStrings("app", "a")
	entries := benchEntries(10_000)
	var size int64
	for _, e := range entries {
		size += int64(len(e.Line))
	}
	b.ReportAllocs()
	b.SetBytes(size)
	for b.Loop() {
		src := &sliceIter{lbls: lbls, hash: lbls.Hash(), entries: entries}
		it, err := querier.FilterDeleted(context.Background(), st, "t1", p, src)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for it.Next() {
			n++
		}
		if n != 9000 {
			b.Fatalf("kept %d entries, want 9000", n)
		}
	}
}
