package config

import (
	"os"
	"strings"
)

// ExpandEnv replaces ${VAR}, ${VAR:-default} and $VAR in s with values from the environment,
// as promtail's -config.expand-env does. Unset variables become empty (or their default);
// "$$" is a literal dollar sign.
func ExpandEnv(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		next := s[i+1]
		switch {
		case next == '$':
			b.WriteByte('$')
			i++
		case next == '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			expr := s[i+2 : i+2+end]
			b.WriteString(expandExpr(expr))
			i += 2 + end
		case isNameByte(next, true):
			j := i + 1
			for j < len(s) && isNameByte(s[j], j == i+1) {
				j++
			}
			b.WriteString(os.Getenv(s[i+1 : j]))
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func expandExpr(expr string) string {
	if k := strings.Index(expr, ":-"); k >= 0 {
		if v, ok := os.LookupEnv(expr[:k]); ok && v != "" {
			return v
		}
		return expr[k+2:]
	}
	if k := strings.Index(expr, "-"); k >= 0 {
		if v, ok := os.LookupEnv(expr[:k]); ok {
			return v
		}
		return expr[k+1:]
	}
	return os.Getenv(expr)
}

func isNameByte(c byte, first bool) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9')
}
