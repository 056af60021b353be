package log_test

import (
	"errors"
	"regexp"
	"testing"

	"github.com/sluicelog/sluice/pkg/logql/log"
	"github.com/sluicelog/sluice/pkg/race"
)

func TestLineFilter(t *testing.T) {
	tests := []struct {
		name  string
		mt    log.LineMatchType
		match string
		line  string
		want  bool
	}{
		{"contains", log.LineMatchEqual, "error", "level=error msg=boom", true},
		{"contains miss", log.LineMatchEqual, "error", "level=info", false},
		{"contains is case sensitive", log.LineMatchEqual, "ERROR", "level=error", false},
		{"empty contains everything", log.LineMatchEqual, "", "anything", true},
		{"not contains", log.LineMatchNotEqual, "debug", "level=info", true},
		{"not contains miss", log.LineMatchNotEqual, "debug", "level=debug", false},
		{"regexp", log.LineMatchRegexp, `status=5\d\d`, "status=503 path=/", true},
		{"regexp miss", log.LineMatchRegexp, `status=5\d\d`, "status=200", false},
		{"regexp unanchored", log.LineMatchRegexp, "err", "an error", true},
		{"regexp anchored", log.LineMatchRegexp, "^err", "an error", false},
		{"regexp anchored hit", log.LineMatchRegexp, "^an", "an error", true},
		{"regexp literal", log.LineMatchRegexp, "foo", "xfoox", true},
		{"regexp dotstar literal", log.LineMatchRegexp, ".*foo.*", "xfoox", true},
		{"regexp case-insensitive", log.LineMatchRegexp, "(?i)error", "level=ERROR", true},
		{"regexp case-insensitive miss", log.LineMatchRegexp, "(?i)error", "level=warn", false},
		{"regexp alternation", log.LineMatchRegexp, "error|panic", "a panic here", true},
		{"regexp alternation miss", log.LineMatchRegexp, "error|panic", "all good", false},
		{"regexp alternation case-insensitive", log.LineMatchRegexp, "(?i)(error|panic)", "PANIC", true},
		{"regexp optional suffix", log.LineMatchRegexp, "warn(ing)?", "WARN warn", true},
		{"not regexp", log.LineMatchNotRegexp, "error|panic", "all good", true},
		{"not regexp miss", log.LineMatchNotRegexp, "(?i)error", "Error!", false},
		{"pattern", log.LineMatchPattern, `<_> "GET <_>" 200 <_>`, `1.2.3.4 "GET /x" 200 15`, true},
		{"pattern miss", log.LineMatchPattern, `<_> "GET <_>" 200 <_>`, `1.2.3.4 "POST /x" 200 15`, false},
		{"pattern ending on literal must reach the end", log.LineMatchPattern, "<_> bar", "foo bar baz", false},
		{"pattern ending on capture", log.LineMatchPattern, "<_> baz", "foo bar baz", true},
		{"pattern leading literal", log.LineMatchPattern, "foo <_>", "foo bar baz", true},
		{"pattern empty capture does not match", log.LineMatchPattern, "<_> bar <_>", " bar ", false},
		{"pattern captures need text", log.LineMatchPattern, "<_> bar <_>", "a bar b", true},
		{"not pattern", log.LineMatchNotPattern, "<_> bar", "foo bar baz", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := log.NewFilter(tt.match, tt.mt)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Filter([]byte(tt.line)); got != tt.want {
				t.Errorf("NewFilter(%q, %d).Filter(%q) = %v, want %v", tt.match, tt.mt, tt.line, got, tt.want)
			}
			_, _, keep := run(t, lbls("app", "a"), tt.line, f.ToStage())
			if keep != tt.want {
				t.Errorf("as stage: keep = %v, want %v", keep, tt.want)
			}
		})
	}
}

func TestLineFilterErrors(t *testing.T) {
	for _, tc := range []struct {
		match string
		mt    log.LineMatchType
	}{
		{"(", log.LineMatchRegexp},
		{"<_><_>", log.LineMatchPattern},
		{"x", log.LineMatchType(99)},
	} {
		if _, err := log.NewFilter(tc.match, tc.mt); err == nil {
			t.Errorf("NewFilter(%q, %d) = nil error, want one", tc.match, tc.mt)
		}
	}
}

