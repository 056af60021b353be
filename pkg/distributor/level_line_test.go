package distributor

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"

	"github.com/sluicelog/sluice/pkg/validation"
)

func TestLevelFromLine(t *testing.T) {
	fields := newLevelFields(validation.DefaultLogLevelFields)
	cases := []struct {
		name, line, want string
	}{
		// JSON: a level field wins over any keyword in the line.
		{"json level", `{"level":"error","msg":"all fine"}`, levelError},
		{"json lvl", `{"msg":"warning: disk","lvl":"info"}`, levelInfo},
		{"json severity upper", `{"SEVERITY":"FATAL","msg":"x"}`, levelFatal},
		{"json Severity", `{"Severity":"Critical"}`, levelCritical},
		{"json log.level", `{"log.level":"dbg"}`, levelDebug},
		{"json severity_text", `{"severity_text":"WARN"}`, levelWarn},
		{"json abbreviation", `{"level":"ERR","msg":"warn keyword ignored"}`, levelError},
		{"json information", `{"level":"Information"}`, levelInfo},
		{"json first field in document order", `{"severity":"error","level":"info"}`, levelError},
		{"json nested one level", `{"meta":{"level":"wrn"},"msg":"x"}`, levelWarn},
		{"json nested too deep for default depth 2", `{"a":{"b":{"level":"wrn"}},"msg":"info"}`, levelInfo},
		{"json arrays not searched", `{"arr":[{"level":"debug"}],"level":"info"}`, levelInfo},
		{"json number value ignored", `{"level":3,"severity":"warn"}`, levelWarn},
		{"json field name is case sensitive", `{"msg":"an error","LeVeL":"warn"}`, levelError},
		{"json spaces around", "  {\"level\" : \"trace\" }\n", levelTrace},
		{"json unknown value falls back to keywords", `{"level":"NA","msg":"an ERROR here"}`, levelError},
		{"json without level uses keywords", `{"foo":"bar","msg":"message with keyword INFO get picked up"}`, levelInfo},
		{"json value in quotes is a keyword", `{"status":"error"}`, levelError},
		{"json malformed keeps keyword rule", `{"msg":"x", "level":`, levelUnknown},
		{"json escaped key", `{"lev\u0065l":"wrn"}`, levelWarn},

		// logfmt: keys compared without case; the earlier name of the list wins.
		{"logfmt level", `msg="an error happened" level=warn`, levelWarn},
		{"logfmt upper key mixed value", `FOO=bar MSG="keyword error" LEVEL=inFO`, levelInfo},
		{"logfmt short", `level=Inf`, levelInfo},
		{"logfmt severity", `foo=bar severity=critical`, levelCritical},
		{"logfmt Severity camel", `Foo=bar Severity=critical`, levelCritical},
		{"logfmt list order beats line order", `severity=error level=debug`, levelDebug},
		{"logfmt quoted", `level="warning" msg=x`, levelWarn},
		{"logfmt quoted escaped", `level="\u0065rror"`, levelError},
		{"logfmt unknown value", `foo=bar msg="no keyword here" level=NA`, levelUnknown},
		{"logfmt no level field uses keywords", `foo=bar msg="message with info"`, levelInfo},
		{"logfmt key folding beyond ASCII", "ſeverity=wrn", levelWarn},
		{"logfmt syntax error stops scan", `x=a"b level=wrn`, levelUnknown},

		// Plain lines: the first level word standing alone, in any case.
		{"bracket", "[ERROR] something broke", levelError},
		{"bracket lower", "[warn] careful", levelWarn},
		{"colon", "DEBUG: something happened", levelDebug},
		{"word", "this is a critical message", levelCritical},
		{"warning word", "this is a warning log", levelWarn},
		{"info word", "2024-01-01 INFO started", levelInfo},
		{"err", "failed with err", levelError},
		{"fatal", "Fatal! shutting down", levelFatal},
		{"trace", "TRACE (db) query", levelTrace},
		{"first keyword wins 2", "error: info missing", levelError},
		{"not inside words", "stderr referrer errors informal warnings", levelUnknown},
		{"after colon", "misc:error", levelError},
		{"before dash", "error-prone code", levelError},
		{"in a path", "GET /api/error HTTP/1.1", levelError},
		{"not after a digit or underscore", "5error x_warn", levelUnknown},
		{"not before a digit or underscore", "error5 warn_x", levelUnknown},
		{"not beside a Latin-1 letter byte", "caf\xe9error \xc3info", levelUnknown},
		{"after a continuation byte", "\xe2\x80\x94warn \xe2\x80\x94", levelWarn},
		{"before a lead byte that is a Latin-1 letter", "\xe2\x80\x94warn\xe2\x80\x94", levelUnknown},
		{"first standing alone", "errors in the log: warn", levelWarn},
		// Where Loki differs (see levelFromKeywords): error, then unknown.
		{"first of two level words", "info: retrying after error", levelInfo},
		{"first standing alone, not first", "errors, then error", levelError},
		{"none", "GET /api/v1/users 200 12ms", levelUnknown},
		{"empty", "", levelUnknown},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := levelFromLine(tc.line, &fields, 2); got != tc.want {
				t.Errorf("levelFromLine(%q) = %q, want %q", tc.line, got, tc.want)
			}
		})
	}
}

