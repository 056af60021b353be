package querier_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/api"
	"github.com/sluicelog/sluice/pkg/iter"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql"
	"github.com/sluicelog/sluice/pkg/querier"
	"github.com/sluicelog/sluice/pkg/tenant"
)

// memEntry is one entry of a fake ingester.
type memEntry struct {
	ls labels.Labels
	e  logproto.Entry
}

// fakeIngester holds entries in memory and answers as an ingester does: matching streams,
// [start, end), needle applied, direction order (ties by labels).
type fakeIngester struct {
	tenant  string
	entries []memEntry
	fail    error // returned by the iterator's Err after its entries
	calls   atomic.Int32
	needles []string
}

func (f *fakeIngester) SelectLogs(_ context.Context, id string, p logql.SelectLogParams) (iter.EntryIterator, error) {
	f.calls.Add(1)
	f.needles = append(f.needles, string(p.Needle))
	var out []memEntry
	for _, m := range f.entries {
		if id != f.tenant || m.e.Timestamp < p.Start || m.e.Timestamp >= p.End || !matches(m.ls, p.Matchers) {
			continue
		}
		if len(p.Needle) > 0 && !strings.Contains(m.e.Line, string(p.Needle)) {
			continue
		}
		out = append(out, m)
	}
	slices.SortStableFunc(out, func(a, b memEntry) int {
		if a.e.Timestamp != b.e.Timestamp {
			if p.Direction == logproto.Forward {
				return int(a.e.Timestamp - b.e.Timestamp)
			}
			return int(b.e.Timestamp - a.e.Timestamp)
		}
		return labels.Compare(a.ls, b.ls)
	})
	return &memIterator{entries: out, i: -1, fail: f.fail}, nil
}

func (f *fakeIngester) Series(_ context.Context, id string, from, through int64, ms []*labels.Matcher) []labels.Labels {
	f.calls.Add(1)
	var out []labels.Labels
	for _, m := range f.entries {
		if id == f.tenant && m.e.Timestamp >= from && m.e.Timestamp < through && matches(m.ls, ms) {
			out = append(out, m.ls)
		}
	}
	return out
}

func matches(ls labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(ls.Get(m.Name)) {
			return false
		}
	}
	return true
}

type memIterator struct {
	entries []memEntry
	i       int
	fail    error
}

func (it *memIterator) Next() bool            { it.i++; return it.i < len(it.entries) }
func (it *memIterator) At() *logproto.Entry   { return &it.entries[it.i].e }
func (it *memIterator) Labels() labels.Labels { return it.entries[it.i].ls }
func (it *memIterator) StreamHash() uint64    { return it.entries[it.i].ls.Hash() }
func (it *memIterator) Err() error {
	if it.i >= len(it.entries) {
		return it.fail
	}
	return nil
}
func (it *memIterator) Close() error { return nil }

