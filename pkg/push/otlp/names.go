package otlp

import (
	"unicode/utf8"
)

// labelName returns the label (or structured metadata) name Loki makes of an attribute name,
// by the rules of Prometheus' OTLP translator (otlptranslator.LabelNamer) that Loki uses:
//
//   - every character other than an ASCII letter, digit or underscore becomes one underscore
//     (service.name → service_name, a byte of invalid UTF-8 counts as one character);
//   - a name that then starts with a digit gets "key_" in front (2xx → key_2xx), and one that
//     starts with a single underscore gets "key" (_id → key_id); "__" is kept;
//   - an empty name, or one that the rules changed into nothing but underscores (..), is an
//     error, for which Loki refuses the whole request.
//
// It allocates only when the name changes.
func labelName(s string) (string, error) {
	if s == "" {
		return "", malformed("attribute name %q is empty once normalized", s)
	}
	if validName(s) {
		return s, nil
	}
	b := make([]byte, 0, len(s)+4)
	for i := 0; i < len(s); {
		_, n := utf8.DecodeRuneInString(s[i:])
		if n == 1 && nameByte(s[i]) {
			b = append(b, s[i])
		} else {
			b = append(b, '_')
		}
		i += n
	}
	switch {
	case b[0] >= '0' && b[0] <= '9':
		b = append([]byte("key_"), b...)
	case b[0] == '_' && (len(b) == 1 || b[1] != '_'):
		b = append([]byte("key"), b...)
	}
	name := string(b)
	if name != s && allUnderscores(name) {
		return "", malformed("attribute name %q becomes %q once normalized, which is not a valid name", s, name)
	}
	return name, nil
}

// validName reports whether labelName(s) is s.
func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		if !nameByte(s[i]) {
			return false
		}
	}
	switch {
	case s[0] >= '0' && s[0] <= '9':
		return false
	case s[0] == '_' && (len(s) == 1 || s[1] != '_'):
		return false
	}
	return true
}

func nameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func allUnderscores(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '_' {
			return false
		}
	}
	return true
}