func TestOrFilters(t *testing.T) {
	check := func(mt log.LineMatchType, matches []string, line string, want bool) {
		t.Helper()
		f, err := log.NewOrFilters(mt, matches)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Filter([]byte(line)); got != want {
			t.Errorf("NewOrFilters(%d, %q).Filter(%q) = %v, want %v", mt, matches, line, got, want)
		}
	}
	check(log.LineMatchEqual, []string{"foo", "bar"}, "a bar", true)
	check(log.LineMatchEqual, []string{"foo", "bar"}, "a baz", false)
	check(log.LineMatchNotEqual, []string{"foo", "bar"}, "a baz", true)
	check(log.LineMatchNotEqual, []string{"foo", "bar"}, "a foo", false)
	check(log.LineMatchRegexp, []string{"fo+", "ba[rz]"}, "a baz", true)
	check(log.LineMatchNotRegexp, []string{"fo+", "ba[rz]"}, "a baz", false)
	check(log.LineMatchPattern, []string{"a <_>", "b <_>"}, "b c", true)
	check(log.LineMatchNotPattern, []string{"a <_>", "b <_>"}, "c d", true)
	if _, err := log.NewOrFilters(log.LineMatchEqual, nil); err == nil {
		t.Error("NewOrFilters without values: want an error")
	}
}

func TestChainFilters(t *testing.T) {
	a, _ := log.NewFilter("foo", log.LineMatchEqual)
	b, _ := log.NewFilter("bar", log.LineMatchNotEqual)
	f := log.ChainFilters(a, nil, b)
	for line, want := range map[string]bool{"foo": true, "foo bar": false, "baz": false} {
		if got := f.Filter([]byte(line)); got != want {
			t.Errorf("chain.Filter(%q) = %v, want %v", line, got, want)
		}
	}
	if !log.ChainFilters().Filter([]byte("x")) {
		t.Error("empty chain must pass every line")
	}
	o := log.NewOrFilter(a, log.NewNotFilter(b))
	if !o.Filter([]byte("xbar")) || o.Filter([]byte("x")) {
		t.Error("NewOrFilter gives wrong results")
	}
}

// TestRegexpSimplificationAgrees checks the literal fast paths against the regexp engine.
func TestRegexpSimplificationAgrees(t *testing.T) {
	exprs := []string{"foo", ".*foo.*", "(?i)foo", "(?i)FoO|bar", "foo|bar|baz", "ba[rz]", "warn(ing)?",
		"(?i).*error.*", "(foo)", "", ".*", "x?", "(?i)ß", "a.b", "^foo", "foo$", "f[a-c]o"}
	lines := []string{"", "foo", "FOO", "xFoOx", "bar", "BAZ", "warning", "WARN", "an error!", "ERROR",
		"ß", "SS", "axb", "f", "fbo", "foo\nbar", "zzz"}
	for _, e := range exprs {
		f, err := log.NewFilter(e, log.LineMatchRegexp)
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(e)
		for _, l := range lines {
			if got, want := f.Filter([]byte(l)), re.MatchString(l); got != want {
				t.Errorf("|~ %q on %q = %v, regexp says %v", e, l, got, want)
			}
		}
	}
}

func TestIPFilter(t *testing.T) {
	tests := []struct {
		pattern, line string
		want          bool
	}{
		{"192.168.0.1", "from 192.168.0.1 to x", true},
		{"192.168.0.1", "from 192.168.0.12 to x", false},
		{"192.168.0.0/24", "client=192.168.0.77:5050", true},
		{"192.168.0.0/24", "client=192.168.1.77", false},
		{"192.168.0.5-192.168.0.10", "ip 192.168.0.7", true},
		{"192.168.0.5-192.168.0.10", "ip 192.168.0.11", false},
		{"::1", "listening on ::1 port 80", true},
		{"2001:db8::/32", "peer 2001:db8:1::5 up", true},
		{"10.0.0.1", "no addresses here", false},
		{"10.0.0.1", "host:10.0.0.1", true},
	}
	for _, tt := range tests {
		f, err := log.NewIPFilter(tt.pattern, log.LineMatchEqual)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Filter([]byte(tt.line)); got != tt.want {
			t.Errorf("ip(%q).Filter(%q) = %v, want %v", tt.pattern, tt.line, got, tt.want)
		}
		nf, _ := log.NewIPFilter(tt.pattern, log.LineMatchNotEqual)
		if got := nf.Filter([]byte(tt.line)); got == tt.want {
			t.Errorf("!= ip(%q).Filter(%q) = %v, want %v", tt.pattern, tt.line, got, !tt.want)
		}
	}
	for _, bad := range []string{"", "1.2.3", "10.0.0.0/99", "10.0.0.9-10.0.0.1", "x-y"} {
		if _, err := log.NewIPFilter(bad, log.LineMatchEqual); !errors.Is(err, log.ErrIPFilterInvalidPattern) {
			t.Errorf("NewIPFilter(%q) = %v, want ErrIPFilterInvalidPattern", bad, err)
		}
	}
	if _, err := log.NewIPFilter("1.2.3.4", log.LineMatchRegexp); err == nil {
		t.Error("ip filter with |~: want an error")
	}
}