// serve starts a real HTTP server on 127.0.0.1 serving f as an ingester process does, and
// returns its host:port.
func serve(t *testing.T, f *fakeIngester) string {
	t.Helper()
	a := api.New(api.Deps{Ingester: f, AuthEnabled: true})
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// closedAddr returns an address on 127.0.0.1 nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func mustMatcher(t *testing.T, typ labels.MatchType, name, value string) *labels.Matcher {
	t.Helper()
	m, err := labels.NewMatcher(typ, name, value)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// collect drains it into "labels ts line [metadata]" strings.
func collect(t *testing.T, it iter.EntryIterator) ([]string, error) {
	t.Helper()
	defer it.Close()
	var out []string
	for it.Next() {
		e := it.At()
		s := fmt.Sprintf("%s %d %s", it.Labels(), e.Timestamp, e.Line)
		if !e.StructuredMetadata.IsEmpty() {
			s += " " + e.StructuredMetadata.String()
		}
		if it.StreamHash() != it.Labels().Hash() {
			t.Fatalf("StreamHash of %s is not its labels' hash", it.Labels())
		}
		out = append(out, s)
	}
	return out, it.Err()
}

const testTenant = "team-a"

func ctx() context.Context { return tenant.With(context.Background(), testTenant) }

// TestRemoteMergesIngesters: two ingesters hold parts of one stream, and one holds an entry
// the other has too (a replica, or a chunk flushed twice); the remote client returns every
// entry once, in order, both directions, with structured metadata, labels that need quoting,
// and the query's line filter applied on its side while the ingesters got only the needle.
func TestRemoteMergesIngesters(t *testing.T) {
	now := time.Now().UnixNano()
	odd := labels.FromStrings("app", "a", "path", `C:\dir "quoted" é`)
	plain := labels.FromStrings("app", "a", "pod", "p1")
	other := labels.FromStrings("app", "b")
	f1 := &fakeIngester{tenant: testTenant}
	f2 := &fakeIngester{tenant: testTenant}
	var want []string
	for i := range 40 {
		ts := now - int64(time.Minute) + int64(i)*int64(time.Millisecond)
		e := logproto.Entry{Timestamp: ts, Line: fmt.Sprintf("line %d keep", i)}
		ls := plain
		if i%3 == 0 {
			ls = odd
			e.StructuredMetadata = labels.FromStrings("trace_id", fmt.Sprint(i))
		}
		if i%4 == 0 {
			e.Line = fmt.Sprintf("line %d drop", i)
		}
		if i%2 == 0 {
			f1.entries = append(f1.entries, memEntry{ls, e})
		} else {
			f2.entries = append(f2.entries, memEntry{ls, e})
		}
		if i%5 == 0 { // in both
			f1.entries = append(f1.entries, memEntry{ls, e})
			f2.entries = append(f2.entries, memEntry{ls, e})
		}
		f2.entries = append(f2.entries, memEntry{other, e}) // not selected
		if !strings.Contains(e.Line, "drop") {
			s := fmt.Sprintf("%s %d %s", ls, e.Timestamp, e.Line)
			if !e.StructuredMetadata.IsEmpty() {
				s += " " + e.StructuredMetadata.String()
			}
			want = append(want, s)
		}
	}
	r, err := querier.NewRemote([]string{serve(t, f1), serve(t, f2)}, 3*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
		p := logql.SelectLogParams{
			Matchers: []*labels.Matcher{mustMatcher(t, labels.MatchEqual, "app", "a")},
			Start:    now - int64(time.Hour), End: now, Direction: dir,
			LineFilter: func(b []byte) bool { return strings.HasSuffix(string(b), "keep") },
			Needle:     []byte("line"),
		}
		it, err := r.SelectLogs(ctx(), testTenant, p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := collect(t, it)
		if err != nil {
			t.Fatal(err)
		}
		exp := slices.Clone(want)
		if dir == logproto.Backward {
			slices.Reverse(exp)
		}
		if !slices.Equal(got, exp) {
			t.Fatalf("%s: got\n%s\nwant\n%s", dir, strings.Join(got, "\n"), strings.Join(exp, "\n"))
		}
	}
	if f1.needles[0] != "line" {
		t.Errorf("ingester got needle %q, want %q", f1.needles[0], "line")
	}

	series, err := r.Series(ctx(), testTenant, now-int64(time.Hour), now, []*labels.Matcher{mustMatcher(t, labels.MatchRegexp, "app", "a|b")})
	if err != nil {
		t.Fatal(err)
	}
	if want := []labels.Labels{odd, plain, other}; !slices.EqualFunc(series, sorted(want), labels.Equal) {
		t.Fatalf("series = %v, want %v", series, sorted(want))
	}
	all, err := r.Series(ctx(), testTenant, now-int64(time.Hour), now, nil)
	if err != nil || len(all) != 3 {
		t.Fatalf("series without matchers = %v, %v; want 3", all, err)
	}
	// Another tenant sees nothing.
	none, err := r.Series(tenant.With(context.Background(), "b"), "b", now-int64(time.Hour), now, nil)
	if err != nil || len(none) != 0 {
		t.Fatalf("series of another tenant = %v, %v; want none", none, err)
	}
}

func sorted(ls []labels.Labels) []labels.Labels {
	out := slices.Clone(ls)
	slices.SortFunc(out, labels.Compare)
	return out
}

// TestRemoteManyFrames: an answer larger than a frame arrives whole and in order.
func TestRemoteManyFrames(t *testing.T) {
	now := time.Now().UnixNano()
	f := &fakeIngester{tenant: testTenant}
	streams := []labels.Labels{labels.FromStrings("app", "a", "n", "1"), labels.FromStrings("app", "a", "n", "2")}
	long := strings.Repeat("x", 1000)
	const n = 5000 // about 5 MB: several frames
	for i := range n {
		f.entries = append(f.entries, memEntry{streams[i%2], logproto.Entry{Timestamp: now - int64(n-i)*1000, Line: fmt.Sprint(i, long)}})
	}
	r, err := querier.NewRemote([]string{serve(t, f)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	it, err := r.SelectLogs(ctx(), testTenant, logql.SelectLogParams{
		Matchers: []*labels.Matcher{mustMatcher(t, labels.MatchEqual, "app", "a")}, Start: 0, End: now, Direction: logproto.Backward})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	i := n - 1
	for it.Next() {
		if want := fmt.Sprint(i, long); it.At().Line != want || !labels.Equal(it.Labels(), streams[i%2]) {
			t.Fatalf("entry %d: %.20q of %s, want %.20q of %s", n-1-i, it.At().Line, it.Labels(), want, streams[i%2])
		}
		i--
	}
	if it.Err() != nil || i != -1 {
		t.Fatalf("stopped at %d with %v, want every entry", i, it.Err())
	}
}

// TestRemoteFailures: an ingester that cannot answer fails the query with a 503 error naming
// it, whether it refuses connections, answers an error status, or fails while streaming.
func TestRemoteFailures(t *testing.T) {
	now := time.Now().UnixNano()
	good := &fakeIngester{tenant: testTenant, entries: []memEntry{{labels.FromStrings("app", "a"), logproto.Entry{Timestamp: now - 1, Line: "x"}}}}
	broken := &fakeIngester{tenant: testTenant, entries: good.entries, fail: errors.New("chunk decode failed")}
	notIngester := httptest.NewServer(http.NotFoundHandler())
	defer notIngester.Close()
	refused := closedAddr(t)
	sel := []*labels.Matcher{mustMatcher(t, labels.MatchEqual, "app", "a")}
	p := logql.SelectLogParams{Matchers: sel, Start: now - int64(time.Hour), End: now, Direction: logproto.Forward}

	for _, c := range []struct {
		name, addr, want string
	}{
		{"refused", refused, "connection refused"},
		{"404", strings.TrimPrefix(notIngester.URL, "http://"), "404 Not Found"},
		{"mid-stream", serve(t, broken), "chunk decode failed"},
	} {
		r, err := querier.NewRemote([]string{serve(t, good), c.addr}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		it, err := r.SelectLogs(ctx(), testTenant, p)
		if err == nil {
			_, err = collect(t, it)
		}
		checkIngesterError(t, c.name+" select", err, c.addr, c.want)
		if c.name != "mid-stream" {
			_, err = r.Series(ctx(), testTenant, p.Start, p.End, sel)
			checkIngesterError(t, c.name+" series", err, c.addr, c.want)
		}
	}

	// A range that ends before now - within does not ask the ingesters.
	r, err := querier.NewRemote([]string{refused}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	old := now - 2*int64(time.Hour)
	it, err := r.SelectLogs(ctx(), testTenant, logql.SelectLogParams{Matchers: sel, Start: old - int64(time.Hour), End: old})
	if err != nil || it.Next() {
		t.Fatalf("old range: %v, want no entries and no error", err)
	}
	if ls, err := r.Series(ctx(), testTenant, old-int64(time.Hour), old, sel); err != nil || len(ls) != 0 {
		t.Fatalf("old series: %v %v, want none", ls, err)
	}
}

func checkIngesterError(t *testing.T, what string, err error, addr, want string) {
	t.Helper()
	var ie *querier.IngesterError
	if !errors.As(err, &ie) || ie.StatusCode() != http.StatusServiceUnavailable {
		t.Fatalf("%s: error %v, want an IngesterError (503)", what, err)
	}
	if msg := err.Error(); !strings.Contains(msg, addr) || !strings.Contains(msg, want) || strings.Contains(msg, "\n") {
		t.Fatalf("%s: error %q, want one line naming %s and %q", what, msg, addr, want)
	}
}

func TestParseAddress(t *testing.T) {
	for _, ok := range []string{"10.0.0.1:3100", "dns+sluice-write-headless.ns.svc.cluster.local:3100", "[::1]:3100", "localhost:1"} {
		if err := querier.ParseAddress(ok); err != nil {
			t.Errorf("ParseAddress(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "host", "dns+host", "host:0", "host:http", ":3100", "dns+:3100", "http://host:3100", "host:70000"} {
		if err := querier.ParseAddress(bad); err == nil {
			t.Errorf("ParseAddress(%q) accepted", bad)
		}
	}
}
