package syntax

import (
	"fmt"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
)

// MaxQueryLength bounds the size of a query the parser accepts, so a hostile query cannot make
// it spend unbounded time or memory.
const MaxQueryLength = 128 << 10

// maxDepth bounds nesting (parentheses, aggregations) to keep recursion shallow.
const maxDepth = 200

// ParseExpr parses a whole LogQL query.
func ParseExpr(q string) (Expr, error) {
	if len(q) > MaxQueryLength {
		return nil, &ParseError{Msg: fmt.Sprintf("query too long: %d bytes (limit %d)", len(q), MaxQueryLength)}
	}
	toks, err := lex(q)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	var e Expr
	if p.isParenLogSelector() {
		e, err = p.parseParenLogSelector()
	} else {
		e, err = p.parseSample(0)
	}
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		if _, ok := e.(*LogSelector); ok {
			return nil, p.unexpected(t, "!=", "!~", "|~", "|=")
		}
		return nil, p.unexpected(t)
	}
	return e, nil
}

// ParseLogSelector parses a log query; a metric query is an error.
func ParseLogSelector(q string) (*LogSelector, error) {
	e, err := ParseExpr(q)
	if err != nil {
		return nil, err
	}
	ls, ok := e.(*LogSelector)
	if !ok {
		return nil, &ParseError{Msg: "only log queries are supported here: " + e.String()}
	}
	return ls, nil
}

// ParseSampleExpr parses a metric query; a log query is an error.
func ParseSampleExpr(q string) (SampleExpr, error) {
	e, err := ParseExpr(q)
	if err != nil {
		return nil, err
	}
	se, ok := e.(SampleExpr)
	if !ok {
		return nil, &ParseError{Msg: "only metric queries are supported here: " + e.String()}
	}
	return se, nil
}

// ParseMatchers parses a bare stream selector such as {app="api"} (as /series and the label
// endpoints take it) into Prometheus matchers.
func ParseMatchers(q string) ([]*labels.Matcher, error) {
	ls, err := ParseLogSelector(q)
	if err != nil {
		return nil, err
	}
	if len(ls.Stages) > 0 {
		return nil, &ParseError{Msg: "only stream selectors are supported here: " + q}
	}
	return ls.LabelMatchers()
}

type parser struct {
	toks  []token
	pos   int
	depth int
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) peekAt(n int) token {
	if p.pos+n >= len(p.toks) {
		return p.toks[len(p.toks)-1]
	}
	return p.toks[p.pos+n]
}

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}

func (p *parser) isIdent(text string) bool {
	t := p.peek()
	return t.kind == tIdent && t.text == text
}

func (p *parser) unexpected(t token, expecting ...string) error {
	msg := "syntax error: unexpected " + t.describe()
	if len(expecting) > 0 {
		msg += ", expecting " + strings.Join(expecting, " or ")
	}
	return &ParseError{Line: t.line, Col: t.col, Msg: msg}
}

func (p *parser) errorAt(t token, format string, args ...any) error {
	return &ParseError{Line: t.line, Col: t.col, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) expect(k tokenKind) (token, error) {
	t := p.peek()
	if t.kind != k {
		return t, p.unexpected(t, tokenNames[k])
	}
	return p.next(), nil
}

func (p *parser) expectIdent() (string, error) {
	t, err := p.expect(tIdent)
	return t.text, err
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.errorAt(p.peek(), "syntax error: expression nested too deeply")
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

// parseMatchers parses {name op "value", ...}.
func (p *parser) parseMatchers() ([]Matcher, error) {
	if _, err := p.expect(tLBrace); err != nil {
		return nil, err
	}
	var ms []Matcher
	if p.peek().kind == tRBrace {
		return nil, &ParseError{Msg: errNoNonEmptyMatcher}
	}
	for {
		nameTok := p.peek()
		if nameTok.kind != tIdent {
			return nil, p.unexpected(nameTok, "IDENTIFIER")
		}
		p.next()
		opTok := p.next()
		var mt labels.MatchType
		switch opTok.kind {
		case tEq:
			mt = labels.MatchEqual
		case tNeq:
			mt = labels.MatchNotEqual
		case tRe:
			mt = labels.MatchRegexp
		case tNre:
			mt = labels.MatchNotRegexp
		default:
			return nil, p.unexpected(opTok, "=", "!=", "=~", "!~")
		}
		valTok, err := p.expect(tString)
		if err != nil {
			return nil, err
		}
		m := Matcher{Type: mt, Name: nameTok.text, Value: valTok.text}
		if _, err := m.Labels(); err != nil {
			return nil, p.errorAt(valTok, "invalid matcher %s: %v", m, err)
		}
		ms = append(ms, m)
		t := p.next()
		if t.kind == tRBrace {
			break
		}
		if t.kind != tComma {
			return nil, p.unexpected(t, ",", "}")
		}
	}
	if err := checkNonEmptyMatcher(ms); err != nil {
		return nil, err
	}
	return ms, nil
}

func checkNonEmptyMatcher(ms []Matcher) error {
	for _, m := range ms {
		lm, err := m.Labels()
		if err != nil {
			return &ParseError{Msg: err.Error()}
		}
		if !lm.Matches("") {
			return nil
		}
	}
	return &ParseError{Msg: errNoNonEmptyMatcher}
}
