package logcli_test

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/logcli"
	"github.com/sluicelog/sluice/pkg/logcli/logclitest"
)

// tiedEntries makes n lines over three streams whose timestamps come in runs of group equal
// values, so that page boundaries fall inside runs. Every line is unique.
func tiedEntries(n, group int) []logclitest.Entry {
	streams := []map[string]string{{"s": "a"}, {"s": "b"}, {"s": "c"}}
	out := make([]logclitest.Entry, n)
	for i := range out {
		out[i] = logclitest.Entry{
			Labels:    streams[i%len(streams)],
			Timestamp: base.UnixNano() + int64(i/group)*int64(time.Millisecond),
			Line:      fmt.Sprintf("line %06d", i),
		}
	}
	return out
}

type printedLine struct {
	ts   time.Time
	line string
}

// parseRawTS reads jsonl output back into (timestamp, line) pairs.
func parseJSONL(t *testing.T, out string) []printedLine {
	t.Helper()
	var res []printedLine
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if l == "" {
			continue
		}
		i := strings.Index(l, `"line":"`)
		j := strings.Index(l, `","timestamp":"`)
		if i < 0 || j < 0 {
			t.Fatalf("unexpected jsonl line %q", l)
		}
		ts, err := time.Parse(time.RFC3339Nano, strings.TrimSuffix(l[j+len(`","timestamp":"`):], `"}`))
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, printedLine{ts: ts, line: l[i+len(`"line":"`) : j]})
	}
	return res
}

// checkPaged verifies that got is a correct answer to a query with limit over want (all
// entries): no duplicates, time order, and exactly the newest (or oldest) limit lines, any of the
// lines at the last timestamp being acceptable when that timestamp is cut by the limit.
func checkPaged(t *testing.T, got []printedLine, all []logclitest.Entry, limit int, forward bool) {
	t.Helper()
	want := slices.Clone(all)
	slices.SortStableFunc(want, func(a, b logclitest.Entry) int {
		if forward {
			return cmp.Compare(a.Timestamp, b.Timestamp)
		}
		return cmp.Compare(b.Timestamp, a.Timestamp)
	})
	if limit > 0 && limit < len(want) {
		want = want[:limit]
	}
	if len(got) != len(want) {
		t.Fatalf("printed %d lines, want %d", len(got), len(want))
	}
	seen := map[string]bool{}
	for i, g := range got {
		if seen[g.line] {
			t.Fatalf("line %q printed twice", g.line)
		}
		seen[g.line] = true
		if i > 0 {
			prev := got[i-1].ts
			if (forward && g.ts.Before(prev)) || (!forward && g.ts.After(prev)) {
				t.Fatalf("line %d (%s) out of order after %s", i, g.ts, prev)
			}
		}
		if g.ts.UnixNano() != want[i].Timestamp {
			t.Fatalf("line %d has time %d, want %d", i, g.ts.UnixNano(), want[i].Timestamp)
		}
	}
	// Every wanted line strictly before the cut timestamp must be there.
	cut := want[len(want)-1].Timestamp
	for _, w := range want {
		if w.Timestamp != cut && !seen[w.Line] {
			t.Fatalf("line %q missing", w.Line)
		}
	}
	if limit == 0 || limit >= len(all) {
		for _, w := range all {
			if !seen[w.Line] {
				t.Fatalf("line %q missing", w.Line)
			}
		}
	}
}

func runPaged(t *testing.T, srv *logclitest.Server, q *logcli.Query) ([]printedLine, error) {
	t.Helper()
	cp := newCapture(t, "jsonl", logcli.OutputOptions{Timezone: time.UTC})
	err := q.DoQuery(ctx(t), newClient(t, srv.URL), &cp.p)
	return parseJSONL(t, cp.stdout.String()), err
}

func TestPagingAcrossEqualTimestamps(t *testing.T) {
	tests := []struct {
		name         string
		n, group     int
		batch, limit int
	}{
		{"ties smaller than batch", 1000, 7, 50, 0},
		{"ties equal to batch", 600, 50, 50, 0},
		{"ties larger than batch", 1000, 130, 50, 0},
		{"all lines at one time", 500, 500, 40, 0},
		{"limit inside a run", 1000, 130, 50, 777},
		{"limit below batch", 1000, 130, 200, 150},
		{"limit equals total", 1000, 9, 64, 1000},
		{"limit above total", 300, 9, 64, 1000},
		{"batch of one", 60, 4, 1, 0},
	}
	for _, tt := range tests {
		for _, forward := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/forward=%v", tt.name, forward), func(t *testing.T) {
				srv := logclitest.Start(t)
				all := tiedEntries(tt.n, tt.group)
				srv.Add(all...)
				q := &logcli.Query{
					QueryString: `{}`, Start: base, End: base.Add(time.Hour),
					Limit: tt.limit, BatchSize: tt.batch, Forward: forward, Quiet: true,
				}
				got, err := runPaged(t, srv, q)
				if err != nil {
					t.Fatal(err)
				}
				checkPaged(t, got, all, tt.limit, forward)
				for _, r := range srv.Requests() {
					if r.Path == "/loki/api/v1/query_range" && r.Query["limit"][0] == "0" {
						t.Fatalf("request asked for limit 0 (unlimited): %v", r.Query)
					}
				}
			})
		}
	}
}

