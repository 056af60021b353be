package log

import "strings"

// SanitizeLabelName turns a key found in a log line into a valid label name as Loki does:
// surrounding spaces are trimmed, every character other than ASCII letters, digits and '_'
// becomes '_', and when isPrefix is set (the name starts the label) a leading digit gets a
// '_' in front.
func SanitizeLabelName(key string, isPrefix bool) string {
	key = strings.TrimSpace(key)
	if key == "" {
		return key
	}
	if validLabelName(key) {
		return key
	}
	var sb strings.Builder
	sb.Grow(len(key) + 1)
	if isPrefix && key[0] >= '0' && key[0] <= '9' {
		sb.WriteByte('_')
	}
	for _, r := range key {
		if isLabelChar(r) {
			sb.WriteRune(r)
		} else {
			sb.WriteByte('_')
		}
	}
	return sb.String()
}

func isLabelChar(r rune) bool {
	return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
}

// validLabelName reports whether s needs no sanitising (as a label's first part).
func validLabelName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
			return false
		}
	}
	return true
}

// sanitizeBytesInto appends the sanitised form of key to dst (for nested JSON keys, where
// the key is not the first part, so leading digits are kept).
func sanitizeBytesInto(dst []byte, key []byte, isPrefix bool) []byte {
	if isPrefix && len(key) > 0 && key[0] >= '0' && key[0] <= '9' {
		dst = append(dst, '_')
	}
	for _, r := range string(key) {
		if isLabelChar(r) {
			dst = append(dst, byte(r))
		} else {
			dst = append(dst, '_')
		}
	}
	return dst
}
