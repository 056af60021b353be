// Package jsonscan reads JSON text in place without decoding it: the few steps the push path
// (level discovery) and the pattern detector need to find one member of an object cheaply,
// with no allocation. Positions are byte offsets into the text; a string is returned raw, as
// written between its quotes, escapes and all.
package jsonscan

import (
	"encoding/json"
	"strings"
)

// Space returns the offset of the first byte at or after i that is not JSON whitespace.
func Space(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// String reads the string starting at s[i], which must be '"'. It returns the string's raw
// contents, the offset past its closing quote (the first quote not escaped by an odd run of
// backslashes), and whether the contents hold an escape; ok is false when s[i] is not a quote
// or the string does not end.
func String(s string, i int) (raw string, end int, escaped, ok bool) {
	if i >= len(s) || s[i] != '"' {
		return "", i, false, false
	}
	for j := i + 1; ; {
		q := strings.IndexByte(s[j:], '"')
		if q < 0 {
			return "", len(s), false, false
		}
		q += j
		k := q
		for k > i+1 && s[k-1] == '\\' {
			k--
		}
		if (q-k)%2 == 0 {
			raw = s[i+1 : q]
			return raw, q + 1, escaped || strings.IndexByte(raw, '\\') >= 0, true
		}
		escaped = true
		j = q + 1
	}
}

// Skip returns the offset past the value starting at s[i]: a string, an object or array with
// everything in it, or a scalar (a number, true, false or null), which runs to the next
// delimiter. ok is false when the value is empty or does not end.
func Skip(s string, i int) (end int, ok bool) {
	if i >= len(s) {
		return i, false
	}
	switch s[i] {
	case '"':
		_, end, _, ok = String(s, i)
		return end, ok
	case '{', '[':
		depth := 0
		for ; i < len(s); i++ {
			switch s[i] {
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1, true
				}
			case '"':
				_, end, _, ok := String(s, i)
				if !ok {
					return end, false
				}
				i = end - 1
			}
		}
		return i, false
	}
	start := i
	for ; i < len(s); i++ {
		switch s[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i, i > start
		}
	}
	return i, i > start
}

// Unescape decodes a string's raw contents (as String returns them). Escapes are rare in the
// keys this package's callers compare, so this takes the slow, allocating way.
func Unescape(raw string) (string, bool) {
	if strings.IndexByte(raw, '\\') < 0 {
		return raw, true
	}
	var v string
	if json.Unmarshal([]byte(`"`+raw+`"`), &v) != nil {
		return "", false
	}
	return v, true
}
