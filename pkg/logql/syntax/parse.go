package syntax

import (
	"fmt"
	"math"
	"regexp"
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

// isParenLogSelector reports whether the input is a log query, perhaps in parentheses.
func (p *parser) isParenLogSelector() bool {
	i := 0
	for p.peekAt(i).kind == tLParen {
		i++
	}
	return p.peekAt(i).kind == tLBrace
}

// parseParenLogSelector parses a log query in any number of parentheses.
func (p *parser) parseParenLogSelector() (*LogSelector, error) {
	if p.peek().kind != tLParen {
		return p.parseLogSelector()
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	p.next()
	e, err := p.parseParenLogSelector()
	if err != nil {
		return nil, err
	}
	_, err = p.expect(tRParen)
	return e, err
}

// parseLogSelector parses {matchers} followed by a pipeline (no unwrap, no range).
func (p *parser) parseLogSelector() (*LogSelector, error) {
	ms, err := p.parseMatchers()
	if err != nil {
		return nil, err
	}
	stages, unwrap, err := p.parsePipeline(false)
	if err != nil {
		return nil, err
	}
	if unwrap != nil {
		return nil, &ParseError{Msg: "unwrap is only allowed in range aggregations"}
	}
	return &LogSelector{Matchers: ms, Stages: stages}, nil
}

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

// parsePipeline parses the stages after a selector. In a range aggregation (inRange) it also
// accepts | unwrap and the label filters after it.
func (p *parser) parsePipeline(inRange bool) ([]Stage, *Unwrap, error) {
	var stages []Stage
	var unwrap *Unwrap
	for {
		t := p.peek()
		switch t.kind {
		case tPipeEq, tNeq, tPipeRe, tNre, tPipePat, tNotPat:
			if unwrap != nil {
				return nil, nil, p.unexpected(t, "|")
			}
			lf, err := p.parseLineFilter()
			if err != nil {
				return nil, nil, err
			}
			stages = append(stages, lf)
			continue
		case tPipe:
		default:
			return stages, unwrap, nil
		}
		p.next()
		st, uw, err := p.parseStage(inRange)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case uw != nil:
			if unwrap != nil {
				return nil, nil, p.errorAt(t, "syntax error: only one unwrap is allowed")
			}
			unwrap = uw
		case unwrap != nil:
			lf, ok := st.(*LabelFilter)
			if !ok {
				return nil, nil, p.errorAt(t, "syntax error: only label filters are allowed after unwrap")
			}
			unwrap.PostFilters = append(unwrap.PostFilters, lf.Filter)
		default:
			stages = append(stages, st)
		}
	}
}

func isFilterOp(k tokenKind) bool {
	switch k {
	case tEq, tNeq, tRe, tNre, tCmpEq, tGt, tGte, tLt, tLte:
		return true
	}
	return false
}

// parseStage parses what follows a "|".
func (p *parser) parseStage(inRange bool) (Stage, *Unwrap, error) {
	t := p.peek()
	// Stage names are keywords unless a comparison follows (| drop="x" filters a label named
	// drop); != and !~ after a stage name start a line filter, as in Loki.
	if n := p.peekAt(1).kind; t.kind == tIdent && (!isFilterOp(n) || n == tNeq || n == tNre) {
		switch t.text {
		case "json":
			p.next()
			ps, err := p.parseExtractions()
			return &JSONParser{Params: ps}, nil, err
		case "logfmt":
			p.next()
			lp := &LogfmtParser{}
			for p.peek().kind == tParserFlag {
				f := p.next()
				switch f.text {
				case "--strict":
					lp.Strict = true
				case "--keep-empty":
					lp.KeepEmpty = true
				default:
					return nil, nil, p.errorAt(f, "syntax error: invalid logfmt flag %s", f.text)
				}
			}
			ps, err := p.parseExtractions()
			lp.Params = ps
			return lp, nil, err
		case "regexp":
			p.next()
			s, err := p.expect(tString)
			if err != nil {
				return nil, nil, err
			}
			if err := checkRegexpParser(s.text); err != nil {
				return nil, nil, p.errorAt(s, "%v", err)
			}
			return &RegexpParser{Regex: s.text}, nil, nil
		case "pattern":
			p.next()
			s, err := p.expect(tString)
			return &PatternParser{Pattern: s.text}, nil, err
		case "unpack":
			p.next()
			return &UnpackParser{}, nil, nil
		case "decolorize":
			p.next()
			return &Decolorize{}, nil, nil
		case "line_format":
			p.next()
			s, err := p.expect(tString)
			return &LineFormat{Template: s.text}, nil, err
		case "label_format":
			p.next()
			lf, err := p.parseLabelFormat()
			return lf, nil, err
		case "drop":
			p.next()
			ms, err := p.parseNamedMatchers()
			return &DropLabels{Labels: ms}, nil, err
		case "keep":
			p.next()
			ms, err := p.parseNamedMatchers()
			return &KeepLabels{Labels: ms}, nil, err
		case "distinct":
			p.next()
			names, err := p.parseIdentList()
			return &Distinct{Labels: names}, nil, err
		case "unwrap":
			if !inRange {
				return nil, nil, p.unexpected(t)
			}
			p.next()
			uw, err := p.parseUnwrap()
			return nil, uw, err
		}
	}
	f, err := p.parseLabelFilterOr()
	if err != nil {
		return nil, nil, err
	}
	return &LabelFilter{Filter: f}, nil, nil
}

func checkRegexpParser(re string) error {
	r, err := regexp.Compile(re)
	if err != nil {
		return fmt.Errorf("invalid regexp %q: %w", re, err)
	}
	for _, n := range r.SubexpNames() {
		if n != "" {
			return nil
		}
	}
	return fmt.Errorf("at least one named capture must be supplied")
}

// parseExtractions parses json/logfmt parameters: a="expr", b, ...
func (p *parser) parseExtractions() ([]LabelExtraction, error) {
	var out []LabelExtraction
	if p.peek().kind != tIdent {
		return nil, nil
	}
	for {
		name, err := p.expectIdent()
		if err != nil {
			return nil, err
		}
		ex := LabelExtraction{Name: name}
		if p.peek().kind == tEq {
			p.next()
			s, err := p.expect(tString)
			if err != nil {
				return nil, err
			}
			ex.Expr = s.text
		}
		out = append(out, ex)
		if p.peek().kind != tComma {
			return out, nil
		}
		p.next()
	}
}

func (p *parser) parseLabelFormat() (*LabelFormat, error) {
	lf := &LabelFormat{}
	seen := map[string]bool{}
	for {
		dt := p.peek()
		dst, err := p.expectIdent()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tEq); err != nil {
			return nil, err
		}
		v := p.next()
		it := LabelFormatItem{Dst: dst}
		switch v.kind {
		case tIdent:
			it.Value = v.text
		case tString:
			it.Value, it.Template = v.text, true
		default:
			return nil, p.unexpected(v, "IDENTIFIER", "STRING")
		}
		if seen[dst] {
			return nil, p.errorAt(dt, "multiple label name '%s' in a single label_format stage", dst)
		}
		seen[dst] = true
		lf.Items = append(lf.Items, it)
		if p.peek().kind != tComma {
			return lf, nil
		}
		p.next()
	}
}

