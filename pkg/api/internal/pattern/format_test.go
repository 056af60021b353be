package pattern

import (
	"strings"
	"testing"
	"time"
)

func TestDetectFormat(t *testing.T) {
	for line, want := range map[string]Format{
		`{"level":"info","msg":"hello"}`:                                   FormatJSON,
		`{not really json}`:                                                FormatJSON, // only the braces are looked at
		`{"level":"info"} trailing`:                                        FormatPlain,
		`level=info msg="request done" duration=5ms status=200`:            FormatLogfmt,
		`ts=2024-04-17T09:52:46Z caller=http.go:194 level=debug msg="GET"`: FormatLogfmt,
		`a=1`:                          FormatLogfmt,
		`a="x"b=2`:                     FormatLogfmt, // the last pairs may be glued
		`level=info msg=`:              FormatPlain,  // a value can not be empty
		`level=info  msg=x`:            FormatPlain,  // pairs are separated by one space
		`http.method=GET status=200`:   FormatPlain,  // keys are word characters only
		`level=info <REDACTED> msg=x`:  FormatPlain,
		`msg="unterminated status=200`: FormatPlain,
		`10.0.0.1 - - [22/Nov/2026] "GET / HTTP/1.1" 200 512`:                  FormatPlain,
		`2026-11-22 10:00:00.123 INFO [main] c.e.Foo - Started in 3.2 seconds`: FormatPlain,
		`a="x"b=2 c=3`: FormatPlain,  // but only the last ones
		`a= b=c`:       FormatLogfmt, // "a=" and a value " b=c": any first character but '"'
		"a=\"x\ny\"":   FormatPlain,  // a quoted value holds no newline
		`x`:            FormatPlain,
		`{}`:           FormatJSON,
	} {
		if got := DetectFormat(line); got != want {
			t.Errorf("DetectFormat(%q) = %v, want %v", line, got, want)
		}
	}
}

func FuzzDetectFormat(f *testing.F) {
	for _, s := range []string{`a=1 b="x y"`, `a="x"b=1`, `k=v k2= v`, "a=\"\n\"", `{"a":1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		got := DetectFormat(line)
		if got == FormatJSON && (line[0] != '{' || line[len(line)-1] != '}') {
			t.Fatalf("DetectFormat(%q) = json", line)
		}
		if got == FormatLogfmt && !strings.Contains(line, "=") {
			t.Fatalf("DetectFormat(%q) = logfmt without a '='", line)
		}
	})
}

// TestDetectFormatIsLinear: a first line full of quotes and spaces, where a value could end at
// any of many places, is decided quickly.
func TestDetectFormatIsLinear(t *testing.T) {
	line := strings.Repeat(`a=" `, 250000) // 1MB
	start := time.Now()
	if DetectFormat(line) != FormatPlain {
		t.Errorf("DetectFormat of a line ending in a space: not plain")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("DetectFormat of a 1MB line took %v", d)
	}
}
