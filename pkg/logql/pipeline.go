package logql

import (
	"fmt"
	resyntax "regexp/syntax"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logql/log"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
)

// This file turns the pipeline stages of a parsed query into the stages of package log.
// Errors here are the query's fault (an invalid template or pattern), so they are returned
// as *syntax.ParseError, which the API answers with 400.

func pipelineError(err error) error {
	return &syntax.ParseError{Msg: err.Error()}
}

var lineMatchTypes = map[syntax.LineFilterOp]log.LineMatchType{
	syntax.LineContains: log.LineMatchEqual, syntax.LineNotContains: log.LineMatchNotEqual,
	syntax.LineMatch: log.LineMatchRegexp, syntax.LineNotMatch: log.LineMatchNotRegexp,
	syntax.LinePattern: log.LineMatchPattern, syntax.LineNotPattern: log.LineMatchNotPattern,
}

// buildLineFilter turns one line filter stage (op v1 or v2 ...) into a Filterer.
func buildLineFilter(lf *syntax.LineFilter) (log.Filterer, error) {
	mt, ok := lineMatchTypes[lf.Op]
	if !ok {
		return nil, fmt.Errorf("line filter: unknown operator %q", lf.Op)
	}
	var strs []string
	var ips []log.Filterer
	for _, v := range lf.Values {
		if !v.IP {
			strs = append(strs, v.Value)
			continue
		}
		f, err := log.NewIPFilter(v.Value, mt)
		if err != nil {
			return nil, err
		}
		ips = append(ips, f)
	}
	var f log.Filterer
	if len(strs) == 1 {
		var err error
		if f, err = log.NewFilter(strs[0], mt); err != nil {
			return nil, err
		}
	} else if len(strs) > 1 {
		var err error
		if f, err = log.NewOrFilters(mt, strs); err != nil {
			return nil, err
		}
	}
	negative := mt == log.LineMatchNotEqual
	for _, ip := range ips {
		switch {
		case f == nil:
			f = ip
		case negative: // none of the alternatives may match: each negated filter must pass
			f = log.NewAndFilter(f, ip)
		default:
			f = log.NewOrFilter(f, ip)
		}
	}
	return f, nil
}

// lineFilterFunc returns the pushed-down filter for a selector's leading line filters, or nil,
// and a string every line the filter accepts contains (see SelectLogParams.Needle), or nil.
func lineFilterFunc(sel *syntax.LogSelector) (func([]byte) bool, []byte, error) {
	var fs []log.Filterer
	lfs := sel.LeadingLineFilters()
	for _, lf := range lfs {
		f, err := buildLineFilter(lf)
		if err != nil {
			return nil, nil, pipelineError(err)
		}
		fs = append(fs, f)
	}
	if len(fs) == 0 {
		return nil, nil, nil
	}
	return log.ChainFilters(fs...).Filter, lineNeedle(lfs), nil
}

// lineNeedle returns the longest string that every line passing all of lfs must contain, or
// nil: the value of a `|= "..."` filter, or a case-sensitive literal that a `|~` regexp needs
// in every match (`error.*timeout` needs "error" and "timeout"). Filters with several values
// (`|= "a" or "b"`) require none of them.
func lineNeedle(lfs []*syntax.LineFilter) []byte {
	var best string
	for _, lf := range lfs {
		if len(lf.Values) != 1 || lf.Values[0].IP {
			continue
		}
		var lit string
		switch lf.Op {
		case syntax.LineContains:
			lit = lf.Values[0].Value
		case syntax.LineMatch:
			lit = requiredLiteral(lf.Values[0].Value)
		}
		if len(lit) > len(best) {
			best = lit
		}
	}
	if best == "" {
		return nil
	}
	return []byte(best)
}

