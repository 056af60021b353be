package pattern

import (
	"bytes"
	"unicode/utf8"
)

// appendPattern appends the text of a pattern of format f: its tokens joined back the way
// they were split, then every run of adjacent wildcards collapsed into one, as Loki renders
// patterns.
func appendPattern(b []byte, f Format, lead int, toks []token) []byte {
	from := len(b)
	switch f {
	case FormatLogfmt:
		b = appendLogfmt(b, toks)
	case FormatJSON:
		// Only the message was tokenized: the rest of the line, before and after it, is a
		// wildcard on each side.
		b = append(b, Wildcard...)
		b = appendPlain(b, lead, toks)
		b = append(b, Wildcard...)
	default:
		b = appendPlain(b, lead, toks)
	}
	return b[:from+len(collapseWildcards(b[from:]))]
}

// appendPlain joins punctuation tokens with the spaces the first line of the pattern had.
func appendPlain(b []byte, lead int, toks []token) []byte {
	for range lead {
		b = append(b, ' ')
	}
	for _, t := range toks {
		b = append(b, t.text...)
		for range t.spaces {
			b = append(b, ' ')
		}
	}
	return b
}

// appendLogfmt writes key/value token pairs as logfmt: key=value separated by spaces, an empty
// value as nothing after '=', and values quoted when logfmt needs it.
func appendLogfmt(b []byte, toks []token) []byte {
	for i := 0; i+1 < len(toks); i += 2 {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, toks[i].text...)
		b = append(b, '=')
		b = appendLogfmtValue(b, toks[i+1].text)
	}
	return b
}

// appendLogfmtValue writes v bare, or quoted when it holds a space or control character, '=',
// '"', DEL, or an invalid or replacement character. Quoted, '"' and '\' are escaped, newline,
// return and tab become \n \r \t, other control bytes \u00XX, and invalid UTF-8 \ufffd: the
// rules of the go-logfmt encoder that renders Loki's logfmt patterns.
func appendLogfmtValue(b []byte, v string) []byte {
	if !needsQuotes(v) {
		return append(b, v...)
	}
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(v); {
		c := v[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(v[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, v[i:i+size]...)
			}
			i += size
			continue
		}
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < ' ':
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
		i++
	}
	return append(b, '"')
}

func needsQuotes(v string) bool {
	for i := 0; i < len(v); {
		c := v[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(v[i:])
			if r == utf8.RuneError {
				return true
			}
			i += size
			continue
		}
		if c <= ' ' || c == '=' || c == '"' || c == 0x7f {
			return true
		}
		i++
	}
	return false
}

// collapseWildcards replaces, in place, every run of two or more adjacent Wildcards in b with
// one, and returns the shortened b.
func collapseWildcards(b []byte) []byte {
	w := []byte(Wildcard)
	i := bytes.Index(b, []byte(Wildcard+Wildcard))
	if i < 0 {
		return b
	}
	out := i
	for i < len(b) {
		if bytes.HasPrefix(b[i:], w) {
			out += copy(b[out:], w)
			for i += len(w); bytes.HasPrefix(b[i:], w); i += len(w) {
			}
			continue
		}
		b[out] = b[i]
		out++
		i++
	}
	return b[:out]
}