func TestLevelFromLineJSONDepth(t *testing.T) {
	line := `{"a":{"b":{"level":"wrn"}}}`
	fields := newLevelFields([]string{"level"})
	for _, tc := range []struct {
		depth int
		want  string
	}{{1, levelUnknown}, {2, levelUnknown}, {3, levelWarn}, {0, levelWarn}, {-1, levelWarn}} {
		if got := levelFromLine(line, &fields, tc.depth); got != tc.want {
			t.Errorf("levelFromLine(%q, depth %d) = %q, want %q", line, tc.depth, got, tc.want)
		}
	}
}

func TestLevelFromLineCustomFields(t *testing.T) {
	fields := newLevelFields([]string{"log_level", "lvl"})
	check := func(line, want string) {
		t.Helper()
		if got := levelFromLine(line, &fields, 2); got != want {
			t.Errorf("levelFromLine(%q) = %q, want %q", line, got, want)
		}
	}
	check(`{"log_level":"critical","msg":"error"}`, levelCritical)
	check(`{"level":"dbg","msg":"ok"}`, levelUnknown) // level is not in the list
	check(`LOG_LEVEL=warn`, levelWarn)
}

func TestCanonicalLevel(t *testing.T) {
	for in, want := range map[string]string{
		"TRACE": levelTrace, "trc": levelTrace, "Debug": levelDebug, "DBG": levelDebug,
		"info": levelInfo, "INF": levelInfo, "information": levelInfo, "Warn": levelWarn,
		"wrn": levelWarn, "WARNING": levelWarn, "error": levelError, "Err": levelError,
		"CRITICAL": levelCritical, "fatal": levelFatal,
	} {
		if got, ok := canonicalLevel(in); !ok || got != want {
			t.Errorf("canonicalLevel(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "notice", "panic", "warnings", "e", "informational"} {
		if got, ok := canonicalLevel(in); ok {
			t.Errorf("canonicalLevel(%q) = %q, want no level", in, got)
		}
		if got := normalizeLevel(in); got != in {
			t.Errorf("normalizeLevel(%q) = %q, want it unchanged", in, got)
		}
	}
}

func TestLevelFromSeverityNumber(t *testing.T) {
	for in, want := range map[string]string{
		"0": levelUnknown, "1": levelTrace, "4": levelTrace, "5": levelDebug, "8": levelDebug,
		"9": levelInfo, "12": levelInfo, "13": levelWarn, "17": levelError, "20": levelError,
		"21": levelFatal, "24": levelFatal, "25": levelUnknown, "x": levelInfo,
	} {
		if got := levelFromSeverityNumber(in); got != want {
			t.Errorf("levelFromSeverityNumber(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLevelFromLineAllocs(t *testing.T) {
	fields := newLevelFields(validation.DefaultLogLevelFields)
	for _, line := range []string{
		"GET /api/v1/users 200 12ms",
		"[WARN] low disk",
		`ts=2024-01-01T00:00:00Z caller=main.go:12 level=info msg="request done" duration=12ms`,
		`{"ts":"2024-01-01T00:00:00Z","meta":{"k":[1,2,{"x":null}]},"msg":"done","level":"error"}`,
	} {
		if n := testing.AllocsPerRun(100, func() { levelFromLine(line, &fields, 2) }); n != 0 {
			t.Errorf("levelFromLine(%q) allocates %v times, want 0", line, n)
		}
	}
}

func FuzzLevelFromLine(f *testing.F) {
	for _, s := range []string{`{"level":"error"}`, `level=warn msg="x"`, "[INFO] x", `{"a":{"b":[1,"}"]},"level":"x"}`, `k="\"`, "="} {
		f.Add(s)
	}
	fields := newLevelFields(validation.DefaultLogLevelFields)
	f.Fuzz(func(t *testing.T, line string) {
		switch got := levelFromLine(line, &fields, 0); got {
		case levelTrace, levelDebug, levelInfo, levelWarn, levelError, levelCritical, levelFatal, levelUnknown:
		default:
			t.Fatalf("levelFromLine(%q) = %q, want one of Loki's levels", line, got)
		}
	})
}

func BenchmarkLevelFromLine(b *testing.B) {
	for name, line := range map[string]string{
		"plain":   "GET /api/v1/users 200 12ms",
		"plain1k": strings.Repeat("GET /api/v1/users 200 12ms ", 40),
		// nginx's combined format holds no level word: the whole line is searched.
		"nginx":  `10.244.3.17 - - [01/May/2024:10:00:00 +0000] "GET /api/v1/checkout/cart/items?page=2 HTTP/1.1" 200 5123 "https://shop.example.com/cart" "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36" 0.012`,
		"logfmt": `ts=2024-05-01T10:00:00Z caller=http.go:42 level=info method=GET path=/api/v1/users status=200 duration=12ms`,
		"json":   `{"ts":"2024-05-01T10:00:00Z","caller":"http.go:42","level":"info","method":"GET","path":"/api/v1/users","status":200,"duration":"12ms"}`,
	} {
		fields := newLevelFields(validation.DefaultLogLevelFields)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(line)))
			b.ReportAllocs()
			for b.Loop() {
				levelFromLine(line, &fields, 2)
			}
		})
	}
}

// lokiKeywordLevel is Loki's rule for a line's level words, written plainly to check
// levelFromKeywords against: each keyword in Loki's order, its first occurrence in the
// lower-cased line, taken if neither neighbour is a letter, a digit or '_'. (Loki lower-cases
// as Unicode, this as ASCII; see lowerASCII's comment in levelFromKeywords' file.)
func lokiKeywordLevel(line string) string {
	b := []byte(line) // lower-cased byte by byte, so positions stay those of line
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	word := func(i int) bool {
		if i < 0 || i >= len(b) {
			return false
		}
		r := rune(b[i])
		return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_'
	}
	for _, k := range levelKeywords {
		if i := strings.Index(string(b), k.word); i >= 0 && !word(i-1) && !word(i+len(k.word)) {
			return k.level
		}
	}
	return levelUnknown
}

// keywordStarts counts the positions where a level word starts, inside words or not.
func keywordStarts(line string) int {
	n := 0
	for i := range line {
		for _, k := range levelKeywords {
			if len(line)-i >= len(k.word) && strings.EqualFold(line[i:i+len(k.word)], k.word) {
				n++
				break
			}
		}
	}
	return n
}

// levelFromKeywords gives Loki's level whenever a line holds at most one level word; the
// rules differ only with two or more (see levelFromKeywords).
func FuzzLevelFromKeywordsLikeLoki(f *testing.F) {
	for _, s := range []string{"[WARN] x", "misc:error", "GET /error?x=1 200", "stderr", "errors, then error",
		"info: retrying after error", "caf\xe9error", "\xe2\x80\x94warn ", "WaRnInG: x", "x_err y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		got, loki := levelFromKeywords(line), lokiKeywordLevel(line)
		if got != loki && keywordStarts(line) < 2 {
			t.Fatalf("levelFromKeywords(%q) = %q, Loki's rule %q, with one level word", line, got, loki)
		}
	})
}