func (p *parser) parseNamedMatchers() ([]NamedMatcher, error) {
	var out []NamedMatcher
	for {
		name, err := p.expectIdent()
		if err != nil {
			return nil, err
		}
		nm := NamedMatcher{Name: name}
		var mt labels.MatchType = -1
		switch p.peek().kind {
		case tEq:
			mt = labels.MatchEqual
		case tNeq:
			mt = labels.MatchNotEqual
		case tRe:
			mt = labels.MatchRegexp
		case tNre:
			mt = labels.MatchNotRegexp
		}
		if mt >= 0 {
			p.next()
			s, err := p.expect(tString)
			if err != nil {
				return nil, err
			}
			m := Matcher{Type: mt, Name: name, Value: s.text}
			if _, err := m.Labels(); err != nil {
				return nil, p.errorAt(s, "invalid matcher %s: %v", m, err)
			}
			nm.Matcher = &m
		}
		out = append(out, nm)
		if p.peek().kind != tComma {
			return out, nil
		}
		p.next()
	}
}

func (p *parser) parseIdentList() ([]string, error) {
	var out []string
	for {
		name, err := p.expectIdent()
		if err != nil {
			return nil, err
		}
		out = append(out, name)
		if p.peek().kind != tComma {
			return out, nil
		}
		p.next()
	}
}

