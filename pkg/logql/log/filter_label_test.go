package log_test

import (
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logql/log"
)

func TestLabelFilters(t *testing.T) {
	eq := func(n, v string) log.LabelFilterer {
		return log.NewStringLabelFilter(mustMatcher(t, labels.MatchEqual, n, v))
	}
	re := func(n, v string) log.LabelFilterer {
		return log.NewStringLabelFilter(mustMatcher(t, labels.MatchNotRegexp, n, v))
	}
	ipf := func(n, p string, ty log.LabelFilterType) log.LabelFilterer {
		f, err := log.NewIPLabelFilter(p, n, ty)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	// Loki's docs: | duration >= 20ms or size == 20kb and method!~"2.."
	docs := log.NewOrLabelFilter(
		log.NewDurationLabelFilter(log.LabelFilterGreaterThanOrEqual, "duration", 20*time.Millisecond),
		log.NewAndLabelFilter(
			log.NewBytesLabelFilter(log.LabelFilterEqual, "size", 20_000),
			re("method", "2.."),
		))
	tests := []struct {
		name    string
		f       log.LabelFilterer
		line    string // logfmt, parsed before the filter
		keep    bool
		errKind string
		details string
	}{
		{"string equal", eq("level", "error"), "level=error", true, "", ""},
		{"string equal miss", eq("level", "error"), "level=info", false, "", ""},
		{"string on missing label is empty", eq("nope", ""), "level=info", true, "", ""},
		{"string on stream label", eq("app", "api"), "", true, "", ""},
		{"numeric gt", log.NewNumericLabelFilter(log.LabelFilterGreaterThan, "status", 499), "status=503", true, "", ""},
		{"numeric gt miss", log.NewNumericLabelFilter(log.LabelFilterGreaterThan, "status", 499), "status=200", false, "", ""},
		{"numeric float", log.NewNumericLabelFilter(log.LabelFilterLesserThanOrEqual, "v", 1.5), "v=1.5", true, "", ""},
		{"numeric eq", log.NewNumericLabelFilter(log.LabelFilterEqual, "v", 2), "v=2.0", true, "", ""},
		{"numeric ne", log.NewNumericLabelFilter(log.LabelFilterNotEqual, "v", 2), "v=2.0", false, "", ""},
		{"numeric missing label drops", log.NewNumericLabelFilter(log.LabelFilterGreaterThan, "status", 1), "a=b", false, "", ""},
		{"numeric conversion error", log.NewNumericLabelFilter(log.LabelFilterGreaterThan, "status", 1), "status=abc", true,
			"LabelFilterErr", `strconv.ParseFloat: parsing "abc": invalid syntax`},
		{"duration", log.NewDurationLabelFilter(log.LabelFilterGreaterThan, "d", 90*time.Second), "d=1m31s", true, "", ""},
		{"duration miss", log.NewDurationLabelFilter(log.LabelFilterGreaterThan, "d", 90*time.Second), "d=1m30s", false, "", ""},
		{"duration lt", log.NewDurationLabelFilter(log.LabelFilterLesserThan, "d", 5*time.Second), "d=250ms", true, "", ""},
		{"duration error", log.NewDurationLabelFilter(log.LabelFilterLesserThan, "d", 5*time.Second), "d=20", true,
			"LabelFilterErr", `time: missing unit in duration "20"`},
		{"bytes", log.NewBytesLabelFilter(log.LabelFilterGreaterThanOrEqual, "size", 20_000_000), "size=20MB", true, "", ""},
		{"bytes iec", log.NewBytesLabelFilter(log.LabelFilterEqual, "size", 1024), "size=1KiB", true, "", ""},
		{"bytes plain number", log.NewBytesLabelFilter(log.LabelFilterEqual, "size", 42), "size=42", true, "", ""},
		{"bytes error", log.NewBytesLabelFilter(log.LabelFilterEqual, "size", 42), "size=42parsecs", true,
			"LabelFilterErr", `unhandled size name: parsecs`},
		{"docs: duration wins", docs, "duration=25ms size=1kb method=GET", true, "", ""},
		{"docs: size and method", docs, "duration=5ms size=20kb method=GET", true, "", ""},
		{"docs: method excluded", docs, "duration=5ms size=20kb method=200", false, "", ""},
		{"docs: nothing", docs, "duration=5ms size=1kb method=GET", false, "", ""},
		{"and", log.NewAndLabelFilter(eq("a", "1"), eq("b", "2")), "a=1 b=2", true, "", ""},
		{"and miss", log.NewAndLabelFilter(eq("a", "1"), eq("b", "2")), "a=1 b=3", false, "", ""},
		{"or", log.NewOrLabelFilter(eq("a", "1"), eq("b", "2")), "a=0 b=2", true, "", ""},
		{"ip label", ipf("addr", "10.0.0.0/8", log.LabelFilterEqual), "addr=10.1.2.3", true, "", ""},
		{"ip label miss", ipf("addr", "10.0.0.0/8", log.LabelFilterEqual), "addr=11.1.2.3", false, "", ""},
		{"ip label not", ipf("addr", "10.0.0.0/8", log.LabelFilterNotEqual), "addr=11.1.2.3", true, "", ""},
		{"ip label with port", ipf("addr", "10.0.0.0/8", log.LabelFilterEqual), "addr=10.1.2.3:8080", true, "", ""},
		{"ip label missing", ipf("addr", "10.0.0.0/8", log.LabelFilterNotEqual), "a=b", false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, res, keep := run(t, lbls("app", "api"), tt.line, log.NewLogfmtParser(false, false), tt.f)
			if keep != tt.keep {
				t.Fatalf("%s on %q: keep = %v, want %v", tt.f, tt.line, keep, tt.keep)
			}
			if !keep {
				return
			}
			if got := res.Labels().Get("__error__"); got != tt.errKind {
				t.Errorf("__error__ = %q, want %q", got, tt.errKind)
			}
			if got := res.Labels().Get("__error_details__"); got != tt.details {
				t.Errorf("__error_details__ = %q, want %q", got, tt.details)
			}
		})
	}
}

