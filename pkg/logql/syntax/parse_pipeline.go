package syntax

import (
	"fmt"
	"regexp"

	"github.com/prometheus/prometheus/model/labels"
)

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