var benchLine = []byte(`level=info ts=2024-01-15T10:30:00.123Z caller=http.go:194 component=querier ` +
	`org_id=29 traceID=4d6e8f9a2b1c3d5e msg="GET /loki/api/v1/query_range (200) 1.352ms" ` +
	`method=GET status=200 duration=1.352ms bytes=1423 path=/loki/api/v1/query_range`)

func lineFilters(tb testing.TB) map[string]log.Filterer {
	mk := func(match string, mt log.LineMatchType) log.Filterer {
		f, err := log.NewFilter(match, mt)
		if err != nil {
			tb.Fatal(err)
		}
		return f
	}
	ip, err := log.NewIPFilter("10.0.0.0/8", log.LineMatchEqual)
	if err != nil {
		tb.Fatal(err)
	}
	return map[string]log.Filterer{
		"contains":          mk("status=500", log.LineMatchEqual),
		"not_contains":      mk("debug", log.LineMatchNotEqual),
		"regexp_literal":    mk("query_range", log.LineMatchRegexp),
		"regexp_ci":         mk("(?i)QUERY_RANGE", log.LineMatchRegexp),
		"regexp_alternates": mk("error|panic|fatal", log.LineMatchRegexp),
		"regexp_general":    mk(`status=5\d\d`, log.LineMatchRegexp),
		"pattern":           mk(`<_> msg="<_> <_> (200) <_>`, log.LineMatchPattern),
		"ip":                ip,
	}
}

func TestLineFilterAllocs(t *testing.T) {
	race.SkipAllocs(t)
	for name, f := range lineFilters(t) {
		allocs := testing.AllocsPerRun(100, func() { f.Filter(benchLine) })
		if allocs != 0 {
			t.Errorf("%s: %v allocations per line, want 0", name, allocs)
		}
	}
	// A pipeline of filters only: no allocation per entry either.
	f, _ := log.NewFilter("querier", log.LineMatchEqual)
	g, _ := log.NewFilter("(?i)GET", log.LineMatchRegexp)
	sp := log.NewPipeline([]log.Stage{f.ToStage(), g.ToStage()}).ForStream(lbls("app", "loki"))
	allocs := testing.AllocsPerRun(100, func() { sp.Process(1, benchLine, lbls()) })
	if allocs != 0 {
		t.Errorf("filter pipeline: %v allocations per entry, want 0", allocs)
	}
}

// TestLineFilterConcurrent runs one filter from several goroutines, as a store does with a
// pushed-down filter; `go test -race` checks it shares no mutable state.
func TestLineFilterConcurrent(t *testing.T) {
	fs := lineFilters(t)
	done := make(chan bool)
	for range 4 {
		go func() {
			n := 0
			for range 50 {
				for _, f := range fs {
					if f.Filter(benchLine) {
						n++
					}
				}
			}
			done <- n > 0
		}()
	}
	for range 4 {
		if !<-done {
			t.Error("no filter matched the benchmark line")
		}
	}
}

func BenchmarkLineFilter(b *testing.B) {
	for name, f := range lineFilters(b) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(benchLine)))
			for b.Loop() {
				f.Filter(benchLine)
			}
		})
	}
	// The regexp engine on a simplifiable expression, for comparison with regexp_ci.
	b.Run("stdlib_regexp_ci", func(b *testing.B) {
		re := regexp.MustCompile("(?i)QUERY_RANGE")
		b.ReportAllocs()
		b.SetBytes(int64(len(benchLine)))
		for b.Loop() {
			re.Match(benchLine)
		}
	})
}
