package pattern

import (
	"strings"

	"github.com/sluicelog/sluice/pkg/jsonscan"
)

// jsonMessage returns the message of a JSON line: the value of the first of fields that is a
// string member of the line's top-level object. Like Loki's pattern ingester it returns the
// value as it is written, escapes included, and only looks at a member's first occurrence.
// Nested objects and arrays are skipped. ok is false when no such member exists, in which case
// Loki skips the line. A syntax error ends the search with what was found before it (Loki's
// more lenient parser reads on past some errors; lines that broken are rare).
func jsonMessage(line string, fields []string) (msg string, ok bool) {
	i := jsonscan.Space(line, 0)
	if i >= len(line) || line[i] != '{' {
		return "", false
	}
	i++
	best := len(fields)
	var seen uint64 // fields whose first occurrence has been met
	for {
		i = jsonscan.Space(line, i)
		key, end, _, ok := jsonscan.String(line, i)
		if !ok {
			break // '}' ends the object; anything else is a syntax error
		}
		i = jsonscan.Space(line, end)
		if i >= len(line) || line[i] != ':' {
			break
		}
		i = jsonscan.Space(line, i+1)
		if i >= len(line) {
			break
		}
		k := fieldIndex(fields, key)
		if k >= 0 && seen&(1<<k) != 0 {
			k = -1
		}
		if line[i] == '"' {
			val, end, _, ok := jsonscan.String(line, i)
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
		} else if i, ok = jsonscan.Skip(line, i); !ok {
			// Nested objects and arrays are skipped whole; a scalar runs to its delimiter.
			return msg, best < len(fields)
		}
		if k >= 0 {
			seen |= 1 << k
		}
		i = jsonscan.Space(line, i)
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
	// An escaped key, e.g. "m\u0073g": decode it.
	s, ok := jsonscan.Unescape(key)
	if !ok {
		return -1
	}
	for i, f := range fields {
		if f == s {
			return i
		}
	}
	return -1
}
