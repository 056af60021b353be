package distributor

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
)

// parseLabels parses a stream's label set in selector syntax, `{name="value", ...}`, as clients
// send it. Values are Go/LogQL string literals (double-quoted with escapes, or backquoted).
// Labels are returned sorted; a duplicate name is reported, not merged.
func parseLabels(s string) (labels.Labels, error) {
	p := strings.TrimSpace(s)
	if !strings.HasPrefix(p, "{") || !strings.HasSuffix(p, "}") {
		return labels.EmptyLabels(), errors.New("labels must be enclosed in {}")
	}
	p = strings.TrimSpace(p[1 : len(p)-1])
	var b labels.ScratchBuilder
	for p != "" {
		i := 0
		for i < len(p) && isNameChar(p[i], i == 0) {
			i++
		}
		if i == 0 {
			return labels.EmptyLabels(), fmt.Errorf("invalid label name at %q", abbrev(p))
		}
		name := p[:i]
		p = strings.TrimLeft(p[i:], " \t")
		if !strings.HasPrefix(p, "=") || strings.HasPrefix(p, "=~") {
			return labels.EmptyLabels(), fmt.Errorf("expected '=' after label name %q", name)
		}
		p = strings.TrimLeft(p[1:], " \t")
		value, rest, err := unquotePrefix(p)
		if err != nil {
			return labels.EmptyLabels(), fmt.Errorf("value of label %q: %w", name, err)
		}
		b.Add(name, value)
		p = strings.TrimLeft(rest, " \t")
		if p == "" {
			break
		}
		if p[0] != ',' {
			return labels.EmptyLabels(), fmt.Errorf("expected ',' or '}' after label %q", name)
		}
		p = strings.TrimLeft(p[1:], " \t")
	}
	b.Sort()
	return b.Labels(), nil
}

func isNameChar(c byte, first bool) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || !first && c >= '0' && c <= '9'
}

// unquotePrefix reads the string literal at the start of s and returns its value and the rest.
func unquotePrefix(s string) (value, rest string, err error) {
	if s == "" {
		return "", "", errors.New("missing value")
	}
	switch s[0] {
	case '`':
		end := strings.IndexByte(s[1:], '`')
		if end < 0 {
			return "", "", errors.New("unterminated string")
		}
		return s[1 : end+1], s[end+2:], nil
	case '"':
		// Fast path: no escapes.
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '"':
				return s[1:i], s[i+1:], nil
			case '\\':
				q, err := strconv.QuotedPrefix(s)
				if err != nil {
					return "", "", errors.New("invalid string literal")
				}
				v, err := strconv.Unquote(q)
				if err != nil {
					return "", "", errors.New("invalid string literal")
				}
				return v, s[len(q):], nil
			}
		}
		return "", "", errors.New("unterminated string")
	}
	return "", "", errors.New("value must be a quoted string")
}

func abbrev(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}
