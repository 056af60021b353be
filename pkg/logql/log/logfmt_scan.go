package log

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// logfmtScanner splits a logfmt line into key/value pairs with the rules of go-logfmt, the
// decoder Loki builds on: keys run until '=' or a space, values are bare (no '=' or '"') or
// double-quoted with Go escapes.
type logfmtScanner struct {
	line       []byte
	pos        int
	key, value []byte // value is nil for `key` and `key=`
	quoted     []byte // buffer for unescaped quoted values
	err        error
}

// logfmtSyntaxError is a malformed pair; Error reads as Loki's __error_details__.
type logfmtSyntaxError struct {
	Pos int // 1-based position of the offending byte
	Msg string
}

func (e *logfmtSyntaxError) Error() string {
	return fmt.Sprintf("logfmt syntax error at pos %d : %s", e.Pos, e.Msg)
}

func (d *logfmtScanner) reset(line []byte) {
	d.line, d.pos, d.key, d.value, d.err = line, 0, nil, nil, nil
}

func (d *logfmtScanner) fail(msg string) bool {
	d.err = &logfmtSyntaxError{Pos: d.pos + 1, Msg: msg}
	return false
}

func (d *logfmtScanner) unexpected(c byte) bool {
	return d.fail(fmt.Sprintf("unexpected %q", c))
}

// skipToken moves past the current token after an error, so lenient parsing can go on.
func (d *logfmtScanner) skipToken() {
	for d.pos < len(d.line) && d.line[d.pos] > ' ' {
		d.pos++
	}
}

// next scans the next pair. It returns false at the end of the line (err nil) or on a syntax
// error (err set; the scanner stands on the offending byte).
func (d *logfmtScanner) next() bool {
	d.key, d.value, d.err = nil, nil, nil
	line := d.line
	for d.pos < len(line) && line[d.pos] <= ' ' {
		d.pos++
	}
	if d.pos >= len(line) {
		return false
	}
	start, multibyte := d.pos, false
	for d.pos < len(line) {
		c := line[d.pos]
		switch {
		case c == '=':
			if d.pos == start {
				return d.unexpected(c)
			}
			d.key = line[start:d.pos]
			if multibyte && !utf8.Valid(d.key) {
				return d.fail("invalid key")
			}
			return d.afterEqual()
		case c == '"':
			return d.unexpected(c)
		case c <= ' ':
			d.key = line[start:d.pos]
			return d.checkKey(multibyte)
		case c >= utf8.RuneSelf:
			multibyte = true
		}
		d.pos++
	}
	d.key = line[start:d.pos]
	return d.checkKey(multibyte)
}

func (d *logfmtScanner) checkKey(multibyte bool) bool {
	if multibyte && !utf8.Valid(d.key) {
		return d.fail("invalid key")
	}
	return true
}

func (d *logfmtScanner) afterEqual() bool {
	line := d.line
	d.pos++ // '='
	if d.pos >= len(line) || line[d.pos] <= ' ' {
		return true
	}
	if line[d.pos] == '"' {
		return d.quotedValue()
	}
	start := d.pos
	for d.pos < len(line) {
		c := line[d.pos]
		if c == '=' || c == '"' {
			return d.unexpected(c)
		}
		if c <= ' ' {
			break
		}
		d.pos++
	}
	d.value = line[start:d.pos]
	return true
}

func (d *logfmtScanner) quotedValue() bool {
	line := d.line
	start := d.pos
	esc, hasEsc := false, false
	for i := d.pos + 1; i < len(line); i++ {
		c := line[i]
		switch {
		case esc:
			esc = false
		case c == '\\':
			esc, hasEsc = true, true
		case c == '"':
			d.pos = i + 1
			if !hasEsc {
				if i > start+1 {
					d.value = line[start+1 : i]
				}
				return true
			}
			v, err := strconv.Unquote(string(line[start:d.pos]))
			if err != nil {
				return d.fail("invalid quoted value")
			}
			d.quoted = append(d.quoted[:0], v...)
			if len(d.quoted) > 0 {
				d.value = d.quoted
			}
			return true
		}
	}
	d.pos = len(line)
	return d.fail("unterminated quoted value")
}
