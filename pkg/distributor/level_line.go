package distributor

import (
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
var levelKeywords = [...]struct{ word, level string }{
	{"trace", levelTrace}, {"debug", levelDebug}, {"fatal", levelFatal},
	{"critical", levelCritical}, {"error", levelError}, {"err", levelError},
	{"warning", levelWarn}, {"warn", levelWarn}, {"info", levelInfo},
}

// levelFromKeywords returns the level of the first level word in line, in any case, that
// stands alone: after the start of the line or one of ` \t\n[({"=`, and before the end or one
// of ` \t\n[](){}:,!"=`. So "[WARN] disk", "ERROR: x" and `status="error"` count, while
// "stderr", "referrer", "errors" and "misc:error" do not. Without one it is unknown.
//
// It runs on every line without a level field, so it looks at each byte once, through a
// table, and compares words only where one can start.
func levelFromKeywords(line string) string {
	prevBoundary := true // the start of the line counts as one
	for i := 0; i < len(line); i++ {
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
	c := line[i] | 0x20 // lower case; every keyword starts with an ASCII letter
	for _, k := range levelKeywords {
		end := i + len(k.word)
		if k.word[0] == c && end <= len(line) && strings.EqualFold(line[i:end], k.word) &&
			(end == len(line) || byteClass[line[end]]&rightBoundary != 0) {
			return k.level, true
		}
	}
	return "", false
}

// Byte classes of levelFromKeywords.
const (
	wordStart = 1 << iota
	leftBoundary
	rightBoundary
)

var byteClass = func() (class [256]uint8) {
	for _, k := range levelKeywords {
		class[k.word[0]] |= wordStart
		class[k.word[0]-'a'+'A'] |= wordStart
	}
	for _, c := range []byte(" \t\n[({\"=") {
		class[c] |= leftBoundary
	}
	for _, c := range []byte(" \t\n[](){}:,!\"=") {
		class[c] |= rightBoundary
	}
	return class
}()
