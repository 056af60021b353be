package syntax

import (
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// Stage is one step of a log pipeline.
type Stage interface {
	// String prints the stage as it appears after the selector, e.g. `|= "error"` or `| json`.
	String() string
	isStage()
}

// LineFilterOp is the operator of a line filter.
type LineFilterOp string

// Line filter operators.
const (
	LineContains       LineFilterOp = "|="
	LineNotContains    LineFilterOp = "!="
	LineMatch          LineFilterOp = "|~"
	LineNotMatch       LineFilterOp = "!~"
	LinePattern        LineFilterOp = "|>"
	LineNotPattern     LineFilterOp = "!>"
	lineFilterOrJoiner              = " or "
)

// LineFilterValue is one operand of a line filter: a string, or an ip("...") pattern.
type LineFilterValue struct {
	Value string
	IP    bool
}

func (v LineFilterValue) String() string {
	if v.IP {
		return "ip(" + strconv.Quote(v.Value) + ")"
	}
	return strconv.Quote(v.Value)
}

// LineFilter keeps or drops whole lines: |= "a", != "b" or "c", |~ "re", |> "<_> pattern".
// With several Values the filter is `op v1 or v2 ...`: for the positive operators a line passes
// if it matches any value; for the negative ones it passes if it matches none.
type LineFilter struct {
	Op     LineFilterOp
	Values []LineFilterValue
}

func (*LineFilter) isStage() {}

func (f *LineFilter) String() string {
	var sb strings.Builder
	sb.WriteString(string(f.Op))
	sb.WriteByte(' ')
	for i, v := range f.Values {
		if i > 0 {
			sb.WriteString(lineFilterOrJoiner)
		}
		sb.WriteString(v.String())
	}
	return sb.String()
}

// LabelExtraction is one parameter of json or logfmt: `name="expression"`, or a bare `name`
// (Expr empty) meaning the key of the same name.
type LabelExtraction struct {
	Name string
	Expr string
}

func extractionsString(ps []LabelExtraction) string {
	var sb strings.Builder
	for i, p := range ps {
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteByte(' ')
		sb.WriteString(p.Name)
		if p.Expr != "" {
			sb.WriteByte('=')
			sb.WriteString(strconv.Quote(p.Expr))
		}
	}
	return sb.String()
}

// JSONParser is | json, optionally with extraction parameters.
type JSONParser struct {
	Params []LabelExtraction
}

func (*JSONParser) isStage()         {}
func (p *JSONParser) String() string { return "| json" + extractionsString(p.Params) }

// LogfmtParser is | logfmt [--strict] [--keep-empty] [params].
type LogfmtParser struct {
	Strict    bool
	KeepEmpty bool
	Params    []LabelExtraction
}

func (*LogfmtParser) isStage() {}

func (p *LogfmtParser) String() string {
	s := "| logfmt"
	if p.Strict {
		s += " --strict"
	}
	if p.KeepEmpty {
		s += " --keep-empty"
	}
	return s + extractionsString(p.Params)
}

// RegexpParser is | regexp "<re with named groups>".
type RegexpParser struct{ Regex string }

func (*RegexpParser) isStage()         {}
func (p *RegexpParser) String() string { return "| regexp " + strconv.Quote(p.Regex) }

// PatternParser is | pattern "<_> <name> ...".
type PatternParser struct{ Pattern string }

func (*PatternParser) isStage()         {}
func (p *PatternParser) String() string { return "| pattern " + strconv.Quote(p.Pattern) }

// UnpackParser is | unpack.
type UnpackParser struct{}

func (*UnpackParser) isStage()       {}
func (*UnpackParser) String() string { return "| unpack" }

// LineFormat is | line_format "<template>".
type LineFormat struct{ Template string }

func (*LineFormat) isStage()         {}
func (f *LineFormat) String() string { return "| line_format " + strconv.Quote(f.Template) }

// LabelFormatItem is one assignment of label_format: dst=src renames a label, dst="tmpl" sets
// dst to a rendered template.
type LabelFormatItem struct {
	Dst      string
	Value    string // the source label name, or the template
	Template bool
}

// LabelFormat is | label_format a=b, c="{{.x}}".
type LabelFormat struct{ Items []LabelFormatItem }

func (*LabelFormat) isStage() {}

func (f *LabelFormat) String() string {
	var sb strings.Builder
	sb.WriteString("| label_format ")
	for i, it := range f.Items {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(it.Dst)
		sb.WriteByte('=')
		if it.Template {
			sb.WriteString(strconv.Quote(it.Value))
		} else {
			sb.WriteString(it.Value)
		}
	}
	return sb.String()
}

// Decolorize is | decolorize: it strips ANSI colour codes from the line.
type Decolorize struct{}

func (*Decolorize) isStage()       {}
func (*Decolorize) String() string { return "| decolorize" }

// NamedMatcher is an operand of drop and keep: a bare label name (Matcher nil) or a matcher.
type NamedMatcher struct {
	Name    string
	Matcher *Matcher
}

func namedMatchersString(kw string, ms []NamedMatcher) string {
	var sb strings.Builder
	sb.WriteString("| ")
	sb.WriteString(kw)
	sb.WriteByte(' ')
	for i, m := range ms {
		if i > 0 {
			sb.WriteByte(',')
		}
		if m.Matcher != nil {
			sb.WriteString(m.Matcher.String())
		} else {
			sb.WriteString(m.Name)
		}
	}
	return sb.String()
}

// DropLabels is | drop a, b="x": it removes labels (those matching, for matchers).
type DropLabels struct{ Labels []NamedMatcher }

func (*DropLabels) isStage()         {}
func (d *DropLabels) String() string { return namedMatchersString("drop", d.Labels) }

// KeepLabels is | keep a, b="x": it removes every label but these.
type KeepLabels struct{ Labels []NamedMatcher }

func (*KeepLabels) isStage()         {}
func (k *KeepLabels) String() string { return namedMatchersString("keep", k.Labels) }

// Distinct is | distinct a, b: only the first entry for each combination of values passes.
type Distinct struct{ Labels []string }

func (*Distinct) isStage()         {}
func (d *Distinct) String() string { return "| distinct " + strings.Join(d.Labels, ",") }

// LabelFilter is a stage | <label filter expression>.
type LabelFilter struct{ Filter LabelFilterer }

func (*LabelFilter) isStage()         {}
func (f *LabelFilter) String() string { return "| " + f.Filter.String() }

// FilterOp is a comparison in a label filter.
type FilterOp string

// Label filter comparisons. OpEqual is written = for strings and == for numbers.
const (
	OpEqual        FilterOp = "="
	OpNotEqual     FilterOp = "!="
	OpRegexMatch   FilterOp = "=~"
	OpRegexNoMatch FilterOp = "!~"
	OpGreater      FilterOp = ">"
	OpGreaterEq    FilterOp = ">="
	OpLess         FilterOp = "<"
	OpLessEq       FilterOp = "<="
)

func (o FilterOp) numeric() string {
	if o == OpEqual {
		return "=="
	}
	return string(o)
}

// LabelFilterer is a label filter expression: a comparison or an and/or of two.
type LabelFilterer interface {
	String() string
	isLabelFilter()
}

// StringLabelFilter compares a label with a string: level="error", path=~"/api/.*".
type StringLabelFilter struct{ Matcher Matcher }

func (*StringLabelFilter) isLabelFilter()   {}
func (f *StringLabelFilter) String() string { return f.Matcher.String() }

// NumericLabelFilter compares a label, read as a number, with a number: status >= 400.
type NumericLabelFilter struct {
	Name  string
	Op    FilterOp
	Value float64
}

func (*NumericLabelFilter) isLabelFilter() {}
func (f *NumericLabelFilter) String() string {
	return f.Name + f.Op.numeric() + formatFloat(f.Value)
}

// DurationLabelFilter compares a label, read as a duration, with a duration: took > 1s.
type DurationLabelFilter struct {
	Name  string
	Op    FilterOp
	Value time.Duration
}

func (*DurationLabelFilter) isLabelFilter() {}
func (f *DurationLabelFilter) String() string {
	return f.Name + f.Op.numeric() + FormatDuration(f.Value)
}

// BytesLabelFilter compares a label, read as a byte size, with a byte size: size > 10KB.
type BytesLabelFilter struct {
	Name  string
	Op    FilterOp
	Value uint64
}

func (*BytesLabelFilter) isLabelFilter() {}
func (f *BytesLabelFilter) String() string {
	return f.Name + f.Op.numeric() + strconv.FormatUint(f.Value, 10) + "B"
}

// IPLabelFilter matches a label holding an IP address against ip("<addr, range or CIDR>").
type IPLabelFilter struct {
	Name    string
	Op      FilterOp // OpEqual or OpNotEqual
	Pattern string
}

func (*IPLabelFilter) isLabelFilter() {}
func (f *IPLabelFilter) String() string {
	return f.Name + string(f.Op) + "ip(" + strconv.Quote(f.Pattern) + ")"
}

// BinaryLabelFilter is `a and b` (also written `a, b` or `a b`) or `a or b`.
type BinaryLabelFilter struct {
	Left, Right LabelFilterer
	And         bool
}

func (*BinaryLabelFilter) isLabelFilter() {}
func (f *BinaryLabelFilter) String() string {
	op := " , "
	if !f.And {
		op = " or "
	}
	return "( " + f.Left.String() + op + f.Right.String() + " )"
}

// StringMatcher builds the Prometheus matcher of a string label filter.
func (f *StringLabelFilter) StringMatcher() (*labels.Matcher, error) { return f.Matcher.Labels() }
