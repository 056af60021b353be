package syntax

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// tokenKind is the class of a lexical token.
type tokenKind int

const (
	tEOF tokenKind = iota
	tIdent
	tString
	tNumber
	tDuration
	tBytes
	tRange // [5m]: the duration is in token.dur
	tParserFlag
	tLBrace
	tRBrace
	tLParen
	tRParen
	tComma
	tEq      // =
	tNeq     // !=
	tRe      // =~
	tNre     // !~
	tPipe    // |
	tPipeEq  // |=
	tPipeRe  // |~
	tPipePat // |>
	tNotPat  // !>
	tCmpEq   // ==
	tGt
	tGte
	tLt
	tLte
	tAdd
	tSub
	tMul
	tDiv
	tMod
	tPow
)

// tokenNames are the names Loki's grammar gives tokens in syntax errors.
var tokenNames = map[tokenKind]string{
	tEOF: "$end", tIdent: "IDENTIFIER", tString: "STRING", tNumber: "NUMBER", tDuration: "DURATION",
	tBytes: "BYTES", tRange: "RANGE", tParserFlag: "PARSER_FLAG", tLBrace: "{", tRBrace: "}",
	tLParen: "(", tRParen: ")", tComma: ",", tEq: "=", tNeq: "!=", tRe: "=~", tNre: "!~",
	tPipe: "|", tPipeEq: "|=", tPipeRe: "|~", tPipePat: "|>", tNotPat: "!>", tCmpEq: "==",
	tGt: ">", tGte: ">=", tLt: "<", tLte: "<=", tAdd: "+", tSub: "-", tMul: "*", tDiv: "/",
	tMod: "%", tPow: "^",
}

// keywords are identifiers that Loki's lexer turns into tokens of their own; an unexpected one is
// reported under its upper-case name (e.g. "unexpected BY").
var keywords = map[string]bool{
	"by": true, "without": true, "bool": true, "on": true, "ignoring": true, "group_left": true,
	"group_right": true, "offset": true, "unwrap": true, "json": true, "logfmt": true, "regexp": true,
	"pattern": true, "unpack": true, "line_format": true, "label_format": true, "decolorize": true,
	"drop": true, "keep": true, "distinct": true, "ip": true, "vector": true, "label_replace": true,
	"or": true, "and": true, "unless": true, "duration": true, "duration_seconds": true, "bytes": true,
}

// singleCharTokens are the tokens of one character.
var singleCharTokens = [256]tokenKind{'{': tLBrace, '}': tRBrace, '(': tLParen, ')': tRParen, ',': tComma,
	'=': tEq, '|': tPipe, '>': tGt, '<': tLt, '+': tAdd, '-': tSub, '*': tMul, '/': tDiv,
	'%': tMod, '^': tPow}

// token is one lexical token with its position (1-based line and column of its first byte).
type token struct {
	kind tokenKind
	text string // identifier name, unquoted string, number text
	num  float64
	dur  time.Duration
	byt  uint64
	line int
	col  int
}

// describe names t as a syntax error does.
func (t token) describe() string {
	if t.kind == tIdent && keywords[t.text] {
		switch t.text {
		case "line_format":
			return "LINE_FMT"
		case "label_format":
			return "LABEL_FMT"
		}
		return strings.ToUpper(t.text)
	}
	return tokenNames[t.kind]
}

// lexer splits a query into tokens.
type lexer struct {
	src  string
	pos  int
	line int
	col  int
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// advance moves n bytes forward, tracking line and column.
func (l *lexer) advance(n int) {
	for i := 0; i < n && l.pos < len(l.src); i++ {
		if l.src[l.pos] == '\n' {
			l.line++
			l.col = 1
		} else {
			l.col++
		}
		l.pos++
	}
}

func (l *lexer) errorf(line, col int, format string, args ...any) *ParseError {
	return &ParseError{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// tokens lexes the whole input.
func lex(src string) ([]token, error) {
	l := &lexer{src: src, line: 1, col: 1}
	var out []token
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		out = append(out, t)
		if t.kind == tEOF {
			return out, nil
		}
	}
}

func (l *lexer) skipSpaceAndComments() {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			l.advance(1)
		case c == '#':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' {
				l.advance(1)
			}
		default:
			return
		}
	}
}

