package log

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// A small JSON scanner over a line, written for the parsers: it walks objects without building
// values, hands out raw slices of the line, and reports malformed input as an error value.

type jsonKind uint8

const (
	jsonInvalid jsonKind = iota
	jsonString
	jsonNumber
	jsonBool
	jsonNull
	jsonObject
	jsonArray
)

// maxJSONDepth bounds nesting so hostile lines cannot exhaust the stack.
const maxJSONDepth = 256

var errJSONEnd = errors.New("unexpected end of JSON input")

type jsonScanner struct {
	data []byte
	pos  int
}

func (s *jsonScanner) errAt(what string) error {
	if s.pos >= len(s.data) {
		return errJSONEnd
	}
	return fmt.Errorf("%s: unexpected character %q at offset %d", what, s.data[s.pos], s.pos)
}

func (s *jsonScanner) skipWS() {
	// Every JSON whitespace byte is <= ' ', so the usual case (no whitespace) is one test.
	for s.pos < len(s.data) && s.data[s.pos] <= ' ' {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peekKind returns the kind of the value at the current position (after whitespace).
func (s *jsonScanner) peekKind() jsonKind {
	s.skipWS()
	if s.pos >= len(s.data) {
		return jsonInvalid
	}
	switch c := s.data[s.pos]; {
	case c == '"':
		return jsonString
	case c == '{':
		return jsonObject
	case c == '[':
		return jsonArray
	case c == 't' || c == 'f':
		return jsonBool
	case c == 'n':
		return jsonNull
	case c == '-' || (c >= '0' && c <= '9'):
		return jsonNumber
	}
	return jsonInvalid
}

// readString reads a string at the current position and returns its raw contents (between the
// quotes, escapes untouched) and whether it contains escapes.
func (s *jsonScanner) readString() (raw []byte, escaped bool, err error) {
	if s.pos >= len(s.data) || s.data[s.pos] != '"' {
		return nil, false, s.errAt("read string")
	}
	start := s.pos + 1
	i := start
	// Eight bytes at a time: XORed with '"' (or '\\'), a byte of the word is zero where the
	// quote (or backslash) is, and the has-zero-byte test sets the high bit of the lowest such
	// byte; its false positives only ever sit above a true one, so the lowest set bit is the
	// first quote or backslash. Keys and most values end within a word or two.
	for ; i+8 <= len(s.data); i += 8 {
		v := binary.LittleEndian.Uint64(s.data[i:])
		q, b := v^(lowBytes*'"'), v^(lowBytes*'\\')
		if m := ((q-lowBytes)&^q | (b-lowBytes)&^b) & highBits; m != 0 {
			i += bits.TrailingZeros64(m) / 8
			break
		}
	}
	for ; i < len(s.data); i++ {
		if c := s.data[i]; c == '"' || c == '\\' {
			break
		}
	}
	if i < len(s.data) && s.data[i] == '"' {
		s.pos = i + 1
		return s.data[start:i], false, nil
	}
	// A backslash: walk on byte by byte, skipping what each escapes.
	for ; i < len(s.data); i++ {
		switch s.data[i] {
		case '\\':
			escaped = true
			i++
		case '"':
			s.pos = i + 1
			return s.data[start:i], escaped, nil
		}
	}
	s.pos = len(s.data)
	return nil, false, errJSONEnd
}

// lowBytes and highBits are the low and the high bit of every byte of a word.
const (
	lowBytes = 0x0101010101010101
	highBits = 0x8080808080808080
)

// readScalar reads a number, true, false or null and returns its text.
func (s *jsonScanner) readScalar(k jsonKind) ([]byte, error) {
	start := s.pos
	switch k {
	case jsonNumber:
		for s.pos < len(s.data) {
			c := s.data[s.pos]
			if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
				break
			}
			s.pos++
		}
		return s.data[start:s.pos], nil
	case jsonBool, jsonNull:
		for _, w := range [...]string{"true", "false", "null"} {
			if len(s.data)-s.pos >= len(w) && string(s.data[s.pos:s.pos+len(w)]) == w {
				s.pos += len(w)
				return s.data[start:s.pos], nil
			}
		}
	}
	return nil, s.errAt("read value")
}

// skipValue skips any value, checking its syntax, and returns its raw text.
func (s *jsonScanner) skipValue(depth int) ([]byte, error) {
	if depth > maxJSONDepth {
		return nil, errors.New("JSON nested too deeply")
	}
	k := s.peekKind()
	start := s.pos
	switch k {
	case jsonString:
		if _, _, err := s.readString(); err != nil {
			return nil, err
		}
	case jsonNumber, jsonBool, jsonNull:
		if _, err := s.readScalar(k); err != nil {
			return nil, err
		}
	case jsonObject:
		err := s.eachField(func(_ []byte, _ bool) error {
			_, err := s.skipValue(depth + 1)
			return err
		})
		if err != nil {
			return nil, err
		}
	case jsonArray:
		s.pos++
		s.skipWS()
		if s.pos < len(s.data) && s.data[s.pos] == ']' {
			s.pos++
			break
		}
		for {
			if _, err := s.skipValue(depth + 1); err != nil {
				return nil, err
			}
			s.skipWS()
			if s.pos >= len(s.data) {
				return nil, errJSONEnd
			}
			if s.data[s.pos] == ']' {
				s.pos++
				break
			}
			if s.data[s.pos] != ',' {
				return nil, s.errAt("read array")
			}
			s.pos++
		}
	default:
		return nil, s.errAt("read value")
	}
	return s.data[start:s.pos], nil
}

// eachField walks the object at the current position, calling f with each raw key; f must
// consume the value (the scanner stands on it when f is called).
func (s *jsonScanner) eachField(f func(key []byte, escaped bool) error) error {
	s.skipWS()
	if s.pos >= len(s.data) || s.data[s.pos] != '{' {
		return s.errAt("read object")
	}
	s.pos++
	s.skipWS()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		return nil
	}
	for {
		s.skipWS()
		key, esc, err := s.readString()
		if err != nil {
			return err
		}
		s.skipWS()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return s.errAt("read object")
		}
		s.pos++
		s.skipWS()
		if err := f(key, esc); err != nil {
			return err
		}
		s.skipWS()
		if s.pos >= len(s.data) {
			return errJSONEnd
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return s.errAt("read object")
		}
	}
}