func (p *parser) parseUnwrap() (*Unwrap, error) {
	t := p.peek()
	name, err := p.expectIdent()
	if err != nil {
		return nil, err
	}
	switch name {
	case ConvDuration, ConvDurationSeconds, ConvBytes:
		if p.peek().kind == tLParen {
			p.next()
			label, err := p.expectIdent()
			if err != nil {
				return nil, err
			}
			if _, err := p.expect(tRParen); err != nil {
				return nil, err
			}
			return &Unwrap{Label: label, Conv: name}, nil
		}
	}
	_ = t
	return &Unwrap{Label: name}, nil
}

// parseLineFilter parses op value [or value ...].
func (p *parser) parseLineFilter() (*LineFilter, error) {
	opTok := p.next()
	lf := &LineFilter{}
	switch opTok.kind {
	case tPipeEq:
		lf.Op = LineContains
	case tNeq:
		lf.Op = LineNotContains
	case tPipeRe:
		lf.Op = LineMatch
	case tNre:
		lf.Op = LineNotMatch
	case tPipePat:
		lf.Op = LinePattern
	case tNotPat:
		lf.Op = LineNotPattern
	}
	for {
		v, err := p.parseLineFilterValue(lf.Op)
		if err != nil {
			return nil, err
		}
		lf.Values = append(lf.Values, v)
		if !p.isIdent("or") {
			return lf, nil
		}
		if n := p.peekAt(1); n.kind != tString && !(n.kind == tIdent && n.text == "ip") {
			return lf, nil
		}
		p.next()
	}
}

func (p *parser) parseLineFilterValue(op LineFilterOp) (LineFilterValue, error) {
	t := p.peek()
	if t.kind == tIdent && t.text == "ip" {
		if op != LineContains && op != LineNotContains {
			return LineFilterValue{}, p.unexpected(t, "STRING")
		}
		p.next()
		s, err := p.parseIPArg()
		return LineFilterValue{Value: s, IP: true}, err
	}
	s, err := p.expect(tString)
	if err != nil {
		return LineFilterValue{}, err
	}
	if op == LineMatch || op == LineNotMatch {
		if _, err := regexp.Compile(s.text); err != nil {
			return LineFilterValue{}, p.errorAt(s, "invalid regexp %q: %v", s.text, err)
		}
	}
	return LineFilterValue{Value: s.text}, nil
}

func (p *parser) parseIPArg() (string, error) {
	if _, err := p.expect(tLParen); err != nil {
		return "", err
	}
	s, err := p.expect(tString)
	if err != nil {
		return "", err
	}
	if _, err := p.expect(tRParen); err != nil {
		return "", err
	}
	return s.text, nil
}

// parseLabelFilterOr parses a label filter expression: or binds looser than and (also written
// "," or by juxtaposition).
func (p *parser) parseLabelFilterOr() (LabelFilterer, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	left, err := p.parseLabelFilterAnd()
	if err != nil {
		return nil, err
	}
	for p.isIdent("or") {
		p.next()
		right, err := p.parseLabelFilterAnd()
		if err != nil {
			return nil, err
		}
		left = &BinaryLabelFilter{Left: left, Right: right}
	}
	return left, nil
}

func (p *parser) parseLabelFilterAnd() (LabelFilterer, error) {
	left, err := p.parseLabelFilterPrimary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		switch {
		case t.kind == tComma || (t.kind == tIdent && t.text == "and"):
			p.next()
		case t.kind == tLParen || (t.kind == tIdent && t.text != "or" && t.text != "offset" && isFilterOp(p.peekAt(1).kind)):
			// juxtaposition: `a="b" c="d"` means and.
		default:
			return left, nil
		}
		right, err := p.parseLabelFilterPrimary()
		if err != nil {
			return nil, err
		}
		left = &BinaryLabelFilter{Left: left, Right: right, And: true}
	}
}

