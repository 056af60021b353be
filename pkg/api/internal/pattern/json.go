package pattern

import (
	"encoding/json"
	"strings"
)

// jsonMessage returns the message of a JSON line: the value of the first of fields that is a
// string member of the line's top-level object. Like Loki's pattern ingester it returns the
// value as it is written, escapes included, and only looks at a member's first occurrence.
// Nested objects and arrays are skipped. ok is false when no such member exists, in which case
// Loki skips the line. A syntax error ends the search with what was found before it (Loki's
// more lenient parser reads on past some errors; lines that broken are rare).
func jsonMessage(line string, fields []string) (msg string, ok bool) {
	i := skipJSONSpace(line, 0)
	if i >= len(line) || line[i] != '{' {
		return "", false
	}
	i++
	best := len(fields)
	var seen uint64 // fields whose first occurrence has been met
	for {
		i = skipJSONSpace(line, i)
		if i >= len(line) || line[i] != '"' {
			break // '}' ends the object; anything else is a syntax error
		}
		key, end, ok := jsonString(line, i)
		if !ok {
			break
		}
		i = skipJSONSpace(line, end)
		if i >= len(line) || line[i] != ':' {
			break
		}
		i = skipJSONSpace(line, i+1)
		if i >= len(line) {
			break
		}
		k := fieldIndex(fields, key)
		if k >= 0 && seen&(1<<k) != 0 {
			k = -1
		}
		switch line[i] {
		case '"':
			val, end, ok := jsonString(line, i)
			if !ok {
				return msg, best < len(fields)
			}
			if k >= 0 && k < best {
				best, msg = k, val
				if k == 0 {
					return msg, true
				}
			}
			i = end
		case '{', '[':
			if i = skipJSONBlock(line, i); i < 0 {
				return msg, best < len(fields)
			}
		default:
			i = scalarEnd(line, i)
		}
		if k >= 0 {
			seen |= 1 << k
		}
		i = skipJSONSpace(line, i)
		if i >= len(line) || line[i] != ',' {
			break
		}
		i++
	}
	return msg, best < len(fields)
}

// fieldIndex returns the index of key (a JSON string's contents) in fields, or -1.
func fieldIndex(fields []string, key string) int {
	for i, f := range fields {
		if f == key {
			return i
		}
	}
	if strings.IndexByte(key, '\\') < 0 {
		return -1
	}
	// An escaped key, e.g. "m\u0073g": decode it. Rare, so the allocation does not matter.
	var s string
	if json.Unmarshal([]byte(`"`+key+`"`), &s) != nil {
		return -1
	}
	for i, f := range fields {
		if f == s {
			return i
		}
	}
	return -1
}

// jsonString returns the contents of the string starting at line[i] ('"') and the index past
// its closing quote: the first quote not escaped by an odd run of backslashes.
func jsonString(line string, i int) (string, int, bool) {
	for j := i + 1; ; {
		q := strings.IndexByte(line[j:], '"')
		if q < 0 {
			return "", len(line), false
		}
		q += j
		k := q
		for k > i+1 && line[k-1] == '\\' {
			k--
		}
		if (q-k)%2 == 0 {
			return line[i+1 : q], q + 1, true
		}
		j = q + 1
	}
}

// skipJSONBlock returns the index past the object or array starting at line[i], or -1 when it
// does not end.
func skipJSONBlock(line string, i int) int {
	depth := 0
	for ; i < len(line); i++ {
		switch line[i] {
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return i + 1
			}
		case '"':
			_, end, ok := jsonString(line, i)
			if !ok {
				return -1
			}
			i = end - 1
		}
	}
	return -1
}

// scalarEnd returns the index past the number, true, false or null at line[i].
func scalarEnd(line string, i int) int {
	for ; i < len(line); i++ {
		switch line[i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return i
		}
	}
	return i
}

func skipJSONSpace(line string, i int) int {
	for i < len(line) && (line[i] == ' ' || line[i] == '\t' || line[i] == '\n' || line[i] == '\r') {
		i++
	}
	return i
}
