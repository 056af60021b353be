package tail

import (
	"fmt"

	"github.com/sluicelog/sluice/pkg/logql/log"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
)

// This file turns the stages of a parsed log query into a log.Pipeline. The LogQL engine has
// the same translation, unexported; a tail needs its own pipeline per subscriber anyway (a
// pipeline is not safe for concurrent use and `distinct` keeps state), so it builds one here.
// TODO(sluice#tail-pipeline): use an exported builder from pkg/logql once there is one.

// newPipeline returns the pipeline of sel's stages.
func newPipeline(sel *syntax.LogSelector) (log.Pipeline, error) {
	stages := make([]log.Stage, 0, len(sel.Stages))
	for _, s := range sel.Stages {
		st, err := stageOf(s)
		if err != nil {
			return nil, &syntax.ParseError{Msg: fmt.Sprintf("%s: %v", s, err)}
		}
		stages = append(stages, st)
	}
	return log.NewPipeline(stages), nil
}

var lineOps = map[syntax.LineFilterOp]log.LineMatchType{
	syntax.LineContains:    log.LineMatchEqual,
	syntax.LineNotContains: log.LineMatchNotEqual,
	syntax.LineMatch:       log.LineMatchRegexp,
	syntax.LineNotMatch:    log.LineMatchNotRegexp,
	syntax.LinePattern:     log.LineMatchPattern,
	syntax.LineNotPattern:  log.LineMatchNotPattern,
}

var compareOps = map[syntax.FilterOp]log.LabelFilterType{
	syntax.OpEqual:     log.LabelFilterEqual,
	syntax.OpNotEqual:  log.LabelFilterNotEqual,
	syntax.OpGreater:   log.LabelFilterGreaterThan,
	syntax.OpGreaterEq: log.LabelFilterGreaterThanOrEqual,
	syntax.OpLess:      log.LabelFilterLesserThan,
	syntax.OpLessEq:    log.LabelFilterLesserThanOrEqual,
}

// stageOf builds the log stage of one AST stage.
func stageOf(s syntax.Stage) (log.Stage, error) {
	switch s := s.(type) {
	case *syntax.LineFilter:
		f, err := lineFilter(s)
		if err != nil {
			return nil, err
		}
		return f.ToStage(), nil
	case *syntax.JSONParser:
		if len(s.Params) == 0 {
			return log.NewJSONParser(), nil
		}
		return log.NewJSONExpressionParser(extractionExprs(s.Params))
	case *syntax.LogfmtParser:
		if len(s.Params) == 0 {
			return log.NewLogfmtParser(s.Strict, s.KeepEmpty), nil
		}
		return log.NewLogfmtExpressionParser(extractionExprs(s.Params), s.Strict, s.KeepEmpty)
	case *syntax.RegexpParser:
		return log.NewRegexpParser(s.Regex)
	case *syntax.PatternParser:
		return log.NewPatternParser(s.Pattern)
	case *syntax.UnpackParser:
		return log.NewUnpackParser(), nil
	case *syntax.LabelFilter:
		return labelFilter(s.Filter)
	case *syntax.LineFormat:
		return log.NewLineFormatter(s.Template)
	case *syntax.LabelFormat:
		fmts := make([]log.LabelFmt, 0, len(s.Items))
		for _, it := range s.Items {
			if it.Template {
				fmts = append(fmts, log.NewTemplateLabelFmt(it.Dst, it.Value))
			} else {
				fmts = append(fmts, log.NewRenameLabelFmt(it.Dst, it.Value))
			}
		}
		return log.NewLabelsFormatter(fmts)
	case *syntax.Decolorize:
		return log.NewDecolorizer(), nil
	case *syntax.DropLabels:
		ms, err := nameMatchers(s.Labels)
		if err != nil {
			return nil, err
		}
		return log.NewDropLabels(ms), nil
	case *syntax.KeepLabels:
		ms, err := nameMatchers(s.Labels)
		if err != nil {
			return nil, err
		}
		return log.NewKeepLabels(ms), nil
	case *syntax.Distinct:
		return log.NewDistinctFilter(s.Labels), nil
	}
	return nil, fmt.Errorf("unsupported stage %T", s)
}

// lineFilter builds `op "a" or "b" or ip("..")`: the plain strings become one filter, each
// ip() its own, joined with or (and, for !=, where no alternative may match).
func lineFilter(lf *syntax.LineFilter) (log.Filterer, error) {
	mt, ok := lineOps[lf.Op]
	if !ok {
		return nil, fmt.Errorf("unknown line filter operator %q", lf.Op)
	}
	var plain []string
	var f log.Filterer
	join := log.NewOrFilter
	if mt == log.LineMatchNotEqual {
		join = log.NewAndFilter
	}
	for _, v := range lf.Values {
		if !v.IP {
			plain = append(plain, v.Value)
			continue
		}
		ipf, err := log.NewIPFilter(v.Value, mt)
		if err != nil {
			return nil, err
		}
		f = join(f, ipf)
	}
	var pf log.Filterer
	var err error
	switch len(plain) {
	case 0:
		return f, nil
	case 1:
		pf, err = log.NewFilter(plain[0], mt)
	default:
		pf, err = log.NewOrFilters(mt, plain)
	}
	if err != nil {
		return nil, err
	}
	if f == nil {
		return pf, nil
	}
	return join(pf, f), nil
}

// labelFilter builds a label filter expression.
func labelFilter(f syntax.LabelFilterer) (log.LabelFilterer, error) {
	switch f := f.(type) {
	case *syntax.StringLabelFilter:
		m, err := f.Matcher.Labels()
		if err != nil {
			return nil, err
		}
		return log.NewStringLabelFilter(m), nil
	case *syntax.NumericLabelFilter:
		return log.NewNumericLabelFilter(compareOps[f.Op], f.Name, f.Value), nil
	case *syntax.DurationLabelFilter:
		return log.NewDurationLabelFilter(compareOps[f.Op], f.Name, f.Value), nil
	case *syntax.BytesLabelFilter:
		return log.NewBytesLabelFilter(compareOps[f.Op], f.Name, f.Value), nil
	case *syntax.IPLabelFilter:
		return log.NewIPLabelFilter(f.Pattern, f.Name, compareOps[f.Op])
	case *syntax.BinaryLabelFilter:
		left, err := labelFilter(f.Left)
		if err != nil {
			return nil, err
		}
		right, err := labelFilter(f.Right)
		if err != nil {
			return nil, err
		}
		if f.And {
			return log.NewAndLabelFilter(left, right), nil
		}
		return log.NewOrLabelFilter(left, right), nil
	}
	return nil, fmt.Errorf("unsupported label filter %T", f)
}

func extractionExprs(ps []syntax.LabelExtraction) []log.LabelExtractionExpr {
	out := make([]log.LabelExtractionExpr, 0, len(ps))
	for _, p := range ps {
		out = append(out, log.LabelExtractionExpr{Identifier: p.Name, Expression: p.Expr})
	}
	return out
}

func nameMatchers(ms []syntax.NamedMatcher) ([]log.NamedLabelMatcher, error) {
	out := make([]log.NamedLabelMatcher, 0, len(ms))
	for _, m := range ms {
		nm := log.NamedLabelMatcher{Name: m.Name}
		if m.Matcher != nil {
			lm, err := m.Matcher.Labels()
			if err != nil {
				return nil, err
			}
			nm.Matcher = lm
		}
		out = append(out, nm)
	}
	return out, nil
}
