package log

import (
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/sluicelog/sluice/pkg/unsafestr"
)

// LabelFilterer is a label filter stage (`| level="error"`, `| status >= 500`, ...).
//
// As in Loki, numeric, duration, bytes and ip filters let entries that already carry an
// __error__ through untouched (only string filters, such as `__error__=""`, can drop them), drop
// entries without the label, and when the label's value cannot be converted keep the entry
// with __error__=LabelFilterErr and the conversion error in __error_details__.
type LabelFilterer interface {
	Stage
	fmt.Stringer
}

func (t LabelFilterType) String() string {
	switch t {
	case LabelFilterEqual:
		return "=="
	case LabelFilterNotEqual:
		return "!="
	case LabelFilterGreaterThan:
		return ">"
	case LabelFilterGreaterThanOrEqual:
		return ">="
	case LabelFilterLesserThan:
		return "<"
	case LabelFilterLesserThanOrEqual:
		return "<="
	}
	return "?"
}

func compare[T int64 | uint64 | float64](t LabelFilterType, a, b T) bool {
	switch t {
	case LabelFilterEqual:
		return a == b
	case LabelFilterNotEqual:
		return a != b
	case LabelFilterGreaterThan:
		return a > b
	case LabelFilterGreaterThanOrEqual:
		return a >= b
	case LabelFilterLesserThan:
		return a < b
	case LabelFilterLesserThanOrEqual:
		return a <= b
	}
	return false
}

// StringLabelFilter filters on a label matcher; a missing label has the value "".
type StringLabelFilter struct{ m *labels.Matcher }

// NewStringLabelFilter returns the filter `name op "value"` for op = != =~ !~.
func NewStringLabelFilter(m *labels.Matcher) LabelFilterer { return &StringLabelFilter{m} }

func (f *StringLabelFilter) Process(_ int64, line []byte, lbs *LabelsBuilder) ([]byte, bool) {
	v, _ := lbs.Get(f.m.Name)
	return line, f.m.Matches(v)
}

func (f *StringLabelFilter) String() string { return f.m.String() }

// NumericLabelFilter compares a label's value as a float.
type NumericLabelFilter struct {
	t     LabelFilterType
	name  string
	value float64
}

// NewNumericLabelFilter returns the filter `name op value`.
func NewNumericLabelFilter(t LabelFilterType, name string, v float64) LabelFilterer {
	return &NumericLabelFilter{t, name, v}
}

func (f *NumericLabelFilter) Process(_ int64, line []byte, lbs *LabelsBuilder) ([]byte, bool) {
	if lbs.HasErr() {
		return line, true
	}
	s, ok := lbs.Get(f.name)
	if !ok {
		return line, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		lbs.SetErr(ErrLabelFilter)
		lbs.SetErrorDetails(err.Error())
		return line, true
	}
	return line, compare(f.t, v, f.value)
}

func (f *NumericLabelFilter) String() string {
	return f.name + f.t.String() + strconv.FormatFloat(f.value, 'f', -1, 64)
}

// DurationLabelFilter compares a label's value as a Go duration ("1m30s").
type DurationLabelFilter struct {
	t     LabelFilterType
	name  string
	value time.Duration
}

// NewDurationLabelFilter returns the filter `name op duration`.
func NewDurationLabelFilter(t LabelFilterType, name string, d time.Duration) LabelFilterer {
	return &DurationLabelFilter{t, name, d}
}

func (f *DurationLabelFilter) Process(_ int64, line []byte, lbs *LabelsBuilder) ([]byte, bool) {
	if lbs.HasErr() {
		return line, true
	}
	s, ok := lbs.Get(f.name)
	if !ok {
		return line, false
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		lbs.SetErr(ErrLabelFilter)
		lbs.SetErrorDetails(err.Error())
		return line, true
	}
	return line, compare(f.t, int64(v), int64(f.value))
}

func (f *DurationLabelFilter) String() string { return f.name + f.t.String() + f.value.String() }

// BytesLabelFilter compares a label's value as a size ("20MB", "1KiB").
type BytesLabelFilter struct {
	t     LabelFilterType
	name  string
	value uint64
}

// NewBytesLabelFilter returns the filter `name op bytes`.
func NewBytesLabelFilter(t LabelFilterType, name string, b uint64) LabelFilterer {
	return &BytesLabelFilter{t, name, b}
}

func (f *BytesLabelFilter) Process(_ int64, line []byte, lbs *LabelsBuilder) ([]byte, bool) {
	if lbs.HasErr() {
		return line, true
	}
	s, ok := lbs.Get(f.name)
	if !ok {
		return line, false
	}
	v, err := ParseBytes(s)
	if err != nil {
		lbs.SetErr(ErrLabelFilter)
		lbs.SetErrorDetails(err.Error())
		return line, true
	}
	return line, compare(f.t, v, f.value)
}

func (f *BytesLabelFilter) String() string { return f.name + f.t.String() + formatBytes(f.value) }

// IPLabelFilter keeps entries whose label holds (=) or does not hold (!=) an address in range.
type IPLabelFilter struct {
	t       LabelFilterType
	name    string
	pattern string
	m       *ipMatcher
}

// NewIPLabelFilter returns the filter `name = ip("pattern")` (t LabelFilterEqual) or
// `name != ip("pattern")` (LabelFilterNotEqual).
func NewIPLabelFilter(pattern, name string, t LabelFilterType) (LabelFilterer, error) {
	if t != LabelFilterEqual && t != LabelFilterNotEqual {
		return nil, ErrIPFilterInvalidOperation
	}
	m, err := newIPMatcher(pattern)
	if err != nil {
		return nil, err
	}
	return &IPLabelFilter{t: t, name: name, pattern: pattern, m: m}, nil
}

func (f *IPLabelFilter) Process(_ int64, line []byte, lbs *LabelsBuilder) ([]byte, bool) {
	if lbs.HasErr() {
		return line, true
	}
	s, ok := lbs.Get(f.name)
	if !ok {
		return line, false
	}
	// As for lines, the value may hold the address among other text ("10.0.0.1:8080").
	in := f.m.matchLine(unsafestr.Bytes(s))
	if f.t == LabelFilterNotEqual {
		return line, !in
	}
	return line, in
}

func (f *IPLabelFilter) String() string {
	op := "="
	if f.t == LabelFilterNotEqual {
		op = "!="
	}
	return fmt.Sprintf("%s%sip(%q)", f.name, op, f.pattern)
}

// BinaryLabelFilter combines two label filters with and (`,`, ` `, `and`) or `or`.
type BinaryLabelFilter struct {
	left, right LabelFilterer
	and         bool
}

// NewAndLabelFilter keeps entries both filters keep. Both run, so either may set __error__.
func NewAndLabelFilter(left, right LabelFilterer) LabelFilterer {
	return &BinaryLabelFilter{left, right, true}
}

// NewOrLabelFilter keeps entries either filter keeps; right runs only when left drops.
func NewOrLabelFilter(left, right LabelFilterer) LabelFilterer {
	return &BinaryLabelFilter{left, right, false}
}

func (f *BinaryLabelFilter) Process(ts int64, line []byte, lbs *LabelsBuilder) ([]byte, bool) {
	line, lok := f.left.Process(ts, line, lbs)
	if !f.and && lok {
		return line, true
	}
	line, rok := f.right.Process(ts, line, lbs)
	if f.and {
		return line, lok && rok
	}
	return line, rok
}

func (f *BinaryLabelFilter) String() string {
	op := " , "
	if !f.and {
		op = " or "
	}
	return "( " + f.left.String() + op + f.right.String() + " )"
}
