package distributor

import (
	"math/bits"
	"strconv"
	"strings"
	"unicode"
)

// The detected_level values Loki writes (Grafana's Logs Drilldown groups its volume histogram by
// them).
const (
	levelTrace    = "trace"
	levelDebug    = "debug"
	levelInfo     = "info"
	levelWarn     = "warn"
	levelError    = "error"
	levelCritical = "critical"
	levelFatal    = "fatal"
	levelUnknown  = "unknown"
)

// canonicalLevel maps a level as programs write it, in any case, to Loki's spelling: trc, dbg,
// inf, information, wrn, warning and err are accepted besides the names themselves.
func canonicalLevel(v string) (string, bool) {
	// Dispatch on the length first: it runs on every value read from a line. Only two
	// non-ASCII letters fold to ASCII ones (K and ſ, to k and s) and no level has either, so
	// a value of another length than the spelling's can never match it.
	var cands []levelSpelling
	switch len(v) {
	case 3:
		cands = spellings3[:]
	case 4:
		cands = spellings4[:]
	case 5:
		cands = spellings5[:]
	case 7:
		cands = spellings7[:]
	case 8:
		cands = spellings8[:]
	case 11:
		cands = spellings11[:]
	}
	for _, c := range cands {
		if strings.EqualFold(v, c.spelling) {
			return c.level, true
		}
	}
	return "", false
}

type levelSpelling struct{ spelling, level string }

var (
	spellings3  = [...]levelSpelling{{"trc", levelTrace}, {"dbg", levelDebug}, {"inf", levelInfo}, {"wrn", levelWarn}, {"err", levelError}}
	spellings4  = [...]levelSpelling{{"info", levelInfo}, {"warn", levelWarn}}
	spellings5  = [...]levelSpelling{{"trace", levelTrace}, {"debug", levelDebug}, {"error", levelError}, {"fatal", levelFatal}}
	spellings7  = [...]levelSpelling{{"warning", levelWarn}}
	spellings8  = [...]levelSpelling{{"critical", levelCritical}}
	spellings11 = [...]levelSpelling{{"information", levelInfo}}
)

// normalizeLevel is canonicalLevel that keeps a value it does not know as it is: a level
// label "notice" gives detected_level "notice", as in Loki.
func normalizeLevel(v string) string {
	if l, ok := canonicalLevel(v); ok {
		return l
	}
	return v
}

// levelFromSeverityNumber maps an OpenTelemetry severity number (structured metadata
// severity_number) to a level: 1-4 trace, 5-8 debug, 9-12 info, 13-16 warn, 17-20 error,
// 21-24 fatal; 0 and anything above 24 are unknown, and a value that is not a number is info.
func levelFromSeverityNumber(v string) string {
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		return levelInfo
	case n == 0:
		return levelUnknown
	case n <= 4:
		return levelTrace
	case n <= 8:
		return levelDebug
	case n <= 12:
		return levelInfo
	case n <= 16:
		return levelWarn
	case n <= 20:
		return levelError
	case n <= 24:
		return levelFatal
	}
	return levelUnknown
}

// levelFromLine reads an entry's level from its line, as Loki does: a JSON object's first
// string field named in fields (searched maxDepth levels deep, 0 or less for all), else a
// logfmt line's field named in fields (compared without case; the earlier name in fields
// wins), else, or when that value is not a level, the first level keyword in the line.
func levelFromLine(line string, fields *levelFields, maxDepth int) string {
	switch {
	case looksLikeJSON(line):
		v, _ := jsonLevelField(line, fields, maxDepth)
		if l, ok := canonicalLevel(v); ok {
			return l
		}
	case strings.IndexByte(line, '=') >= 0:
		if l, ok := logfmtLevelField(line, fields); ok {
			return l
		}
	}
	return levelFromKeywords(line)
}

// looksLikeJSON is Loki's test: the first and last non-space characters are braces.
func looksLikeJSON(line string) bool {
	first := rune(0)
	for _, r := range line {
		if !unicode.IsSpace(r) {
			first = r
			break
		}
	}
	if first != '{' {
		return false
	}
	for i := len(line) - 1; i >= 0; i-- {
		// Bytes, not runes, from the end, as Loki does; only '}' matters.
		if c := rune(line[i]); !unicode.IsSpace(c) {
			return c == '}'
		}
	}
	return false
}

// levelKeywords are the words levelFromKeywords looks for, lower case. At one position at most
// one of them can be followed by a word boundary, so their order does not matter.
type levelKeyword struct{ word, level string }

var levelKeywords = [...]levelKeyword{
	{"trace", levelTrace}, {"debug", levelDebug}, {"fatal", levelFatal},
	{"critical", levelCritical}, {"error", levelError}, {"err", levelError},
	{"warning", levelWarn}, {"warn", levelWarn}, {"info", levelInfo},
}

