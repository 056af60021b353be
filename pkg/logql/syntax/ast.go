package syntax

import (
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// Expr is any parsed LogQL expression: a *LogSelector for a log query, or a SampleExpr.
type Expr interface {
	// String prints the canonical form of the expression; it parses back to an equal tree.
	String() string
	isExpr()
}

// Matcher is one label matcher of a stream selector, kept as plain data so trees compare with
// ==; Matcher.Labels builds the Prometheus matcher.
type Matcher struct {
	Type  labels.MatchType
	Name  string
	Value string
}

// Labels returns the Prometheus form of m.
func (m Matcher) Labels() (*labels.Matcher, error) {
	return labels.NewMatcher(m.Type, m.Name, m.Value)
}

func (m Matcher) String() string {
	return m.Name + m.Type.String() + strconv.Quote(m.Value)
}

// LogSelector is a log query: a stream selector followed by its pipeline stages.
type LogSelector struct {
	Matchers []Matcher
	Stages   []Stage
}

func (*LogSelector) isExpr() {}

// SelectorString prints only the stream selector, e.g. {app="api", env="prod"}.
func (e *LogSelector) SelectorString() string {
	var sb strings.Builder
	sb.WriteByte('{')
	for i, m := range e.Matchers {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(m.String())
	}
	sb.WriteByte('}')
	return sb.String()
}

func (e *LogSelector) String() string {
	var sb strings.Builder
	sb.WriteString(e.SelectorString())
	for _, s := range e.Stages {
		sb.WriteByte(' ')
		sb.WriteString(s.String())
	}
	return sb.String()
}

// LabelMatchers returns the selector's matchers in Prometheus form.
func (e *LogSelector) LabelMatchers() ([]*labels.Matcher, error) {
	out := make([]*labels.Matcher, 0, len(e.Matchers))
	for _, m := range e.Matchers {
		lm, err := m.Labels()
		if err != nil {
			return nil, err
		}
		out = append(out, lm)
	}
	return out, nil
}

// LeadingLineFilters returns the line filters that come before any other stage: they see the
// raw line, so they can be pushed down to the store.
func (e *LogSelector) LeadingLineFilters() []*LineFilter {
	var out []*LineFilter
	for _, s := range e.Stages {
		lf, ok := s.(*LineFilter)
		if !ok {
			break
		}
		out = append(out, lf)
	}
	return out
}

// HasParser reports whether the pipeline extracts labels from the line (a parser stage).
func (e *LogSelector) HasParser() bool {
	for _, s := range e.Stages {
		switch s.(type) {
		case *JSONParser, *LogfmtParser, *RegexpParser, *PatternParser, *UnpackParser:
			return true
		}
	}
	return false
}

// SampleExpr is an expression that produces samples: a range or vector aggregation, a binary
// operation, a literal, vector() or label_replace().
type SampleExpr interface {
	Expr
	isSample()
}

// LogRange is a log selector over a time range: {app="x"} | json [5m] offset 1h. Unwrap, when
// set, turns each entry into the value of a label.
type LogRange struct {
	Left     *LogSelector
	Interval time.Duration
	Offset   time.Duration
	Unwrap   *Unwrap
}

func (e *LogRange) String() string {
	var sb strings.Builder
	sb.WriteString(e.Left.String())
	if e.Unwrap != nil {
		sb.WriteByte(' ')
		sb.WriteString(e.Unwrap.String())
	}
	sb.WriteString(" [")
	sb.WriteString(FormatDuration(e.Interval))
	sb.WriteByte(']')
	if e.Offset != 0 {
		sb.WriteString(" offset ")
		sb.WriteString(FormatDuration(e.Offset))
	}
	return sb.String()
}

// Unwrap conversions.
const (
	ConvNone            = ""
	ConvDuration        = "duration"
	ConvDurationSeconds = "duration_seconds"
	ConvBytes           = "bytes"
)

// Unwrap takes a sample's value from a label: | unwrap latency, | unwrap duration(took),
// optionally followed by label filters applied after the conversion (PostFilters).
type Unwrap struct {
	Label       string
	Conv        string
	PostFilters []LabelFilterer
}

func (u *Unwrap) String() string {
	var sb strings.Builder
	sb.WriteString(u.head())
	for _, f := range u.PostFilters {
		sb.WriteString(" | ")
		sb.WriteString(f.String())
	}
	return sb.String()
}

// head is the unwrap without its filters: | unwrap latency, | unwrap duration(took).
func (u *Unwrap) head() string {
	if u.Conv != ConvNone {
		return "| unwrap " + u.Conv + "(" + u.Label + ")"
	}
	return "| unwrap " + u.Label
}

// Grouping is a by (...) or without (...) clause.
type Grouping struct {
	Without bool
	Labels  []string
}

func (g *Grouping) String() string {
	kw := "by"
	if g.Without {
		kw = "without"
	}
	return " " + kw + " (" + strings.Join(g.Labels, ",") + ")"
}

// Range aggregation operations.
const (
	OpRate          = "rate"
	OpRateCounter   = "rate_counter"
	OpCountOverTime = "count_over_time"
	OpBytesRate     = "bytes_rate"
	OpBytesOverTime = "bytes_over_time"
	OpAbsentOver    = "absent_over_time"
	OpSumOverTime   = "sum_over_time"
	OpAvgOverTime   = "avg_over_time"
	OpMinOverTime   = "min_over_time"
	OpMaxOverTime   = "max_over_time"
	OpFirstOverTime = "first_over_time"
	OpLastOverTime  = "last_over_time"
	OpStdvarOver    = "stdvar_over_time"
	OpStddevOver    = "stddev_over_time"
	OpQuantileOver  = "quantile_over_time"
)

// RangeAggregation is a range aggregation such as rate({app="x"}[1m]) or
// quantile_over_time(0.99, {app="x"} | unwrap latency [5m]) by (path).
type RangeAggregation struct {
	Op       string
	Left     *LogRange
	Param    *float64 // quantile_over_time's φ
	Grouping *Grouping
}

func (*RangeAggregation) isExpr()   {}
func (*RangeAggregation) isSample() {}

func (e *RangeAggregation) String() string {
	var sb strings.Builder
	sb.WriteString(e.Op)
	sb.WriteByte('(')
	if e.Param != nil {
		sb.WriteString(formatFloat(*e.Param))
		sb.WriteByte(',')
	}
	sb.WriteString(e.Left.String())
	sb.WriteByte(')')
	if e.Grouping != nil {
		sb.WriteString(e.Grouping.String())
	}
	return sb.String()
}

// Vector aggregation operations.
const (
	OpSum        = "sum"
	OpAvg        = "avg"
	OpMin        = "min"
	OpMax        = "max"
	OpCount      = "count"
	OpStddev     = "stddev"
	OpStdvar     = "stdvar"
	OpTopK       = "topk"
	OpBottomK    = "bottomk"
	OpSort       = "sort"
	OpSortDesc   = "sort_desc"
	OpApproxTopK = "approx_topk"
)

// VectorAggregation aggregates the series of its operand: sum by (app) (...), topk(5, ...).
type VectorAggregation struct {
	Op       string
	Left     SampleExpr
	Param    int // k of topk, bottomk, approx_topk
	Grouping *Grouping
}

func (*VectorAggregation) isExpr()   {}
func (*VectorAggregation) isSample() {}

func (e *VectorAggregation) String() string {
	var sb strings.Builder
	sb.WriteString(e.Op)
	if e.Grouping != nil {
		sb.WriteString(e.Grouping.String())
	}
	sb.WriteByte('(')
	if e.Op == OpTopK || e.Op == OpBottomK || e.Op == OpApproxTopK {
		sb.WriteString(strconv.Itoa(e.Param))
		sb.WriteByte(',')
	}
	sb.WriteString(e.Left.String())
	sb.WriteByte(')')
	return sb.String()
}

// VectorMatching is the on/ignoring and group_left/group_right part of a binary operation.
type VectorMatching struct {
	On      bool // on (...) rather than ignoring (...)
	Labels  []string
	Card    string // "", "group_left" or "group_right"
	Include []string
}

// BinOp is a binary operation between two sample expressions.
type BinOp struct {
	Op         string // + - * / % ^ == != > >= < <= and or unless
	Left       SampleExpr
	Right      SampleExpr
	ReturnBool bool
	Matching   *VectorMatching
}

func (*BinOp) isExpr()   {}
func (*BinOp) isSample() {}

func (e *BinOp) String() string {
	var sb strings.Builder
	sb.WriteByte('(')
	sb.WriteString(e.Left.String())
	sb.WriteByte(' ')
	sb.WriteString(e.Op)
	if e.ReturnBool {
		sb.WriteString(" bool")
	}
	if m := e.Matching; m != nil {
		if m.On {
			sb.WriteString(" on (")
		} else {
			sb.WriteString(" ignoring (")
		}
		sb.WriteString(strings.Join(m.Labels, ","))
		sb.WriteByte(')')
		if m.Card != "" {
			sb.WriteByte(' ')
			sb.WriteString(m.Card)
			sb.WriteString(" (")
			sb.WriteString(strings.Join(m.Include, ","))
			sb.WriteByte(')')
		}
	}
	sb.WriteByte(' ')
	sb.WriteString(e.Right.String())
	sb.WriteByte(')')
	return sb.String()
}

// IsComparison reports whether op is one of == != > >= < <=.
func IsComparison(op string) bool {
	switch op {
	case "==", "!=", ">", ">=", "<", "<=":
		return true
	}
	return false
}

// IsSetOp reports whether op is and, or or unless.
func IsSetOp(op string) bool { return op == "and" || op == "or" || op == "unless" }

// Literal is a scalar number.
type Literal struct {
	Value float64
}

func (*Literal) isExpr()          {}
func (*Literal) isSample()        {}
func (e *Literal) String() string { return formatFloat(e.Value) }

// VectorExpr is vector(v): one series without labels whose value is v at every step.
type VectorExpr struct {
	Value float64
}

func (*VectorExpr) isExpr()          {}
func (*VectorExpr) isSample()        {}
func (e *VectorExpr) String() string { return "vector(" + formatFloat(e.Value) + ")" }

// LabelReplace is label_replace(v, dst, replacement, src, regex), as in PromQL.
type LabelReplace struct {
	Left        SampleExpr
	Dst         string
	Replacement string
	Src         string
	Regex       string
}

func (*LabelReplace) isExpr()   {}
func (*LabelReplace) isSample() {}

func (e *LabelReplace) String() string {
	return "label_replace(" + e.Left.String() + "," + strconv.Quote(e.Dst) + "," +
		strconv.Quote(e.Replacement) + "," + strconv.Quote(e.Src) + "," + strconv.Quote(e.Regex) + ")"
}
