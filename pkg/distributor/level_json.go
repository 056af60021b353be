package distributor

import (
	"encoding/json"
	"unicode/utf8"
)

// jsonLevelField returns the first string value, in document order, whose key is one of
// fields, looking into nested objects (not arrays) down to maxDepth levels (0 or less: all).
// The value is returned as written between its quotes, escapes and all, as Loki does. It
// stops at malformed JSON, keeping a value found before it.
func jsonLevelField(line string, fields *levelFields, maxDepth int) (string, bool) {
	s := jsonScan{s: line}
	s.space()
	v, found, _ := s.object(fields, maxDepth, 0)
	return v, found
}

// jsonScan is a cursor over JSON text that reads only as much as level discovery needs.
type jsonScan struct {
	s   string
	pos int
}

func (j *jsonScan) space() {
	for j.pos < len(j.s) {
		switch j.s[j.pos] {
		case ' ', '\t', '\n', '\r':
			j.pos++
		default:
			return
		}
	}
}

// str reads a string at pos ('"' expected) and returns its raw contents and whether they
// hold an escape.
func (j *jsonScan) str() (raw string, escaped, ok bool) {
	if j.pos >= len(j.s) || j.s[j.pos] != '"' {
		return "", false, false
	}
	start := j.pos + 1
	for i := start; i < len(j.s); i++ {
		switch j.s[i] {
		case '\\':
			escaped = true
			i++
		case '"':
			j.pos = i + 1
			return j.s[start:i], escaped, true
		}
	}
	return "", false, false
}

// object reads the object at pos. depth is its nesting (0 for the line itself); an object at
// maxDepth or deeper is skipped unread. ok is false on malformed JSON.
func (j *jsonScan) object(fields *levelFields, maxDepth, depth int) (value string, found, ok bool) {
	if maxDepth > 0 && depth >= maxDepth {
		return "", false, j.skip()
	}
	if j.pos >= len(j.s) || j.s[j.pos] != '{' {
		return "", false, false
	}
	j.pos++
	j.space()
	if j.pos < len(j.s) && j.s[j.pos] == '}' {
		j.pos++
		return "", false, true
	}
	for {
		j.space()
		key, keyEscaped, ok := j.str()
		if !ok {
			return "", false, false
		}
		j.space()
		if j.pos >= len(j.s) || j.s[j.pos] != ':' {
			return "", false, false
		}
		j.pos++
		j.space()
		if j.pos >= len(j.s) {
			return "", false, false
		}
		switch j.s[j.pos] {
		case '"':
			v, _, ok := j.str()
			if !ok {
				return "", false, false
			}
			if isLevelField(key, keyEscaped, fields) {
				return v, true, true
			}
		case '{':
			if v, found, ok := j.object(fields, maxDepth, depth+1); found || !ok {
				return v, found, ok
			}
		default:
			if !j.skip() {
				return "", false, false
			}
		}
		j.space()
		if j.pos >= len(j.s) {
			return "", false, false
		}
		switch j.s[j.pos] {
		case ',':
			j.pos++
		case '}':
			j.pos++
			return "", false, true
		default:
			return "", false, false
		}
	}
}

// skip moves past the value at pos: a scalar, or an array or object with everything in it.
func (j *jsonScan) skip() bool {
	if j.pos >= len(j.s) {
		return false
	}
	switch j.s[j.pos] {
	case '"':
		_, _, ok := j.str()
		return ok
	case '{', '[':
		nest := 0
		for j.pos < len(j.s) {
			switch j.s[j.pos] {
			case '"':
				if _, _, ok := j.str(); !ok {
					return false
				}
				continue
			case '{', '[':
				nest++
			case '}', ']':
				nest--
				if nest == 0 {
					j.pos++
					return true
				}
			}
			j.pos++
		}
		return false
	}
	// A number, true, false or null: runs to the next delimiter.
	start := j.pos
	for j.pos < len(j.s) {
		switch j.s[j.pos] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j.pos > start
		}
		j.pos++
	}
	return false
}

// isLevelField reports whether a JSON key (raw, as between its quotes) is one of fields.
// Keys are compared unescaped, as Loki's JSON reader does; escaped keys are rare enough to
// be unescaped the slow way.
func isLevelField(raw string, escaped bool, fields *levelFields) bool {
	if !escaped && !fields.mayHave(raw) {
		return false
	}
	key := raw
	if escaped {
		var k string
		if json.Unmarshal([]byte(`"`+raw+`"`), &k) != nil || !utf8.ValidString(k) {
			return false
		}
		key = k
	}
	for _, f := range fields.names {
		if key == f {
			return true
		}
	}
	return false
}