// levelFromKeywords returns the level of the first level word in line, in any case, that
// stands alone: neither the byte before it nor the byte after it (when there is one) is a
// letter, a digit or '_', as Loki decides it. So "[WARN] disk", "ERROR: x", "misc:error" and
// "GET /error" count, while "stderr", "referrer", "errors" and "informal" do not. Without
// one it is unknown.
//
// Loki (3.5) looks for each keyword in turn, trace, debug, fatal, critical, error, err,
// warning, warn and info, and takes the first whose first occurrence in the line stands
// alone. The two differ only on a line holding two different level words ("info: retry after
// error": info here, error in Loki), or a level word first inside a word and later alone
// ("errors, then error": error here, unknown in Loki). Over the storage benchmark's 20,000
// sample lines of nginx, JSON, logfmt and Java logs the two gave the same level for every
// line; Loki's rule must read every line to its end, which cost 14% more instructions for the
// whole ingest path (measured with perf stat, with an automaton finding all nine keywords in
// one pass), where this one stops at the first level word.
//
// It runs on every line without a level field, so it looks at each byte once, through a
// table, and compares words only where one can start. It takes eight bytes at a time: their
// classes packed in a word, a keyword can start where the class of the byte before (shifted up
// a byte) has leftBoundary and the byte's has wordStart, and the loop branches only when one
// of the eight is such a candidate. Branching at every word start instead mispredicted on
// real lines: BenchmarkLevelFromKeywords, 1,000 different access lines, 202-220 ns a line
// then, 130-149 ns now.
func levelFromKeywords(line string) string {
	prev := uint64(leftBoundary) // the start of the line counts as a boundary
	i := 0
	for ; i+8 <= len(line); i += 8 {
		b := line[i : i+8]
		c := uint64(byteClass[b[0]]) | uint64(byteClass[b[1]])<<8 | uint64(byteClass[b[2]])<<16 |
			uint64(byteClass[b[3]])<<24 | uint64(byteClass[b[4]])<<32 | uint64(byteClass[b[5]])<<40 |
			uint64(byteClass[b[6]])<<48 | uint64(byteClass[b[7]])<<56
		cand := (c<<8 | prev) >> 1 & c & 0x0101010101010101 // wordStart is bit 0, leftBoundary bit 1 (checked below)
		for cand != 0 {
			k := bits.TrailingZeros64(cand) / 8
			if l, ok := keywordAt(line, i+k); ok {
				return l
			}
			cand &= cand - 1
		}
		prev = c >> 56
	}
	prevBoundary := prev&leftBoundary != 0
	for ; i < len(line); i++ {
		class := byteClass[line[i]]
		if prevBoundary && class&wordStart != 0 {
			if l, ok := keywordAt(line, i); ok {
				return l
			}
		}
		prevBoundary = class&leftBoundary != 0
	}
	return levelUnknown
}

// keywordAt returns the level of the level word standing alone at line[i:], if any.
func keywordAt(line string, i int) (string, bool) {
	for _, k := range keywordsByStart[line[i]] {
		end := i + len(k.word)
		if end <= len(line) && hasPrefixFold(line[i:], k.word) &&
			(end == len(line) || byteClass[line[end]]&rightBoundary != 0) {
			return k.level, true
		}
	}
	return "", false
}

// hasPrefixFold reports whether s starts with w (lower case ASCII) in any case. For ASCII w
// this is strings.EqualFold on the prefix: no other character folds to an ASCII letter and
// has the same length in bytes.
func hasPrefixFold(s, w string) bool {
	for j := 0; j < len(w); j++ {
		if s[j]|0x20 != w[j] { // w is letters only, so |0x20 lower-cases what can match
			return false
		}
	}
	return true
}

// keywordsByStart lists, for each byte, the level keywords starting with it in either case,
// longer ones first ("error" before "err"), so keywordAt tries at most two.
var keywordsByStart = func() (t [256][]levelKeyword) {
	for _, k := range levelKeywords {
		c := k.word[0]
		t[c] = append(t[c], k)
		t[c-'a'+'A'] = append(t[c-'a'+'A'], k)
	}
	return t
}()

// Byte classes of levelFromKeywords.
const (
	wordStart = 1 << iota
	leftBoundary
	rightBoundary
)

// levelFromKeywords' candidate mask needs wordStart in bit 0 and leftBoundary right above it:
// these fail to compile otherwise.
const (
	_ uint = wordStart - 1
	_ uint = 1 - wordStart
	_ uint = leftBoundary>>1 - wordStart
	_ uint = wordStart - leftBoundary>>1
)

var byteClass = func() (class [256]uint8) {
	for _, k := range levelKeywords {
		class[k.word[0]] |= wordStart
		class[k.word[0]-'a'+'A'] |= wordStart
	}
	// Loki's boundary: a byte that, taken as a character (so bytes above 0x7f as Latin-1), is
	// neither a letter nor a digit nor '_'.
	for i := range class {
		if r := rune(i); !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' {
			class[i] |= leftBoundary | rightBoundary
		}
	}
	return class
}()
