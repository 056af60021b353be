package log

import (
	"strings"
	"testing"
)

// TestReadStringLengths reads strings of every length around the one-by-one look at the first
// shortString bytes, with a backslash escape at every place in them, and checks the raw text,
// the escaped flag and where the scanner stops against a plain walk.
func TestReadStringLengths(t *testing.T) {
	for n := 0; n <= 2*shortString+2; n++ {
		for esc := -1; esc < n; esc++ {
			body := []byte(strings.Repeat("a", n))
			if esc >= 0 {
				body[esc] = '\\'
				body = append(body[:esc+1], append([]byte{'"'}, body[esc+1:]...)...) // \" inside
			}
			data := []byte(`"` + string(body) + `",x`)
			s := jsonScanner{data: data}
			raw, escaped, err := s.readString()
			if err != nil {
				t.Fatalf("length %d, escape at %d: %v", n, esc, err)
			}
			if string(raw) != string(body) || escaped != (esc >= 0) || s.pos != len(body)+2 {
				t.Fatalf("length %d, escape at %d: raw %q escaped %v pos %d; want %q %v %d", n, esc, raw, escaped, s.pos, body, esc >= 0, len(body)+2)
			}
		}
		// Unterminated: an error, never a read past the end.
		s := jsonScanner{data: []byte(`"` + strings.Repeat("b", n))}
		if _, _, err := s.readString(); err == nil {
			t.Fatalf("unterminated string of %d bytes read without error", n)
		}
	}
}