func (p *parser) parseLabelFilterPrimary() (LabelFilterer, error) {
	t := p.peek()
	if t.kind == tLParen {
		p.next()
		f, err := p.parseLabelFilterOr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen); err != nil {
			return nil, err
		}
		return f, nil
	}
	if t.kind != tIdent {
		return nil, p.unexpected(t, "IDENTIFIER")
	}
	name := p.next().text
	opTok := p.next()
	var op FilterOp
	switch opTok.kind {
	case tEq, tCmpEq:
		op = OpEqual
	case tNeq:
		op = OpNotEqual
	case tRe:
		op = OpRegexMatch
	case tNre:
		op = OpRegexNoMatch
	case tGt:
		op = OpGreater
	case tGte:
		op = OpGreaterEq
	case tLt:
		op = OpLess
	case tLte:
		op = OpLessEq
	default:
		return nil, p.unexpected(opTok, "=", "!=", "=~", "!~", "==", ">", ">=", "<", "<=")
	}
	v := p.peek()
	isCmp := op != OpRegexMatch && op != OpRegexNoMatch
	switch {
	case v.kind == tString:
		p.next()
		var mt labels.MatchType
		switch op {
		case OpEqual:
			mt = labels.MatchEqual
		case OpNotEqual:
			mt = labels.MatchNotEqual
		case OpRegexMatch:
			mt = labels.MatchRegexp
		case OpRegexNoMatch:
			mt = labels.MatchNotRegexp
		default:
			return nil, p.unexpected(v, "NUMBER", "DURATION", "BYTES")
		}
		m := Matcher{Type: mt, Name: name, Value: v.text}
		if _, err := m.Labels(); err != nil {
			return nil, p.errorAt(v, "invalid matcher %s: %v", m, err)
		}
		return &StringLabelFilter{Matcher: m}, nil
	case v.kind == tIdent && v.text == "ip" && (op == OpEqual || op == OpNotEqual):
		p.next()
		s, err := p.parseIPArg()
		if err != nil {
			return nil, err
		}
		return &IPLabelFilter{Name: name, Op: op, Pattern: s}, nil
	case isCmp && (v.kind == tNumber || ((v.kind == tSub || v.kind == tAdd) && p.peekAt(1).kind == tNumber)):
		sign := 1.0
		if v.kind == tSub || v.kind == tAdd {
			if v.kind == tSub {
				sign = -1
			}
			p.next()
		}
		n := p.next()
		return &NumericLabelFilter{Name: name, Op: op, Value: sign * n.num}, nil
	case isCmp && v.kind == tDuration:
		p.next()
		return &DurationLabelFilter{Name: name, Op: op, Value: v.dur}, nil
	case isCmp && v.kind == tBytes:
		p.next()
		return &BytesLabelFilter{Name: name, Op: op, Value: v.byt}, nil
	}
	return nil, p.unexpected(v, "STRING")
}

// binary operator precedence, PromQL's.
func binOpOf(t token) (op string, prec int, ok bool) {
	switch t.kind {
	case tIdent:
		switch t.text {
		case "or":
			return "or", 1, true
		case "and", "unless":
			return t.text, 2, true
		}
	case tCmpEq, tNeq, tGt, tGte, tLt, tLte:
		return tokenNames[t.kind], 3, true
	case tAdd, tSub:
		return tokenNames[t.kind], 4, true
	case tMul, tDiv, tMod:
		return tokenNames[t.kind], 5, true
	case tPow:
		return "^", 6, true
	}
	return "", 0, false
}

// parseSample parses a metric expression by precedence climbing.
func (p *parser) parseSample(minPrec int) (SampleExpr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	lhs, err := p.parseSamplePrimary()
	if err != nil {
		return nil, err
	}
	for {
		opTok := p.peek()
		op, prec, ok := binOpOf(opTok)
		if !ok || prec < minPrec {
			return lhs, nil
		}
		p.next()
		b := &BinOp{Op: op, Left: lhs}
		if p.isIdent("bool") {
			if !IsComparison(op) {
				return nil, p.errorAt(p.peek(), "bool modifier can only be used on comparison operators")
			}
			p.next()
			b.ReturnBool = true
		}
		if p.isIdent("on") || p.isIdent("ignoring") {
			m := &VectorMatching{On: p.next().text == "on"}
			if m.Labels, err = p.parseGroupingLabels(); err != nil {
				return nil, err
			}
			if p.isIdent("group_left") || p.isIdent("group_right") {
				m.Card = p.next().text
				if p.peek().kind == tLParen {
					if m.Include, err = p.parseGroupingLabels(); err != nil {
						return nil, err
					}
				}
			}
			b.Matching = m
		}
		next := prec + 1
		if op == "^" {
			next = prec // right associative
		}
		if b.Right, err = p.parseSample(next); err != nil {
			return nil, err
		}
		if lhs, err = foldBinOp(b, opTok); err != nil {
			return nil, err
		}
	}
}

