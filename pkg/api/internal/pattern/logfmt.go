package pattern

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/sluicelog/sluice/pkg/unsafestr"
)

// logfmtTokens appends a logfmt line's pairs to dst as alternating key and value tokens, the
// way Loki's pattern ingester reads them: a key without '=' has an empty value, quoted values
// are unquoted, and the values of timestamp and trace ID keys (see variableKey) are Wildcard.
// ok is false when the line does not decode (a '"' or '=' inside a key or an unquoted value,
// an unterminated quote, a bad escape, an invalid key) or has more than maxTokens tokens;
// Loki skips such lines.
//
// Values with escapes are unquoted into *scratch, which the caller resets for each line; the
// returned tokens alias line and *scratch and are valid until then.
func logfmtTokens(dst []token, scratch *[]byte, line string, maxTokens int) (_ []token, ok bool) {
	n := len(line)
	for i := 0; ; {
		for i < n && line[i] <= ' ' {
			i++
		}
		if i >= n {
			return dst, true
		}
		start, multibyte := i, false
		for ; i < n; i++ {
			c := line[i]
			if c == '=' || c == '"' || c <= ' ' {
				break
			}
			if c >= utf8.RuneSelf {
				multibyte = true
			}
		}
		if i == start || i < n && line[i] == '"' {
			return dst, false // '=' with no key, or a quote in a key
		}
		key := line[start:i]
		if multibyte && strings.ContainsRune(key, utf8.RuneError) {
			return dst, false // invalid UTF-8 (or U+FFFD) in a key
		}
		value := ""
		if i < n && line[i] == '=' {
			i++
			switch {
			case i >= n || line[i] <= ' ':
				// key= with an empty value
			case line[i] == '"':
				if value, i, ok = unquoteLogfmt(scratch, line, i); !ok {
					return dst, false
				}
			default:
				vs := i
				for ; i < n && line[i] > ' '; i++ {
					if line[i] == '=' || line[i] == '"' {
						return dst, false
					}
				}
				value = line[vs:i]
			}
		}
		if variableKey(key, !multibyte) {
			value = Wildcard
		}
		if len(dst)+2 > maxTokens {
			return dst, false
		}
		dst = append(dst, token{text: key}, token{text: value})
	}
}

// variableKey reports the keys whose values Loki always replaces with a wildcard: ts, time,
// timestamp and traceID in any case (Unicode folding, so "tſ" counts), and t. ascii says the
// key is all ASCII, whose lengths then tell which word to compare.
func variableKey(k string, ascii bool) bool {
	if k == "t" {
		return true
	}
	if ascii {
		switch len(k) {
		case 2:
			return strings.EqualFold(k, "ts")
		case 4:
			return strings.EqualFold(k, "time")
		case 7:
			return strings.EqualFold(k, "traceID")
		case 9:
			return strings.EqualFold(k, "timestamp")
		}
		return false
	}
	return strings.EqualFold(k, "ts") || strings.EqualFold(k, "time") || strings.EqualFold(k, "timestamp") || strings.EqualFold(k, "traceID")
}

// unquoteLogfmt decodes the quoted value starting at line[i] ('"') and returns it with the index
// past its closing quote. A value without escapes aliases line; one with escapes is decoded
// into *scratch: \" \\ \/ \' \b \f \n \r \t and \uXXXX (surrogate pairs joined, a lone
// surrogate becoming U+FFFD); any other escape fails, and invalid UTF-8 becomes U+FFFD.
func unquoteLogfmt(scratch *[]byte, line string, i int) (string, int, bool) {
	escaped := false
	j := i + 1
	for ; j < len(line); j++ {
		if line[j] == '\\' {
			escaped = true
			j++
			continue
		}
		if line[j] == '"' {
			break
		}
	}
	if j >= len(line) {
		return "", len(line), false // unterminated
	}
	s := line[i+1 : j]
	if !escaped {
		return s, j + 1, true
	}
	b := *scratch
	from := len(b)
	for k := 0; k < len(s); {
		c := s[k]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[k:])
			b = utf8.AppendRune(b, r)
			k += size
			continue
		}
		if c != '\\' {
			b = append(b, c)
			k++
			continue
		}
		k++
		if k >= len(s) {
			return "", 0, false
		}
		switch e := s[k]; e {
		case '"', '\\', '/', '\'':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := hex4(s, k+1)
			if !ok {
				return "", 0, false
			}
			k += 4
			if utf16.IsSurrogate(r) {
				// Joined with a following \uXXXX when the two make a pair; otherwise U+FFFD,
				// and what follows is read on its own.
				pair := utf8.RuneError
				if k+6 < len(s) && s[k+1] == '\\' && s[k+2] == 'u' {
					if r2, ok := hex4(s, k+3); ok {
						pair = utf16.DecodeRune(r, r2)
					}
				}
				r = pair
				if pair != utf8.RuneError {
					k += 6
				}
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", 0, false
		}
		k++
	}
	*scratch = b
	return unsafestr.String(b[from:]), j + 1, true
}

// hex4 parses the four hex digits at s[i:].
func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
