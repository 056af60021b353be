// Package logfmt splits logfmt lines into key/value pairs with the rules of go-logfmt, the
// decoder Loki builds on for its `| logfmt` parser, its level detection and its pattern
// ingester: a key runs until '=' or a space, a value is bare (no '=' or '"' in it) or
// double-quoted with JSON's escapes.
package logfmt

import (
	"bytes"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// Scanner reads the pairs of one line at a time. It does not allocate once its buffer for
// unescaped values has grown.
type Scanner struct {
	line       []byte
	pos        int
	key, value []byte // value is nil for `key` and `key=`
	unescaped  bool   // value was decoded into buf
	buf        []byte
	// The syntax error Next stopped at, kept as its parts: a line that is not logfmt is
	// common (level detection tries every line holding '='), and most callers only ask
	// whether there was one, so the error is built when Err asks for it.
	errMsg  string // "" when there is no error
	errByte int    // the unexpected byte, or -1
	errPos  int    // 1-based
}

// SyntaxError is a malformed pair; its text reads as Loki's __error_details__.
type SyntaxError struct {
	Pos int // 1-based position of the offending byte
	Msg string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("logfmt syntax error at pos %d : %s", e.Pos, e.Msg)
}

// Reset starts scanning line.
func (s *Scanner) Reset(line []byte) {
	s.line, s.pos, s.key, s.value, s.unescaped, s.errMsg = line, 0, nil, nil, false, ""
}

// Key is the current pair's key. It aliases the line.
func (s *Scanner) Key() []byte { return s.key }

// Value is the current pair's value, nil for `key` and `key=`. It aliases the line unless the
// value was quoted with escapes (Unescaped): then it lives in a buffer the next call to Next
// reuses.
func (s *Scanner) Value() []byte { return s.value }

// Unescaped reports whether Value was decoded from a quoted value with escapes.
func (s *Scanner) Unescaped() bool { return s.unescaped }

// Err is the syntax error Next stopped at, or nil.
func (s *Scanner) Err() error {
	switch {
	case s.errMsg == "":
		return nil
	case s.errByte >= 0:
		return &SyntaxError{Pos: s.errPos, Msg: fmt.Sprintf("%s %q", s.errMsg, byte(s.errByte))}
	}
	return &SyntaxError{Pos: s.errPos, Msg: s.errMsg}
}

// Failed reports whether Next stopped at a syntax error, without building it.
func (s *Scanner) Failed() bool { return s.errMsg != "" }

// Next scans the next pair. It returns false at the end of the line (Err nil) or on a syntax
// error (Err set; the scanner stands on the offending byte, and SkipToken moves past it so a
// lenient reader can go on).
func (s *Scanner) Next() bool {
	s.key, s.value, s.unescaped, s.errMsg = nil, nil, false, ""
	line := s.line
	for s.pos < len(line) && line[s.pos] <= ' ' {
		s.pos++
	}
	if s.pos >= len(line) {
		return false
	}
	start, multibyte := s.pos, false
	for s.pos < len(line) {
		c := line[s.pos]
		switch {
		case c == '=':
			if s.pos == start {
				return s.unexpected(c)
			}
			s.key = line[start:s.pos]
			if !s.validKey(multibyte) {
				return false
			}
			return s.afterEqual()
		case c == '"':
			return s.unexpected(c)
		case c <= ' ':
			s.key = line[start:s.pos]
			return s.validKey(multibyte)
		case c >= utf8.RuneSelf:
			multibyte = true
		}
		s.pos++
	}
	s.key = line[start:s.pos]
	return s.validKey(multibyte)
}

// SkipToken moves past the current token after an error.
func (s *Scanner) SkipToken() {
	for s.pos < len(s.line) && s.line[s.pos] > ' ' {
		s.pos++
	}
}

func (s *Scanner) fail(msg string) bool {
	s.errMsg, s.errByte, s.errPos = msg, -1, s.pos+1
	return false
}

func (s *Scanner) unexpected(c byte) bool {
	s.fail("unexpected")
	s.errByte = int(c)
	return false
}

// validKey rejects a key holding invalid UTF-8 (or U+FFFD), as go-logfmt does.
func (s *Scanner) validKey(multibyte bool) bool {
	if multibyte && bytes.ContainsRune(s.key, utf8.RuneError) {
		return s.fail("invalid key")
	}
	return true
}

func (s *Scanner) afterEqual() bool {
	line := s.line
	s.pos++ // '='
	if s.pos >= len(line) || line[s.pos] <= ' ' {
		return true
	}
	if line[s.pos] == '"' {
		return s.quotedValue()
	}
	start := s.pos
	for s.pos < len(line) {
		c := line[s.pos]
		if c == '=' || c == '"' {
			return s.unexpected(c)
		}
		if c <= ' ' {
			break
		}
		s.pos++
	}
	s.value = line[start:s.pos]
	return true
}

func (s *Scanner) quotedValue() bool {
	line := s.line
	start := s.pos
	escaped := false
	for i := s.pos + 1; i < len(line); i++ {
		switch line[i] {
		case '\\':
			escaped = true
			i++
		case '"':
			s.pos = i + 1
			raw := line[start+1 : i]
			if !escaped {
				if len(raw) > 0 {
					s.value = raw
				}
				return true
			}
			var ok bool
			if s.buf, ok = AppendUnquoted(s.buf[:0], raw); !ok {
				return s.fail("invalid quoted value")
			}
			if len(s.buf) > 0 {
				s.value, s.unescaped = s.buf, true
			}
			return true
		}
	}
	s.pos = len(line)
	return s.fail("unterminated quoted value")
}

// AppendUnquoted appends the decoding of a quoted value's contents (between its quotes) to dst,
// with the escapes go-logfmt takes from JSON: \" \\ \/ \' \b \f \n \r \t and \uXXXX (a
// surrogate pair joined, a lone surrogate becoming U+FFFD). Any other escape fails; invalid
// UTF-8 becomes U+FFFD.
func AppendUnquoted(dst, raw []byte) ([]byte, bool) {
	for k := 0; k < len(raw); {
		c := raw[k]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(raw[k:])
			dst = utf8.AppendRune(dst, r)
			k += size
			continue
		}
		if c != '\\' {
			dst = append(dst, c)
			k++
			continue
		}
		k++
		if k >= len(raw) {
			return dst, false
		}
		switch e := raw[k]; e {
		case '"', '\\', '/', '\'':
			dst = append(dst, e)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(raw, k+1)
			if !ok {
				return dst, false
			}
			k += 4
			if utf16.IsSurrogate(r) {
				// Joined with a following \uXXXX when the two make a pair; otherwise U+FFFD,
				// and what follows is read on its own.
				pair := utf8.RuneError
				if k+6 < len(raw) && raw[k+1] == '\\' && raw[k+2] == 'u' {
					if r2, ok := hex4(raw, k+3); ok {
						pair = utf16.DecodeRune(r, r2)
					}
				}
				r = pair
				if pair != utf8.RuneError {
					k += 6
				}
			}
			dst = utf8.AppendRune(dst, r)
		default:
			return dst, false
		}
		k++
	}
	return dst, true
}

// hex4 parses the four hex digits at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
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