// requiredLiteral returns the longest case-sensitive literal that every match of the regexp
// re contains, or "" when it finds none (or re does not compile: the filter reports that).
func requiredLiteral(re string) string {
	r, err := resyntax.Parse(re, resyntax.Perl)
	if err != nil {
		return ""
	}
	r = r.Simplify()
	for r.Op == resyntax.OpCapture {
		r = r.Sub[0]
	}
	subs := []*resyntax.Regexp{r}
	if r.Op == resyntax.OpConcat {
		subs = r.Sub
	}
	var best string
	for _, s := range subs {
		for s.Op == resyntax.OpCapture {
			s = s.Sub[0]
		}
		if s.Op != resyntax.OpLiteral || s.Flags&resyntax.FoldCase != 0 {
			continue
		}
		if lit := string(s.Rune); len(lit) > len(best) {
			best = lit
		}
	}
	return best
}

var labelFilterTypes = map[syntax.FilterOp]log.LabelFilterType{
	syntax.OpEqual: log.LabelFilterEqual, syntax.OpNotEqual: log.LabelFilterNotEqual,
	syntax.OpGreater: log.LabelFilterGreaterThan, syntax.OpGreaterEq: log.LabelFilterGreaterThanOrEqual,
	syntax.OpLess: log.LabelFilterLesserThan, syntax.OpLessEq: log.LabelFilterLesserThanOrEqual,
}

func buildLabelFilter(f syntax.LabelFilterer) (log.LabelFilterer, error) {
	switch f := f.(type) {
	case *syntax.StringLabelFilter:
		m, err := f.Matcher.Labels()
		if err != nil {
			return nil, err
		}
		return log.NewStringLabelFilter(m), nil
	case *syntax.NumericLabelFilter:
		return log.NewNumericLabelFilter(labelFilterTypes[f.Op], f.Name, f.Value), nil
	case *syntax.DurationLabelFilter:
		return log.NewDurationLabelFilter(labelFilterTypes[f.Op], f.Name, f.Value), nil
	case *syntax.BytesLabelFilter:
		return log.NewBytesLabelFilter(labelFilterTypes[f.Op], f.Name, f.Value), nil
	case *syntax.IPLabelFilter:
		return log.NewIPLabelFilter(f.Pattern, f.Name, labelFilterTypes[f.Op])
	case *syntax.BinaryLabelFilter:
		l, err := buildLabelFilter(f.Left)
		if err != nil {
			return nil, err
		}
		r, err := buildLabelFilter(f.Right)
		if err != nil {
			return nil, err
		}
		if f.And {
			return log.NewAndLabelFilter(l, r), nil
		}
		return log.NewOrLabelFilter(l, r), nil
	}
	return nil, fmt.Errorf("label filter: unknown kind %T", f)
}

func extractions(ps []syntax.LabelExtraction) []log.LabelExtractionExpr {
	out := make([]log.LabelExtractionExpr, len(ps))
	for i, p := range ps {
		out[i] = log.LabelExtractionExpr{Identifier: p.Name, Expression: p.Expr}
	}
	return out
}

func namedMatchers(ms []syntax.NamedMatcher) ([]log.NamedLabelMatcher, error) {
	out := make([]log.NamedLabelMatcher, len(ms))
	for i, m := range ms {
		out[i].Name = m.Name
		if m.Matcher != nil {
			lm, err := m.Matcher.Labels()
			if err != nil {
				return nil, err
			}
			out[i].Matcher = lm
		}
	}
	return out, nil
}