// foldBinOp checks a binary operation and replaces one between two literals by its value.
func foldBinOp(b *BinOp, at token) (SampleExpr, error) {
	ll, lok := b.Left.(*Literal)
	rl, rok := b.Right.(*Literal)
	if IsSetOp(b.Op) {
		if lok {
			return nil, &ParseError{Line: at.line, Col: at.col, Msg: fmt.Sprintf("unexpected literal for left leg of logical/set binary operation (%s): %s", b.Op, ll)}
		}
		if rok {
			return nil, &ParseError{Line: at.line, Col: at.col, Msg: fmt.Sprintf("unexpected literal for right leg of logical/set binary operation (%s): %s", b.Op, rl)}
		}
		return b, nil
	}
	if !lok || !rok {
		return b, nil
	}
	// As in Loki, a comparison between two numbers folds to 1 or 0, with or without bool.
	v, _ := ApplyBinOp(b.Op, ll.Value, rl.Value, true)
	return &Literal{Value: v}, nil
}

// ApplyBinOp computes l op r for an arithmetic or comparison operator, with Loki's semantics
// (x/0 and x%0 are NaN). For a comparison without
// bool, keep reports whether the comparison held (the value is then l); with bool the value is
// 1 or 0 and keep is true.
func ApplyBinOp(op string, l, r float64, returnBool bool) (v float64, keep bool) {
	cmp := func(ok bool) (float64, bool) {
		if returnBool {
			if ok {
				return 1, true
			}
			return 0, true
		}
		return l, ok
	}
	switch op {
	case "+":
		return l + r, true
	case "-":
		return l - r, true
	case "*":
		return l * r, true
	case "/":
		if r == 0 { // Loki answers NaN, not ±Inf, for a division by zero
			return math.NaN(), true
		}
		return l / r, true
	case "%":
		if r == 0 {
			return math.NaN(), true
		}
		return math.Mod(l, r), true
	case "^":
		return math.Pow(l, r), true
	case "==":
		return cmp(l == r)
	case "!=":
		return cmp(l != r)
	case ">":
		return cmp(l > r)
	case ">=":
		return cmp(l >= r)
	case "<":
		return cmp(l < r)
	case "<=":
		return cmp(l <= r)
	}
	panic("syntax: ApplyBinOp with unknown operator " + op + " (parser bug)")
}

func (p *parser) parseGroupingLabels() ([]string, error) {
	if _, err := p.expect(tLParen); err != nil {
		return nil, err
	}
	var out []string
	if p.peek().kind == tRParen {
		p.next()
		return out, nil
	}
	for {
		name, err := p.expectIdent()
		if err != nil {
			return nil, err
		}
		out = append(out, name)
		t := p.next()
		if t.kind == tRParen {
			return out, nil
		}
		if t.kind != tComma {
			return nil, p.unexpected(t, ",", ")")
		}
	}
}

func (p *parser) parseGrouping() (*Grouping, error) {
	if !p.isIdent("by") && !p.isIdent("without") {
		return nil, nil
	}
	g := &Grouping{Without: p.next().text == "without"}
	var err error
	g.Labels, err = p.parseGroupingLabels()
	return g, err
}

var rangeOps = map[string]bool{
	OpRate: true, OpRateCounter: true, OpCountOverTime: true, OpBytesRate: true, OpBytesOverTime: true,
	OpAbsentOver: true, OpSumOverTime: true, OpAvgOverTime: true, OpMinOverTime: true,
	OpMaxOverTime: true, OpFirstOverTime: true, OpLastOverTime: true, OpStdvarOver: true,
	OpStddevOver: true, OpQuantileOver: true,
}

