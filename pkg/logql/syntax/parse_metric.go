package syntax

import (
	"fmt"
	"math"
	"regexp"
	"strings"
)

// binOpOf returns the binary operator t stands for and its precedence (PromQL's).
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