// buildStage turns one AST stage into a log.Stage.
func buildStage(s syntax.Stage) (log.Stage, error) {
	switch s := s.(type) {
	case *syntax.LineFilter:
		f, err := buildLineFilter(s)
		if err != nil {
			return nil, err
		}
		return f.ToStage(), nil
	case *syntax.JSONParser:
		if len(s.Params) == 0 {
			return log.NewJSONParser(), nil
		}
		return log.NewJSONExpressionParser(extractions(s.Params))
	case *syntax.LogfmtParser:
		if len(s.Params) == 0 {
			return log.NewLogfmtParser(s.Strict, s.KeepEmpty), nil
		}
		return log.NewLogfmtExpressionParser(extractions(s.Params), s.Strict, s.KeepEmpty)
	case *syntax.RegexpParser:
		return log.NewRegexpParser(s.Regex)
	case *syntax.PatternParser:
		return log.NewPatternParser(s.Pattern)
	case *syntax.UnpackParser:
		return log.NewUnpackParser(), nil
	case *syntax.LabelFilter:
		return buildLabelFilter(s.Filter)
	case *syntax.LineFormat:
		return log.NewLineFormatter(s.Template)
	case *syntax.LabelFormat:
		fmts := make([]log.LabelFmt, len(s.Items))
		for i, it := range s.Items {
			if it.Template {
				fmts[i] = log.NewTemplateLabelFmt(it.Dst, it.Value)
			} else {
				fmts[i] = log.NewRenameLabelFmt(it.Dst, it.Value)
			}
		}
		return log.NewLabelsFormatter(fmts)
	case *syntax.Decolorize:
		return log.NewDecolorizer(), nil
	case *syntax.DropLabels:
		ms, err := namedMatchers(s.Labels)
		if err != nil {
			return nil, err
		}
		return log.NewDropLabels(ms), nil
	case *syntax.KeepLabels:
		ms, err := namedMatchers(s.Labels)
		if err != nil {
			return nil, err
		}
		return log.NewKeepLabels(ms), nil
	case *syntax.Distinct:
		return log.NewDistinctFilter(s.Labels), nil
	}
	return nil, fmt.Errorf("pipeline: unknown stage %T", s)
}

// buildStages turns a selector's pipeline into log stages.
func buildStages(sel *syntax.LogSelector) ([]log.Stage, error) {
	out := make([]log.Stage, 0, len(sel.Stages))
	for _, s := range sel.Stages {
		st, err := buildStage(s)
		if err != nil {
			return nil, pipelineError(fmt.Errorf("%s: %w", s, err))
		}
		out = append(out, st)
	}
	return out, nil
}

// buildPipeline returns the log pipeline of a log query.
func buildPipeline(sel *syntax.LogSelector) (log.Pipeline, error) {
	stages, err := buildStages(sel)
	if err != nil {
		return nil, err
	}
	return log.NewPipeline(stages), nil
}

// buildExtractor returns the sample extractor of a range aggregation.
func buildExtractor(ra *syntax.RangeAggregation) (log.SampleExtractor, error) {
	stages, err := buildStages(ra.Left.Left)
	if err != nil {
		return nil, err
	}
	if uw := ra.Left.Unwrap; uw != nil {
		var post log.Stage
		for _, pf := range uw.PostFilters {
			f, err := buildLabelFilter(pf)
			if err != nil {
				return nil, pipelineError(err)
			}
			if post == nil {
				post = f
			} else {
				post = log.NewAndLabelFilter(post.(log.LabelFilterer), f)
			}
		}
		ex, err := log.NewLabelSampleExtractor(uw.Label, uw.Conv, stages, post)
		if err != nil {
			return nil, pipelineError(err)
		}
		return ex, nil
	}
	switch ra.Op {
	case syntax.OpBytesRate, syntax.OpBytesOverTime:
		return log.NewLineSampleExtractor(log.BytesExtractor, stages), nil
	}
	return log.NewLineSampleExtractor(log.CountExtractor, stages), nil
}

// selectorMatchers returns the Prometheus matchers of a selector.
func selectorMatchers(sel *syntax.LogSelector) ([]*labels.Matcher, error) {
	ms, err := sel.LabelMatchers()
	if err != nil {
		return nil, pipelineError(err)
	}
	return ms, nil
}

// NewPipeline builds the log pipeline of a log query's stages, for other readers of log lines
// (live tails, delete requests) that must filter exactly as queries do. Errors are
// *syntax.ParseError.
func NewPipeline(sel *syntax.LogSelector) (log.Pipeline, error) { return buildPipeline(sel) }

// NewLineFilter builds one line filter stage (op v1 or v2 ...) as a stand-alone Filterer.
func NewLineFilter(lf *syntax.LineFilter) (log.Filterer, error) { return buildLineFilter(lf) }
