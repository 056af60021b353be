package distributor

import (
	"unicode/utf8"

	"github.com/sluicelog/sluice/pkg/jsonscan"
)

// jsonLevelField returns the first string value, in document order, whose key is one of
// fields, looking into nested objects (not arrays) down to maxDepth levels (0 or less: all).
// The value is returned as written between its quotes, escapes and all, as Loki does. It
// stops at malformed JSON, keeping a value found before it.
func jsonLevelField(line string, fields *levelFields, maxDepth int) (string, bool) {
	v, found, _, _ := jsonObjectLevel(line, jsonscan.Space(line, 0), fields, maxDepth, 0)
	return v, found
}

// jsonObjectLevel reads the object at line[i] and returns the offset past it. depth is its
// nesting (0 for the line itself); an object at maxDepth or deeper is skipped unread. ok is
// false on malformed JSON.
func jsonObjectLevel(line string, i int, fields *levelFields, maxDepth, depth int) (value string, found bool, end int, ok bool) {
	if maxDepth > 0 && depth >= maxDepth {
		end, ok = jsonscan.Skip(line, i)
		return "", false, end, ok
	}
	if i >= len(line) || line[i] != '{' {
		return "", false, i, false
	}
	i = jsonscan.Space(line, i+1)
	if i < len(line) && line[i] == '}' {
		return "", false, i + 1, true
	}
	for {
		key, next, keyEscaped, ok := jsonscan.String(line, jsonscan.Space(line, i))
		if !ok {
			return "", false, next, false
		}
		i = jsonscan.Space(line, next)
		if i >= len(line) || line[i] != ':' {
			return "", false, i, false
		}
		i = jsonscan.Space(line, i+1)
		if i >= len(line) {
			return "", false, i, false
		}
		switch line[i] {
		case '"':
			v, next, _, ok := jsonscan.String(line, i)
			if !ok {
				return "", false, next, false
			}
			if isLevelField(key, keyEscaped, fields) {
				return v, true, next, true
			}
			i = next
		case '{':
			v, found, next, ok := jsonObjectLevel(line, i, fields, maxDepth, depth+1)
			if found || !ok {
				return v, found, next, ok
			}
			i = next
		default:
			if i, ok = jsonscan.Skip(line, i); !ok {
				return "", false, i, false
			}
		}
		i = jsonscan.Space(line, i)
		if i >= len(line) {
			return "", false, i, false
		}
		switch line[i] {
		case ',':
			i++
		case '}':
			return "", false, i + 1, true
		default:
			return "", false, i, false
		}
	}
}

// isLevelField reports whether a JSON key (raw, as between its quotes) is one of fields.
// Keys are compared unescaped, as Loki's JSON reader does.
func isLevelField(raw string, escaped bool, fields *levelFields) bool {
	if !escaped && !fields.mayHave(raw) {
		return false
	}
	key := raw
	if escaped {
		k, ok := jsonscan.Unescape(raw)
		if !ok || !utf8.ValidString(k) {
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
