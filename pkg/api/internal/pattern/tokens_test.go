package pattern

import (
	"strings"
	"testing"
)

func texts(ts []token) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.text
	}
	return out
}

func TestPunctuate(t *testing.T) {
	check := func(line string, want ...string) {
		t.Helper()
		lead, toks, ok := punctuate(nil, line, 80)
		if !ok || strings.Join(texts(toks), "|") != strings.Join(want, "|") {
			t.Errorf("punctuate(%q) = %q ok=%v, want %q", line, texts(toks), ok, want)
		}
		// Joined back with the recorded spacing, the tokens give the line again.
		if got := string(appendPlain(nil, lead, toks)); got != line {
			t.Errorf("punctuate(%q) renders back as %q", line, got)
		}
	}
	// _ - . : / stay inside tokens; '=' and other punctuation are tokens of their own.
	check("key1=value1 key2=value2", "key1", "=", "value1", "key2", "=", "value2")
	check("key1:value1 key2:value2", "key1:value1", "key2:value2")
	check(`{"key1":"value1", "key2":2}`, "{", `"`, "key1", `"`, ":", `"`, "value1", `"`, ",", `"`, "key2", `"`, ":2", "}")
	check(`10.0.0.1 - - [22/Nov/2026:10:00:01 +0000] "GET /api/v1/items/1 HTTP/1.1" 200`,
		"10.0.0.1", "-", "-", "[", "22/Nov/2026:10:00:01", "+0000", "]", `"`, "GET", "/api/v1/items/1", "HTTP/1.1", `"`, "200")
	// Symbols ($ + < > ^ | ~ `) and tabs are not punctuation: they stay inside tokens.
	check("a$b c+d <_> e|f\tg", "a$b", "c+d", "<_>", "e|f\tg")
	// Several spaces, leading and trailing ones are kept for rendering, not as tokens.
	check("  two  spaces  ", "two", "spaces")
	check("12:00:01.123  WARN [main]", "12:00:01.123", "WARN", "[", "main", "]")
	// Non-ASCII: letters and numbers stay, punctuation splits (a whole character).
	check("größe «café» ½ ok", "größe", "«", "café", "»", "½", "ok")
	check("", []string{}...)

	if _, _, ok := punctuate(nil, strings.Repeat("a ", 81), 80); ok {
		t.Error("punctuate of 81 tokens with max 80: ok, want not ok")
	}
	if _, toks, ok := punctuate(nil, strings.Repeat("a ", 80), 80); !ok || len(toks) != 80 {
		t.Errorf("punctuate of 80 tokens with max 80 = %d tokens ok=%v, want 80 and ok", len(toks), ok)
	}
}

func TestHasNumber(t *testing.T) {
	for s, want := range map[string]bool{"abc": false, "a1": true, "x.go:12": true, "½": true, "٣": true, "é-ü": false, "": false} {
		if got := hasNumber(s); got != want {
			t.Errorf("hasNumber(%q) = %v, want %v", s, got, want)
		}
	}
}