var vectorOps = map[string]bool{
	OpSum: true, OpAvg: true, OpMin: true, OpMax: true, OpCount: true, OpStddev: true, OpStdvar: true,
	OpTopK: true, OpBottomK: true, OpSort: true, OpSortDesc: true, OpApproxTopK: true,
}

func (p *parser) parseSamplePrimary() (SampleExpr, error) {
	t := p.peek()
	switch t.kind {
	case tNumber:
		p.next()
		return &Literal{Value: t.num}, nil
	case tAdd, tSub:
		if n := p.peekAt(1); n.kind == tNumber {
			p.next()
			p.next()
			if t.kind == tSub {
				return &Literal{Value: -n.num}, nil
			}
			return &Literal{Value: n.num}, nil
		}
		if n := p.peekAt(1); n.kind == tIdent && isInfNaN(n.text) {
			p.next()
			p.next()
			v := infNaN(n.text)
			if t.kind == tSub {
				v = -v
			}
			return &Literal{Value: v}, nil
		}
	case tLParen:
		p.next()
		e, err := p.parseSample(0)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen); err != nil {
			return nil, err
		}
		return e, nil
	case tIdent:
		switch {
		case isInfNaN(t.text):
			p.next()
			return &Literal{Value: infNaN(t.text)}, nil
		case rangeOps[t.text]:
			return p.parseRangeAggregation()
		case vectorOps[t.text]:
			return p.parseVectorAggregation()
		case t.text == "vector":
			p.next()
			if _, err := p.expect(tLParen); err != nil {
				return nil, err
			}
			v, err := p.parseNumberArg()
			if err != nil {
				return nil, err
			}
			if _, err := p.expect(tRParen); err != nil {
				return nil, err
			}
			return &VectorExpr{Value: v}, nil
		case t.text == "label_replace":
			return p.parseLabelReplace()
		}
	}
	return nil, p.unexpected(t)
}

func isInfNaN(s string) bool {
	switch strings.ToLower(s) {
	case "inf", "nan":
		return true
	}
	return false
}

func infNaN(s string) float64 {
	if strings.ToLower(s) == "nan" {
		return math.NaN()
	}
	return math.Inf(1)
}

// parseNumberArg reads an optionally signed number.
func (p *parser) parseNumberArg() (float64, error) {
	sign := 1.0
	if t := p.peek(); t.kind == tSub || t.kind == tAdd {
		if t.kind == tSub {
			sign = -1
		}
		p.next()
	}
	t := p.peek()
	if t.kind == tIdent && isInfNaN(t.text) {
		p.next()
		return sign * infNaN(t.text), nil
	}
	n, err := p.expect(tNumber)
	return sign * n.num, err
}

func (p *parser) parseRangeAggregation() (SampleExpr, error) {
	opTok := p.next()
	e := &RangeAggregation{Op: opTok.text}
	if _, err := p.expect(tLParen); err != nil {
		return nil, err
	}
	if e.Op == OpQuantileOver {
		v, err := p.parseNumberArg()
		if err != nil {
			return nil, err
		}
		e.Param = &v
		if _, err := p.expect(tComma); err != nil {
			return nil, err
		}
	}
	lr, err := p.parseLogRange()
	if err != nil {
		return nil, err
	}
	e.Left = lr
	if _, err := p.expect(tRParen); err != nil {
		return nil, err
	}
	if e.Grouping, err = p.parseGrouping(); err != nil {
		return nil, err
	}
	if err := validateRangeAggregation(e); err != nil {
		return nil, err
	}
	return e, nil
}

