package logcli

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The query response is decoded by hand: paging through a million lines spent most of its time
// in encoding/json, which validates and scans every byte several times (once to find the end of
// a value, once to check it, once to decode it). jsonScanner reads each byte once and allocates
// only the strings it returns. Bad input is an error, never a panic (see FuzzDecodeStreams).

// jsonScanner reads JSON tokens from b.
type jsonScanner struct {
	b       []byte
	i       int
	scratch []byte // reused by strEscaped
}

func (p *jsonScanner) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *jsonScanner) skipSpace() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// consume skips spaces and then c, if c is next.
func (p *jsonScanner) consume(c byte) bool {
	p.skipSpace()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *jsonScanner) peek() byte {
	p.skipSpace()
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

// str reads a JSON string.
func (p *jsonScanner) str() (string, error) {
	p.skipSpace()
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return "", p.errorf("want a string")
	}
	start := p.i + 1
	for j := start; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '"':
			p.i = j + 1
			return validString(p.b[start:j]), nil
		case c == '\\':
			return p.strEscaped(start, j)
		case c < 0x20:
			p.i = j
			return "", p.errorf("control character in string")
		}
	}
	return "", p.errorf("unterminated string")
}

// strEscaped finishes a string that has escapes; esc is the offset of the first backslash.
func (p *jsonScanner) strEscaped(start, esc int) (string, error) {
	out := append(p.scratch[:0], p.b[start:esc]...)
	for j := esc; j < len(p.b); {
		c := p.b[j]
		switch {
		case c == '"':
			p.i = j + 1
			p.scratch = out[:0]
			return validString(out), nil
		case c < 0x20:
			p.i = j
			return "", p.errorf("control character in string")
		case c != '\\':
			// Copy the run of plain bytes up to the next quote, backslash or control byte.
			k := j + 1
			for k < len(p.b) && p.b[k] >= 0x20 && p.b[k] != '"' && p.b[k] != '\\' {
				k++
			}
			out = append(out, p.b[j:k]...)
			j = k
			continue
		}
		if j+1 >= len(p.b) {
			break
		}
		switch e := p.b[j+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, n, ok := p.unicodeEscape(j)
			if !ok {
				p.i = j
				return "", p.errorf("bad \\u escape")
			}
			out = utf8.AppendRune(out, r)
			j += n
			continue
		default:
			p.i = j
			return "", p.errorf("bad escape \\%c", e)
		}
		j += 2
	}
	p.i = len(p.b)
	return "", p.errorf("unterminated string")
}

// nanos reads a timestamp string ("<decimal ns>") without allocating in the common case.
func (p *jsonScanner) nanos() (int64, error) {
	p.skipSpace()
	j := p.i + 1
	if p.i < len(p.b) && p.b[p.i] == '"' {
		// Up to 19 digits fit in a uint64 without overflow; the int64 range is checked after.
		var n uint64
		neg := j < len(p.b) && p.b[j] == '-'
		if neg {
			j++
		}
		digits := 0
		for ; j < len(p.b) && '0' <= p.b[j] && p.b[j] <= '9' && digits < 19; j++ {
			n = n*10 + uint64(p.b[j]-'0')
			digits++
		}
		if digits > 0 && j < len(p.b) && p.b[j] == '"' && n <= math.MaxInt64 {
			p.i = j + 1
			if neg {
				return -int64(n), nil
			}
			return int64(n), nil
		}
	}
	// Long, odd or broken: let strconv decide.
	s, err := p.str()
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %q: %w", s, err)
	}
	return n, nil
}

// validString converts b, replacing each byte that is not valid UTF-8 with U+FFFD, as
// encoding/json does.
func validString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return string(out)
}

// unicodeEscape reads \uXXXX (and a following low surrogate) at j; it returns the rune and the
// bytes consumed. Lone surrogates become U+FFFD, as encoding/json does.
func (p *jsonScanner) unicodeEscape(j int) (rune, int, bool) {
	r, ok := hex4(p.b, j+2)
	if !ok {
		return 0, 0, false
	}
	if utf16.IsSurrogate(r) {
		if j+12 <= len(p.b) && p.b[j+6] == '\\' && p.b[j+7] == 'u' {
			if r2, ok := hex4(p.b, j+8); ok {
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					return dec, 12, true
				}
			}
		}
		return utf8.RuneError, 6, true
	}
	return r, 6, true
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// skipValue skips one JSON value and returns its bytes. Containers are checked only for
// balanced brackets and well-formed strings, scalars only for where they end: callers that keep
// the bytes validate or decode them later.
func (p *jsonScanner) skipValue() ([]byte, error) {
	p.skipSpace()
	start := p.i
	if p.i >= len(p.b) {
		return nil, p.errorf("unexpected end of input")
	}
	switch p.b[p.i] {
	case '"':
		err := p.skipString()
		return p.b[start:p.i], err
	case '{', '[':
		depth := 0
		for p.i < len(p.b) {
			switch p.b[p.i] {
			case '"':
				if err := p.skipString(); err != nil {
					return nil, err
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					p.i++
					return p.b[start:p.i], nil
				}
			}
			p.i++
		}
		return nil, p.errorf("unexpected end of input")
	}
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ',', ']', '}', ':', ' ', '\t', '\n', '\r':
			if p.i == start {
				return nil, p.errorf("unexpected %q", p.b[p.i])
			}
			return p.b[start:p.i], nil
		}
		p.i++
	}
	return p.b[start:p.i], nil
}