// BenchmarkLevelFromKeywords searches 1,000 different access lines, none holding a level word:
// a line repeated over and over lets the branch predictor learn it, and hides what the search
// costs on a real stream.
func BenchmarkLevelFromKeywords(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(s ...string) string { return s[rng.IntN(len(s))] }
	lines := make([]string, 1000)
	size := 0
	for i := range lines {
		lines[i] = fmt.Sprintf(`%d.%d.%d.%d - - [01/May/2024:10:%02d:%02d +0000] "%s /api/v1/%s/%d HTTP/1.1" %s %d "%s" "%s" 0.%03d`,
			rng.IntN(256), rng.IntN(256), rng.IntN(256), rng.IntN(256), rng.IntN(60), rng.IntN(60),
			pick("GET", "POST", "PUT", "DELETE"), pick("users", "cart", "products", "checkout", "search", "payments"),
			rng.IntN(100000), pick("200", "201", "304", "404", "500"), rng.IntN(30000),
			pick("-", "https://shop.example.com/cart", "https://www.google.com/"),
			pick("Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0", "curl/8.5.0", "kube-probe/1.31",
				"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"),
			rng.IntN(1000))
		if got := levelFromKeywords(lines[i]); got != levelUnknown {
			b.Fatalf("%q: level %s, want none", lines[i], got)
		}
		size += len(lines[i])
	}
	b.SetBytes(int64(size / len(lines)))
	i := 0
	for b.Loop() {
		levelFromKeywords(lines[i%len(lines)])
		i++
	}
}