func TestLabelFilterSkipsEntriesWithErrors(t *testing.T) {
	// After a parser error, numeric filters let the entry through; __error__="" drops it.
	num := log.NewNumericLabelFilter(log.LabelFilterGreaterThan, "status", 1)
	_, res, keep := run(t, lbls("app", "a"), "not json", log.NewJSONParser(), num)
	if !keep || res.Labels().Get("__error__") != "JSONParserErr" {
		t.Errorf("keep = %v, labels %s; want kept with JSONParserErr", keep, res)
	}
	noErr := log.NewStringLabelFilter(mustMatcher(t, labels.MatchEqual, "__error__", ""))
	if _, _, keep := run(t, lbls("app", "a"), "not json", log.NewJSONParser(), noErr); keep {
		t.Error(`__error__="" kept an entry with an error`)
	}
}

func TestLabelFilterString(t *testing.T) {
	f := log.NewOrLabelFilter(
		log.NewDurationLabelFilter(log.LabelFilterGreaterThanOrEqual, "duration", 20*time.Millisecond),
		log.NewAndLabelFilter(
			log.NewBytesLabelFilter(log.LabelFilterEqual, "size", 20_000),
			log.NewNumericLabelFilter(log.LabelFilterLesserThan, "status", 500),
		))
	if got, want := f.String(), "( duration>=20ms or ( size==20kB , status<500 ) )"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]uint64{
		"42": 42, "42B": 42, "1kb": 1000, "1KB": 1000, "1KiB": 1024, "1ki": 1024, "20MB": 20_000_000,
		"1.5 MiB": 1572864, "1GB": 1e9, "2TiB": 2 << 40, "1,024 kb": 1_024_000, "3PB": 3e15, "1EB": 1e18,
	} {
		got, err := log.ParseBytes(in)
		if err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "MB", "1 parsec", "99999EB"} {
		if _, err := log.ParseBytes(bad); err == nil {
			t.Errorf("ParseBytes(%q) = nil error, want one", bad)
		}
	}
}
