package deletion

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

func TestRequestDeletes(t *testing.T) {
	const sec = int64(1e9)
	for _, tc := range []struct {
		query string
		lbls  labels.Labels
		ts    int64 // ns
		line  string
		want  bool
	}{
		{`{app="a"}`, labels.FromStrings("app", "a"), 10 * sec, "anything", true},
		{`{app="a"}`, labels.FromStrings("app", "b"), 10 * sec, "anything", false},
		{`{app=~"a|b", env!="prod"}`, labels.FromStrings("app", "b"), 10 * sec, "x", true},
		{`{app=~"a|b", env!="prod"}`, labels.FromStrings("app", "b", "env", "prod"), 10 * sec, "x", false},
		{`{app="a"}`, labels.FromStrings("app", "a"), 5*sec - 1, "before start", false},
		{`{app="a"}`, labels.FromStrings("app", "a"), 5 * sec, "at start", true},
		{`{app="a"}`, labels.FromStrings("app", "a"), 20 * sec, "at end", true},
		{`{app="a"}`, labels.FromStrings("app", "a"), 20*sec + 1, "a nanosecond after the end millisecond", false},
		{`{app="a"} |= "secret"`, labels.FromStrings("app", "a"), 10 * sec, "my secret", true},
		{`{app="a"} |= "secret"`, labels.FromStrings("app", "a"), 10 * sec, "public", false},
		{`{app="a"} |= "secret" != "keep"`, labels.FromStrings("app", "a"), 10 * sec, "secret keep", false},
		{`{app="a"} |~ "pass(word)?=\\w+"`, labels.FromStrings("app", "a"), 10 * sec, "password=hunter2", true},
		{`{app="a"} |= "x" or "y"`, labels.FromStrings("app", "a"), 10 * sec, "has y", true},
		{`{app="a"} != "x" or "y"`, labels.FromStrings("app", "a"), 10 * sec, "has y", false},
		{`{app="a"} |= ip("10.0.0.0/8")`, labels.FromStrings("app", "a"), 10 * sec, "from 10.1.2.3", true},
	} {
		r := &Request{Query: tc.query, Start: 5000, End: 20000}
		if err := r.parse(); err != nil {
			t.Fatalf("parse(%q) = %v", tc.query, err)
		}
		f := EntryFilter([]*Request{r}, tc.lbls)
		got := f != nil && f(tc.ts, []byte(tc.line))
		if got != tc.want {
			t.Errorf("%s deletes %s %d %q = %v, want %v", tc.query, tc.lbls, tc.ts, tc.line, got, tc.want)
		}
	}
}

func TestRequestCovers(t *testing.T) {
	plain := &Request{Query: `{app="a"}`, Start: 1000, End: 2000}
	filtered := &Request{Query: `{app="a"} |= "x"`, Start: 1000, End: 2000}
	for _, r := range []*Request{plain, filtered} {
		if err := r.parse(); err != nil {
			t.Fatal(err)
		}
	}
	check := func(r *Request, from, through int64, overlaps, covers bool) {
		t.Helper()
		if got := r.Overlaps(from, through); got != overlaps {
			t.Errorf("%s Overlaps(%d, %d) = %v, want %v", r.Query, from, through, got, overlaps)
		}
		if got := r.Covers(from, through); got != covers {
			t.Errorf("%s Covers(%d, %d) = %v, want %v", r.Query, from, through, got, covers)
		}
	}
	check(plain, 1e9, 2e9, true, true)
	check(plain, 1e9-1, 2e9, true, false)
	check(plain, 2e9, 3e9, true, false)
	check(plain, 2e9+1, 3e9, false, false)
	check(filtered, 1e9, 2e9, true, false)
}

func TestStoreActiveAndReady(t *testing.T) {
	c := &clock{t: now}
	st, err := Open(t.TempDir(), c.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, err := st.Add(context.Background(), "t1", `{app="a"}`, 1000, 2000)
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Hour)
	if _, err := st.Add(context.Background(), "t1", `{app="b"}`, 5000, 6000); err != nil {
		t.Fatal(err)
	}
	if got := st.Active("t1", 2e9, 4e9); len(got) != 1 || got[0].RequestID != a.RequestID {
		t.Fatalf("Active(2s, 4s) = %v, want the first request", got)
	}
	if got := st.Active("t2", 0, 1e18); len(got) != 0 {
		t.Fatalf("Active of another tenant = %v", got)
	}
	f, err := st.DeleteFilter(context.Background(), "t1", 3e9, 4e9)
	if err != nil || f != nil {
		t.Fatalf("DeleteFilter outside every range = non-nil %v, %v; want nil", f != nil, err)
	}
	if got := st.Ready(now.Add(time.Millisecond)); len(got["t1"]) != 1 {
		t.Fatalf("Ready(just after the first) = %v, want only the first", got)
	}
	if err := st.MarkProcessed(context.Background(), "t1", a.RequestID); err != nil {
		t.Fatal(err)
	}
	if got := st.Ready(now.Add(time.Hour + time.Millisecond)); len(got["t1"]) != 1 || got["t1"][0].Query != `{app="b"}` {
		t.Fatalf("Ready after processing the first = %v, want the second", got)
	}
	// Processed requests keep hiding lines.
	if got := st.Active("t1", 1e9, 1e9); len(got) != 1 {
		t.Fatalf("Active over a processed request = %v", got)
	}
	var nilStore *Store
	if f, err := nilStore.DeleteFilter(context.Background(), "t1", 0, 1e18); f != nil || err != nil {
		t.Fatalf("nil store DeleteFilter = non-nil %v, %v", f != nil, err)
	}
}

func TestParseTime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"", now.UnixMilli(), true},
		{"1710000000", 1710000000000, true},
		{"2024-03-09T16:00:00Z", 1710000000000, true},
		{"2024-03-09T16:00:00.123+00:00", 1710000000123, true},
		{"171000000", 0, false},
		{"17100000000", 0, false},
		{"abcdefghij", 0, false},
		{"NaN4567890", 0, false},
	} {
		got, err := parseTime(tc.in, now)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("parseTime(%q) = %d, %v; want %d ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{`{app="a"}`, `{app="a"} |= "x" != "y"`, `{a=~"(b"}`, `{app="a"} | json`, `{`, `{app="a"} |= ip("1.2.3.4")`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		sel, err := parseQuery(q)
		if err != nil {
			return
		}
		r := &Request{sel: sel, Start: 0, End: 1}
		_ = EntryFilter([]*Request{r}, labels.FromStrings("app", "a"))
	})
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"", "1710000000", "2024-03-09T16:00:00Z", "1e9999999x", "-999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { _, _ = parseTime(s, now) })
}