// skipString moves past the string at p.i without decoding it.
func (p *jsonScanner) skipString() error {
	for j := p.i + 1; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '"':
			p.i = j + 1
			return nil
		case c == '\\':
			if j+1 < len(p.b) && p.b[j+1] == 'u' {
				if _, ok := hex4(p.b, j+2); !ok {
					p.i = j
					return p.errorf("bad \\u escape")
				}
			}
			j++
		case c < 0x20:
			p.i = j
			return p.errorf("control character in string")
		}
	}
	p.i = len(p.b)
	return p.errorf("unterminated string")
}

// object calls field for each member of an object; field must consume the member's value.
func (p *jsonScanner) object(field func(key string) error) error {
	if !p.consume('{') {
		return p.errorf("want an object")
	}
	if p.consume('}') {
		return nil
	}
	for {
		k, err := p.str()
		if err != nil {
			return err
		}
		if !p.consume(':') {
			return p.errorf("want ':'")
		}
		if err := field(k); err != nil {
			return err
		}
		if p.consume(',') {
			continue
		}
		if p.consume('}') {
			return nil
		}
		return p.errorf("want ',' or '}'")
	}
}

// array calls elem for each element of an array; elem must consume the element.
func (p *jsonScanner) array(elem func() error) error {
	if !p.consume('[') {
		return p.errorf("want an array")
	}
	if p.consume(']') {
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		if p.consume(',') {
			continue
		}
		if p.consume(']') {
			return nil
		}
		return p.errorf("want ',' or ']'")
	}
}

func (p *jsonScanner) end() error {
	p.skipSpace()
	if p.i != len(p.b) {
		return p.errorf("trailing data")
	}
	return nil
}

// UnmarshalJSON decodes a query response.
func (r *QueryResponse) UnmarshalJSON(b []byte) error {
	p := jsonScanner{b: b}
	err := p.object(func(key string) error {
		switch key {
		case "status":
			s, err := p.str()
			r.Status = s
			return err
		case "data":
			return p.object(func(key string) error {
				var err error
				switch key {
				case "resultType":
					r.Data.ResultType, err = p.str()
				case "result":
					r.Data.Result, err = p.skipValue()
				case "stats":
					r.Data.Stats, err = p.skipValue()
				default:
					_, err = p.skipValue()
				}
				return err
			})
		}
		_, err := p.skipValue()
		return err
	})
	if err == nil {
		err = p.end()
	}
	if err != nil {
		return fmt.Errorf("decode query response: %w", err)
	}
	return nil
}

// decodeStreams decodes a "streams" result: [{"stream":{..},"values":[["<ns>","<line>"],..]},..].
func decodeStreams(b []byte) ([]Stream, error) {
	p := jsonScanner{b: b}
	var out []Stream
	err := p.array(func() error {
		var s Stream
		err := p.object(func(key string) error {
			switch key {
			case "stream":
				s.Labels = LabelSet{}
				return p.object(func(name string) error {
					v, err := p.str()
					s.Labels[name] = v
					return err
				})
			case "values":
				s.Entries = nil // a repeated member replaces the earlier one, as in encoding/json
				return p.array(func() error {
					var e Entry
					if err := e.scan(&p); err != nil {
						return err
					}
					s.Entries = append(s.Entries, e)
					return nil
				})
			}
			_, err := p.skipValue()
			return err
		})
		out = append(out, s)
		return err
	})
	if err == nil {
		err = p.end()
	}
	if err != nil {
		return nil, fmt.Errorf("decode streams result: %w", err)
	}
	return out, nil
}

// UnmarshalJSON reads ["<ns>", "<line>"(, {...})].
func (e *Entry) UnmarshalJSON(b []byte) error {
	p := jsonScanner{b: b}
	if err := e.scan(&p); err != nil {
		return err
	}
	return p.end()
}

func (e *Entry) scan(p *jsonScanner) error {
	if !p.consume('[') {
		return fmt.Errorf("decode entry: %w", p.errorf("want an array"))
	}
	var err error
	if e.Timestamp, err = p.nanos(); err != nil {
		return fmt.Errorf("decode entry timestamp: %w", err)
	}
	if !p.consume(',') {
		return fmt.Errorf("decode entry: %w", p.errorf("missing line"))
	}
	if e.Line, err = p.str(); err != nil {
		return fmt.Errorf("decode entry line: %w", err)
	}
	e.Metadata = nil
	if p.consume(',') {
		if p.peek() != '{' {
			return fmt.Errorf("decode entry metadata: %w", p.errorf("want an object"))
		}
		meta, err := p.skipValue()
		if err != nil {
			return fmt.Errorf("decode entry metadata: %w", err)
		}
		if !json.Valid(meta) {
			return fmt.Errorf("decode entry metadata: invalid JSON %.40q", meta)
		}
		e.Metadata = append(json.RawMessage(nil), meta...)
	}
	if !p.consume(']') {
		return fmt.Errorf("decode entry: %w", p.errorf("want ']'"))
	}
	return nil
}