// parseLogRange parses the log range of a range aggregation in any of Loki's forms:
// {sel} | pipeline [5m] offset 1h, {sel}[5m] offset 1h | pipeline, ({sel} | pipeline)[5m],
// and any of them in parentheses.
func (p *parser) parseLogRange() (*LogRange, error) {
	if p.peek().kind != tLParen {
		ms, err := p.parseMatchers()
		if err != nil {
			return nil, err
		}
		lr := &LogRange{Left: &LogSelector{Matchers: ms}}
		return lr, p.parseLogRangeRest(lr)
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	p.next()
	if p.peek().kind == tLParen { // ((...))
		lr, err := p.parseLogRange()
		if err != nil {
			return nil, err
		}
		_, err = p.expect(tRParen)
		return lr, err
	}
	ms, err := p.parseMatchers()
	if err != nil {
		return nil, err
	}
	lr := &LogRange{Left: &LogSelector{Matchers: ms}}
	if p.peek().kind == tRange { // ({sel}[5m] ...)
		if err := p.parseLogRangeRest(lr); err != nil {
			return nil, err
		}
		_, err = p.expect(tRParen)
		return lr, err
	}
	// ({sel} | pipeline)[5m] offset 1h
	if lr.Left.Stages, lr.Unwrap, err = p.parsePipeline(true); err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind == tRange { // ({sel} | pipeline [5m] offset 1h)
		p.next()
		lr.Interval = t.dur
		if err := p.parseOffset(lr); err != nil {
			return nil, err
		}
		_, err = p.expect(tRParen)
		return lr, err
	}
	if _, err := p.expect(tRParen); err != nil {
		return nil, err
	}
	t, err := p.expect(tRange)
	if err != nil {
		return nil, err
	}
	lr.Interval = t.dur
	return lr, p.parseOffset(lr)
}

// parseLogRangeRest parses what follows the selector: the range either right after it
// (optionally with its offset) or after the pipeline.
func (p *parser) parseLogRangeRest(lr *LogRange) error {
	gotRange := false
	if t := p.peek(); t.kind == tRange {
		p.next()
		lr.Interval, gotRange = t.dur, true
		if err := p.parseOffset(lr); err != nil {
			return err
		}
	}
	stages, uw, err := p.parsePipeline(true)
	if err != nil {
		return err
	}
	lr.Left.Stages, lr.Unwrap = stages, uw
	if gotRange {
		if lr.Offset == 0 && (len(stages) > 0 || uw != nil) {
			return p.parseOffset(lr)
		}
		return nil
	}
	t, err := p.expect(tRange)
	if err != nil {
		return err
	}
	lr.Interval = t.dur
	return p.parseOffset(lr)
}

func (p *parser) parseOffset(lr *LogRange) error {
	if !p.isIdent("offset") {
		return nil
	}
	p.next()
	t, err := p.expect(tDuration)
	if err != nil {
		return err
	}
	lr.Offset = t.dur
	return nil
}

func validateRangeAggregation(e *RangeAggregation) error {
	if e.Grouping != nil {
		switch e.Op {
		case OpAvgOverTime, OpMinOverTime, OpMaxOverTime, OpStdvarOver, OpStddevOver, OpQuantileOver,
			OpFirstOverTime, OpLastOverTime:
		default:
			return &ParseError{Msg: fmt.Sprintf("grouping not allowed for %s aggregation", e.Op)}
		}
	}
	switch e.Op {
	case OpCountOverTime, OpBytesRate, OpBytesOverTime:
		if e.Left.Unwrap != nil {
			return &ParseError{Msg: fmt.Sprintf("invalid aggregation %s with unwrap", e.Op)}
		}
	case OpRate, OpAbsentOver:
	default:
		if e.Left.Unwrap == nil {
			return &ParseError{Msg: fmt.Sprintf("invalid aggregation %s without unwrap", e.Op)}
		}
	}
	if e.Left.Interval <= 0 {
		return &ParseError{Msg: "range must be positive"}
	}
	return nil
}

func (p *parser) parseVectorAggregation() (SampleExpr, error) {
	opTok := p.next()
	e := &VectorAggregation{Op: opTok.text}
	var err error
	if e.Grouping, err = p.parseGrouping(); err != nil {
		return nil, err
	}
	if _, err := p.expect(tLParen); err != nil {
		return nil, err
	}
	hasParam := p.peek().kind == tNumber && p.peekAt(1).kind == tComma
	if isK := e.Op == OpTopK || e.Op == OpBottomK || e.Op == OpApproxTopK; !isK && hasParam {
		return nil, &ParseError{Msg: fmt.Sprintf("unsupported parameter for operation %s(%s,", e.Op, p.peek().text)}
	} else if isK && !hasParam && p.peek().kind != tSub && p.peek().kind != tAdd {
		return nil, &ParseError{Msg: fmt.Sprintf("parameter required for operation %s", e.Op)}
	}
	if e.Op == OpTopK || e.Op == OpBottomK || e.Op == OpApproxTopK {
		nt := p.peek()
		v, err := p.parseNumberArg()
		if err != nil {
			return nil, err
		}
		if v != math.Trunc(v) || math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, &ParseError{Msg: fmt.Sprintf("invalid parameter %s(%s,", e.Op, nt.text)}
		}
		if v <= 0 || v > math.MaxInt32 {
			return nil, &ParseError{Msg: fmt.Sprintf("invalid parameter (must be greater than 0) %s(%s", e.Op, nt.text)}
		}
		e.Param = int(v)
		if _, err := p.expect(tComma); err != nil {
			return nil, err
		}
	}
	if e.Left, err = p.parseSample(0); err != nil {
		return nil, err
	}
	if _, err := p.expect(tRParen); err != nil {
		return nil, err
	}
	if e.Grouping == nil {
		if e.Grouping, err = p.parseGrouping(); err != nil {
			return nil, err
		}
	}
	if g := e.Grouping; g != nil && !g.Without && len(g.Labels) == 0 {
		e.Grouping = nil // by () is the same as no grouping
	}
	if e.Grouping != nil {
		switch e.Op {
		case OpSort, OpSortDesc:
			return nil, &ParseError{Msg: "grouping not allowed for sort and sort_desc aggregations"}
		case OpApproxTopK:
			return nil, &ParseError{Msg: "grouping not allowed for approx_topk aggregation"}
		}
	}
	return e, nil
}

