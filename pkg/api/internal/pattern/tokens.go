package pattern

import (
	"unicode"
	"unicode/utf8"
)

// Wildcard stands for a token that varies between the lines of a pattern.
const Wildcard = "<_>"

// token is one piece of a line. For plain and JSON lines spaces counts the spaces that
// followed it, so a pattern renders back with the line's spacing; for logfmt lines tokens
// alternate key and value and spaces is unused.
type token struct {
	text   string
	spaces int32
}

// Byte classes of the punctuation tokenizer.
const (
	inToken   = iota // part of the current token
	space            // ends the token; remembered as spacing, not a token itself
	delim            // ends the token and is a token of its own
	multibyte        // starts a non-ASCII character: classified by runeClass
)

// byteClass classifies bytes the way Loki's pattern ingester splits plain lines: letters,
// digits and _ - . : / stay inside tokens (so "10.0.0.1", "x.go:12" and "/api/v1" are one token
// each), '=' and the other punctuation characters are tokens of their own, ' ' separates, and
// everything else (symbols such as + < > $ |, tabs, control bytes) stays inside tokens.
var byteClass = func() (t [256]uint8) {
	for c := range 256 {
		r := rune(c)
		switch {
		case c >= utf8.RuneSelf:
			t[c] = multibyte
		case r == ' ':
			t[c] = space
		case unicode.IsLetter(r) || unicode.IsNumber(r):
			t[c] = inToken
		case r == '_' || r == '-' || r == '.' || r == ':' || r == '/':
			t[c] = inToken
		case r == '=' || unicode.IsPunct(r):
			t[c] = delim
		default:
			t[c] = inToken
		}
	}
	return t
}()

// runeClass classifies a non-ASCII rune by the same rule as byteClass.
func runeClass(r rune) uint8 {
	if unicode.IsLetter(r) || unicode.IsNumber(r) || !unicode.IsPunct(r) {
		return inToken
	}
	return delim
}

// punctuate appends the tokens of a plain line (or a JSON message) to dst and returns them with
// the count of spaces before the first token. Token texts alias s. ok is false when s holds
// more than maxTokens tokens, and the line is then skipped.
//
// A non-ASCII punctuation character is one token here; Loki's tokenizer cuts it after its
// first byte and glues the rest to the next token. Both render the same bytes, but splitting
// a character is not worth copying.
func punctuate(dst []token, s string, maxTokens int) (lead int, _ []token, ok bool) {
	start := 0
	for i := 0; i < len(s); {
		cls := byteClass[s[i]]
		if cls == inToken {
			i++
			continue
		}
		size := 1
		if cls == multibyte {
			var r rune
			r, size = utf8.DecodeRuneInString(s[i:])
			if cls = runeClass(r); cls == inToken {
				i += size
				continue
			}
		}
		if i > start {
			dst = append(dst, token{text: s[start:i]})
		}
		if cls == space {
			if len(dst) == 0 {
				lead++
			} else {
				dst[len(dst)-1].spaces++
			}
		} else {
			dst = append(dst, token{text: s[i : i+size]})
		}
		if len(dst) > maxTokens {
			return 0, dst, false
		}
		i += size
		start = i
	}
	if start < len(s) {
		dst = append(dst, token{text: s[start:]})
	}
	return lead, dst, len(dst) <= maxTokens
}

// hasNumber reports whether s holds a digit (any Unicode number, as Loki checks): such tokens
// are likely variable, so they never get a branch of their own in the parse tree.
func hasNumber(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			return true
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if unicode.IsNumber(r) {
				return true
			}
			i += size - 1
		}
	}
	return false
}