func (l *lexer) next() (token, error) {
	l.skipSpaceAndComments()
	t := token{line: l.line, col: l.col}
	if l.pos >= len(l.src) {
		t.kind = tEOF
		return t, nil
	}
	rest := l.src[l.pos:]
	two := ""
	if len(rest) >= 2 {
		two = rest[:2]
	}
	switch two {
	case "!=":
		t.kind = tNeq
	case "=~":
		t.kind = tRe
	case "!~":
		t.kind = tNre
	case "|=":
		t.kind = tPipeEq
	case "|~":
		t.kind = tPipeRe
	case "|>":
		t.kind = tPipePat
	case "!>":
		t.kind = tNotPat
	case "==":
		t.kind = tCmpEq
	case ">=":
		t.kind = tGte
	case "<=":
		t.kind = tLte
	case "--":
		if len(rest) > 2 && isIdentStart(rest[2]) {
			n := 2
			for n < len(rest) && (isIdentChar(rest[n]) || rest[n] == '-') {
				n++
			}
			t.kind, t.text = tParserFlag, rest[:n]
			l.advance(n)
			return t, nil
		}
	}
	if t.kind != tEOF {
		l.advance(2)
		return t, nil
	}
	c := rest[0]
	switch {
	case c == '"' || c == '`':
		return l.lexString(t)
	case c == '[':
		return l.lexRange(t)
	case isDigit(c) || (c == '.' && len(rest) > 1 && isDigit(rest[1])):
		return l.lexNumber(t)
	case isIdentStart(c):
		n := 1
		for n < len(rest) && isIdentChar(rest[n]) {
			n++
		}
		t.kind, t.text = tIdent, rest[:n]
		l.advance(n)
		return t, nil
	}
	if k := singleCharTokens[c]; k != tEOF {
		t.kind = k
		l.advance(1)
		return t, nil
	}
	r, _ := utf8.DecodeRuneInString(rest)
	return t, l.errorf(t.line, t.col, "syntax error: unexpected character: '%c'", r)
}

// lexString reads a double-quoted string (Go escapes) or a back-quoted raw string.
func (l *lexer) lexString(t token) (token, error) {
	rest := l.src[l.pos:]
	q := rest[0]
	n := 1
	for n < len(rest) {
		c := rest[n]
		if q == '"' && c == '\\' {
			n += 2
			continue
		}
		if q == '"' && c == '\n' {
			break
		}
		if c == q {
			s, err := strconv.Unquote(rest[:n+1])
			if err != nil {
				return t, l.errorf(t.line, t.col, "syntax error: invalid string %s: %v", rest[:n+1], err)
			}
			t.kind, t.text = tString, s
			l.advance(n + 1)
			return t, nil
		}
		n++
	}
	return t, l.errorf(t.line, t.col, "syntax error: unterminated string")
}

// lexRange reads a range such as [5m] into one token.
func (l *lexer) lexRange(t token) (token, error) {
	rest := l.src[l.pos:]
	end := strings.IndexByte(rest, ']')
	if end < 0 {
		return t, l.errorf(t.line, t.col, "syntax error: unterminated range")
	}
	inner := strings.TrimSpace(rest[1:end])
	d, err := ParseDuration(inner)
	if err != nil {
		return t, l.errorf(t.line, t.col, "syntax error: invalid range %q: %v", rest[:end+1], err)
	}
	t.kind, t.dur, t.text = tRange, d, rest[:end+1]
	l.advance(end + 1)
	return t, nil
}

// lexNumber reads a number, a duration (5m, 1h30m, 1.5s) or a byte size (10KB, 1.5MiB).
func (l *lexer) lexNumber(t token) (token, error) {
	rest := l.src[l.pos:]
	n := 0
	if strings.HasPrefix(rest, "0x") || strings.HasPrefix(rest, "0X") {
		n = 2
		for n < len(rest) && strings.IndexByte("0123456789abcdefABCDEF", rest[n]) >= 0 {
			n++
		}
	} else {
		for n < len(rest) && isDigit(rest[n]) {
			n++
		}
		if n < len(rest) && rest[n] == '.' {
			n++
			for n < len(rest) && isDigit(rest[n]) {
				n++
			}
		}
		if n+1 < len(rest) && (rest[n] == 'e' || rest[n] == 'E') {
			m := n + 1
			if rest[m] == '+' || rest[m] == '-' {
				m++
			}
			if m < len(rest) && isDigit(rest[m]) {
				for m < len(rest) && isDigit(rest[m]) {
					m++
				}
				n = m
			}
		}
	}
	// A unit suffix makes it a duration or a byte size.
	m := n
	for m < len(rest) && (isIdentChar(rest[m]) || rest[m] == '.' || rest[m] == 0xc2 || rest[m] == 0xb5) {
		m++
	}
	if m > n {
		word := rest[:m]
		if d, err := ParseDuration(word); err == nil {
			t.kind, t.dur, t.text = tDuration, d, word
			l.advance(m)
			return t, nil
		}
		if b, err := ParseBytes(word); err == nil {
			t.kind, t.byt, t.text = tBytes, b, word
			l.advance(m)
			return t, nil
		}
		return t, l.errorf(t.line, t.col, "syntax error: invalid number, duration or byte size %q", word)
	}
	text := rest[:n]
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		u, uerr := strconv.ParseUint(text, 0, 64)
		if uerr != nil {
			return t, l.errorf(t.line, t.col, "syntax error: invalid number %q", text)
		}
		v = float64(u)
	}
	t.kind, t.num, t.text = tNumber, v, text
	l.advance(n)
	return t, nil
}
