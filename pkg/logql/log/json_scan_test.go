package log

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestReadStringLengths reads strings of every length over the first few eight-byte words,
// with a backslash escape at every place in them, and checks the raw text, the escaped flag
// and where the scanner stops against a plain walk.
func TestReadStringLengths(t *testing.T) {
	for n := 0; n <= 34; n++ {
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

// TestReadStringMatchesWalk compares readString with a byte-by-byte walk on random strings of
// quotes, backslashes, letters and bytes that differ from a quote or a backslash only in their
// high bit (which the word-at-a-time search must not take for them).
func TestReadStringMatchesWalk(t *testing.T) {
	alphabet := []byte{'a', '"', '\\', '"' | 0x80, '\\' | 0x80, 0xff, 0x00, 0x21, 0x5b}
	walk := func(data []byte) (raw []byte, escaped bool, pos int, ok bool) {
		for i := 1; i < len(data); i++ {
			switch data[i] {
			case '\\':
				escaped = true
				i++
			case '"':
				return data[1:i], escaped, i + 1, true
			}
		}
		return nil, false, len(data), false
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		data := make([]byte, 1+r.IntN(40))
		data[0] = '"'
		for i := 1; i < len(data); i++ {
			data[i] = alphabet[r.IntN(len(alphabet))]
		}
		s := jsonScanner{data: data}
		raw, escaped, err := s.readString()
		wraw, wescaped, wpos, ok := walk(data)
		if (err == nil) != ok || string(raw) != string(wraw) || escaped != wescaped || s.pos != wpos {
			t.Fatalf("%q: raw %q escaped %v pos %d err %v; want %q %v %d ok %v", data, raw, escaped, s.pos, err, wraw, wescaped, wpos, ok)
		}
	}
}