// firstKeywordLevel is levelFromKeywords' rule written plainly: the level of the first level
// word, in any case, standing alone (no letter, digit or '_' on either side).
func firstKeywordLevel(line string) string {
	word := func(i int) bool {
		r := rune(line[i]) // bytes above 0x7f as Latin-1, as byteClass takes them
		return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_'
	}
	for i := range len(line) {
		if i > 0 && word(i-1) {
			continue
		}
		for _, k := range levelKeywords {
			end := i + len(k.word)
			if end <= len(line) && strings.EqualFold(line[i:end], k.word) && (end == len(line) || !word(end)) {
				return k.level
			}
		}
	}
	return levelUnknown
}

// The search reads eight bytes at a time: a level word must be found wherever it starts or
// ends relative to those eight, and the line's end.
func TestLevelFromKeywordsEveryOffset(t *testing.T) {
	for _, w := range []string{"err", "WARN", "Error", "critical", "information"} {
		for pad := 0; pad < 20; pad++ {
			for _, before := range []string{"", " ", "x", "[", "é"} {
				for _, after := range []string{"", " ", "s", ":", "_"} {
					line := strings.Repeat("ab", pad)[:pad] + before + w + after + strings.Repeat(".", pad%9)
					if got, want := levelFromKeywords(line), firstKeywordLevel(line); got != want {
						t.Errorf("levelFromKeywords(%q) = %s, want %s", line, got, want)
					}
				}
			}
		}
	}
}

func FuzzLevelFromKeywords(f *testing.F) {
	for _, s := range []string{"[WARN] x", "0123456 error", "01234567error", "x_error warn", "stderr: warn",
		"caf\xe9error", "\xe2\x80\x94warn ", "abcdefg\x00info"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if got, want := levelFromKeywords(line), firstKeywordLevel(line); got != want {
			t.Fatalf("levelFromKeywords(%q) = %s, want %s", line, got, want)
		}
	})
}