func (p *parser) parseLabelReplace() (SampleExpr, error) {
	p.next()
	if _, err := p.expect(tLParen); err != nil {
		return nil, err
	}
	inner, err := p.parseSample(0)
	if err != nil {
		return nil, err
	}
	var args [4]string
	for i := range args {
		if _, err := p.expect(tComma); err != nil {
			return nil, err
		}
		s, err := p.expect(tString)
		if err != nil {
			return nil, err
		}
		args[i] = s.text
	}
	if _, err := p.expect(tRParen); err != nil {
		return nil, err
	}
	if _, err := regexp.Compile("^(?s:" + args[3] + ")$"); err != nil {
		return nil, &ParseError{Msg: fmt.Sprintf("invalid regex in label_replace: %s", err)}
	}
	if !isLabelName(args[0]) {
		return nil, &ParseError{Msg: fmt.Sprintf("invalid destination label name in label_replace: %s", args[0])}
	}
	return &LabelReplace{Left: inner, Dst: args[0], Replacement: args[1], Src: args[2], Regex: args[3]}, nil
}

func isLabelName(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentChar(s[i]) {
			return false
		}
	}
	return true
}

// ParseLabels parses a label set in selector syntax, {a="b", c="d"}, as streams are pushed.
// Every matcher must be an equality; the result is sorted.
func ParseLabels(s string) (labels.Labels, error) {
	toks, err := lex(s)
	if err != nil {
		return labels.EmptyLabels(), err
	}
	p := &parser{toks: toks}
	if _, err := p.expect(tLBrace); err != nil {
		return labels.EmptyLabels(), err
	}
	b := labels.NewScratchBuilder(8)
	if p.peek().kind == tRBrace {
		p.next()
	} else {
		for {
			name, err := p.expectIdent()
			if err != nil {
				return labels.EmptyLabels(), err
			}
			if _, err := p.expect(tEq); err != nil {
				return labels.EmptyLabels(), err
			}
			v, err := p.expect(tString)
			if err != nil {
				return labels.EmptyLabels(), err
			}
			b.Add(name, v.text)
			t := p.next()
			if t.kind == tRBrace {
				break
			}
			if t.kind != tComma {
				return labels.EmptyLabels(), p.unexpected(t, ",", "}")
			}
		}
	}
	if t := p.peek(); t.kind != tEOF {
		return labels.EmptyLabels(), p.unexpected(t)
	}
	b.Sort()
	return b.Labels(), nil
}
