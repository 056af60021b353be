package distributor

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// levelFields are the field names levels are read from (log_level_fields), with what the
// logfmt and JSON readers need to reject other keys quickly. It is built once per push.
type levelFields struct {
	names []string
	ascii bool // every name is ASCII
	// lengths has bit n set when a name is n bytes long (n < 64), or every bit when one is
	// longer: most keys of a line are rejected by their length alone.
	lengths uint64
}

func newLevelFields(names []string) levelFields {
	f := levelFields{names: names, ascii: true}
	for _, n := range names {
		f.ascii = f.ascii && isASCII(n)
		if len(n) < 64 {
			f.lengths |= 1 << len(n)
		} else {
			f.lengths = ^uint64(0)
		}
	}
	return f
}

// mayHave reports whether a name of fields can be len(key) bytes long.
func (f *levelFields) mayHave(key string) bool {
	return len(key) >= 64 && f.lengths == ^uint64(0) || len(key) < 64 && f.lengths&(1<<len(key)) != 0
}

// logfmtLevelField returns the value of line's logfmt field whose key equals, without case,
// the earliest possible name in fields; "" when there is none. Scanning stops at the first
// syntax error, keeping what was found before it.
func logfmtLevelField(line string, fields *levelFields) string {
	best, value := len(fields.names), ""
	for pos := 0; ; {
		key, val, next, ok := nextLogfmtPair(line, pos)
		if !ok {
			return value
		}
		pos = next
		// ASCII strings of different lengths are not equal without case; others may be
		// ("ſeverity", with a long s, folds to "severity"), so they go through EqualFold.
		sameLenOnly := fields.ascii && isASCII(key)
		if sameLenOnly && !fields.mayHave(key) {
			continue
		}
		for x := 0; x < best; x++ {
			name := fields.names[x]
			if sameLenOnly && len(name) != len(key) {
				continue
			}
			if strings.EqualFold(key, name) {
				best, value = x, val
				if x == 0 {
					return value
				}
				break
			}
		}
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// nextLogfmtPair scans the pair at or after pos with go-logfmt's rules (the decoder Loki's is
// built on): a key runs to '=' or a space, a value is bare or double-quoted with Go escapes.
// ok is false at the end of the line and on a syntax error.
func nextLogfmtPair(line string, pos int) (key, value string, next int, ok bool) {
	for pos < len(line) && line[pos] <= ' ' {
		pos++
	}
	if pos >= len(line) {
		return "", "", pos, false
	}
	start := pos
	for pos < len(line) && line[pos] > ' ' && line[pos] != '=' {
		if line[pos] == '"' {
			return "", "", pos, false
		}
		pos++
	}
	if pos == start {
		return "", "", pos, false // '=' with no key
	}
	key = line[start:pos]
	if pos == len(line) || line[pos] != '=' {
		return key, "", pos, true
	}
	pos++ // '='
	if pos == len(line) || line[pos] <= ' ' {
		return key, "", pos, true
	}
	if line[pos] == '"' {
		return quotedLogfmtValue(line, key, pos)
	}
	start = pos
	for pos < len(line) && line[pos] > ' ' {
		if line[pos] == '=' || line[pos] == '"' {
			return "", "", pos, false
		}
		pos++
	}
	return key, line[start:pos], pos, true
}

func quotedLogfmtValue(line, key string, pos int) (string, string, int, bool) {
	escaped := false
	for i := pos + 1; i < len(line); i++ {
		switch line[i] {
		case '\\':
			escaped = true
			i++
		case '"':
			if !escaped {
				return key, line[pos+1 : i], i + 1, true
			}
			// Rare: unescaping allocates, but only for a quoted value with escapes.
			v, err := strconv.Unquote(line[pos : i+1])
			if err != nil {
				return "", "", i + 1, false
			}
			return key, v, i + 1, true
		}
	}
	return "", "", len(line), false // unterminated
}