// TestPagingRequestsStayWithinBatch checks that no page asks for more than --batch lines unless
// it must drain a timestamp shared by more lines than a batch, as Loki's server limit would
// refuse anything larger.
func TestPagingRequestsStayWithinBatch(t *testing.T) {
	srv := logclitest.Start(t)
	all := tiedEntries(2000, 3)
	srv.Add(all...)
	srv.MaxLimit = 100
	q := &logcli.Query{QueryString: `{}`, Start: base, End: base.Add(time.Hour), Limit: 0, BatchSize: 100, Quiet: true}
	got, err := runPaged(t, srv, q)
	if err != nil {
		t.Fatal(err)
	}
	checkPaged(t, got, all, 0, false)
	pages := len(srv.Requests())
	// 2000 lines, 100 per page, up to 2 lines of overlap per page.
	if pages < 20 || pages > 23 {
		t.Errorf("made %d requests, want about 21", pages)
	}
}

func TestPagingTooManyAtOneTimestamp(t *testing.T) {
	srv := logclitest.Start(t)
	srv.Add(tiedEntries(300, 300)...)
	srv.MaxLimit = 100
	q := &logcli.Query{QueryString: `{}`, Start: base, End: base.Add(time.Hour), BatchSize: 50, Quiet: true}
	got, err := runPaged(t, srv, q)
	if err == nil || !strings.Contains(err.Error(), "max entries limit") {
		t.Fatalf("DoQuery = %v, want the server's refusal", err)
	}
	if len(got) != 50 {
		t.Errorf("printed %d lines before failing, want the first page of 50", len(got))
	}
}

func TestPagingRandomized(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	srv := logclitest.Start(t)
	var all []logclitest.Entry
	streams := []map[string]string{{"s": "a"}, {"s": "b"}, {"s": "c"}, {"s": "d"}}
	for i := range 1500 {
		all = append(all, logclitest.Entry{
			Labels:    streams[r.IntN(len(streams))],
			Timestamp: base.UnixNano() + int64(r.IntN(200)),
			Line:      fmt.Sprintf("l%05d", i),
		})
	}
	srv.Add(all...)
	for i := range 30 {
		batch := 1 + r.IntN(60)
		limit := []int{0, r.IntN(1600), batch, 1}[r.IntN(4)]
		forward := r.IntN(2) == 0
		t.Run(fmt.Sprintf("%d_batch%d_limit%d_fw%v", i, batch, limit, forward), func(t *testing.T) {
			q := &logcli.Query{QueryString: `{}`, Start: base, End: base.Add(time.Second), Limit: limit, BatchSize: batch, Forward: forward, Quiet: true}
			got, err := runPaged(t, srv, q)
			if err != nil {
				t.Fatal(err)
			}
			checkPaged(t, got, all, limit, forward)
		})
	}
}

func TestPagingRespectsRangeBounds(t *testing.T) {
	srv := logclitest.Start(t)
	all := tiedEntries(100, 10) // times base+0ms .. base+9ms
	srv.Add(all...)
	// [base+2ms, base+5ms): start inclusive, end exclusive.
	q := &logcli.Query{QueryString: `{}`, Start: base.Add(2 * time.Millisecond), End: base.Add(5 * time.Millisecond), BatchSize: 7, Quiet: true}
	got, err := runPaged(t, srv, q)
	if err != nil {
		t.Fatal(err)
	}
	var inRange []logclitest.Entry
	for _, e := range all {
		if e.Timestamp >= q.Start.UnixNano() && e.Timestamp < q.End.UnixNano() {
			inRange = append(inRange, e)
		}
	}
	checkPaged(t, got, inRange, 0, false)
}

func TestMetricQueryIsNotPaged(t *testing.T) {
	srv := logclitest.Start(t)
	srv.Add(sampleEntries()...)
	cp := newCapture(t, "default", logcli.OutputOptions{Timezone: time.UTC})
	q := &logcli.Query{QueryString: `count_over_time({env="prod"}[1m])`, Start: base, End: base.Add(time.Minute), Limit: 0, BatchSize: 1, Quiet: true}
	if err := q.DoQuery(ctx(t), newClient(t, srv.URL), &cp.p); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("metric query made %d requests, want 1", n)
	}
	if !strings.HasPrefix(cp.stdout.String(), "[\n  {\n    \"metric\"") {
		t.Errorf("metric output = %q, want indented JSON", cp.stdout.String())
	}
}

func TestPagingSendsStepAndInterval(t *testing.T) {
	srv := logclitest.Start(t)
	q := &logcli.Query{QueryString: `{}`, Start: base, End: base.Add(time.Minute), Limit: 10, Step: 90 * time.Second, Interval: 500 * time.Millisecond, Quiet: true}
	if _, err := runPaged(t, srv, q); err != nil {
		t.Fatal(err)
	}
	r := srv.Requests()[0]
	for k, want := range map[string]string{"step": "90", "interval": "0.5", "limit": "10", "direction": "backward",
		"start": fmt.Sprint(base.UnixNano()), "end": fmt.Sprint(base.Add(time.Minute).UnixNano())} {
		if got := r.Query[k]; len(got) != 1 || got[0] != want {
			t.Errorf("query_range %s = %v, want %s", k, got, want)
		}
	}
	_ = http.MethodGet
}