// nthElement positions the scanner on element n of the array at the current position.
func (s *jsonScanner) nthElement(n int) (bool, error) {
	if s.peekKind() != jsonArray {
		return false, nil
	}
	s.pos++
	for i := 0; ; i++ {
		s.skipWS()
		if s.pos < len(s.data) && s.data[s.pos] == ']' {
			return false, nil
		}
		if i == n {
			return true, nil
		}
		if _, err := s.skipValue(1); err != nil {
			return false, err
		}
		s.skipWS()
		if s.pos >= len(s.data) {
			return false, errJSONEnd
		}
		if s.data[s.pos] == ',' {
			s.pos++
			continue
		}
		if s.data[s.pos] == ']' {
			return false, nil
		}
		return false, s.errAt("read array")
	}
}

// appendUnescaped appends the JSON string contents raw (without quotes) to dst, decoding
// escapes. Invalid escapes are kept as written.
func appendUnescaped(dst, raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' || i+1 >= len(raw) {
			dst = append(dst, c)
			continue
		}
		i++
		switch raw[i] {
		case '"', '\\', '/':
			dst = append(dst, raw[i])
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
			r, n := decodeU(raw[i+1:])
			if n == 0 {
				dst = append(dst, '\\', 'u')
				continue
			}
			i += n
			if utf16.IsSurrogate(r) {
				if len(raw) > i+2 && raw[i+1] == '\\' && raw[i+2] == 'u' {
					if r2, n2 := decodeU(raw[i+3:]); n2 > 0 {
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							dst = utf8.AppendRune(dst, d)
							i += 2 + n2
							continue
						}
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		default:
			dst = append(dst, '\\', raw[i])
		}
	}
	return dst
}

func decodeU(b []byte) (rune, int) {
	if len(b) < 4 {
		return 0, 0
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, 0
		}
	}
	return r, 4
}
