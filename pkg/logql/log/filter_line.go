package log

import (
	"bytes"
	"fmt"
	"regexp"
)

// Filterer is a line filter. Filter reports whether a line passes; it never allocates, never
// keeps line, and is safe for concurrent use, so f.Filter can be pushed down to storage as a
// func([]byte) bool.
type Filterer interface {
	Filter(line []byte) bool
	// ToStage wraps the filter as a pipeline Stage.
	ToStage() Stage
}

// NewFilter returns the line filter `op match` for op one of |= != |~ !~ |> !>.
//
// |= and != search for the literal with bytes.Index. |~ and !~ match anywhere in the line;
// regular expressions that are really literals (`foo`, `.*foo.*`, `(?i)foo`, `foo|bar`,
// `error|warn(ing)?`) run as substring searches instead of through the regexp engine.
func NewFilter(match string, mt LineMatchType) (Filterer, error) {
	switch mt {
	case LineMatchEqual:
		return newContainsFilter(match), nil
	case LineMatchNotEqual:
		return NewNotFilter(newContainsFilter(match)), nil
	case LineMatchRegexp, LineMatchNotRegexp:
		f, err := newRegexpFilter(match)
		if err != nil {
			return nil, err
		}
		if mt == LineMatchNotRegexp {
			return NewNotFilter(f), nil
		}
		return f, nil
	case LineMatchPattern, LineMatchNotPattern:
		f, err := newPatternFilter(match)
		if err != nil {
			return nil, err
		}
		if mt == LineMatchNotPattern {
			return NewNotFilter(f), nil
		}
		return f, nil
	}
	return nil, fmt.Errorf("line filter: unknown match type %d", mt)
}

// NewOrFilters returns the filter for `op "a" or "b" or ...`. For the positive operators
// (|= |~ |>) a line passes when any alternative matches; for the negative ones (!= !~ !>)
// when none does, as in Loki.
func NewOrFilters(mt LineMatchType, matches []string) (Filterer, error) {
	if len(matches) == 0 {
		return nil, fmt.Errorf("line filter: no values")
	}
	pos, neg := mt, false
	switch mt {
	case LineMatchNotEqual:
		pos, neg = LineMatchEqual, true
	case LineMatchNotRegexp:
		pos, neg = LineMatchRegexp, true
	case LineMatchNotPattern:
		pos, neg = LineMatchPattern, true
	}
	var f Filterer
	if pos == LineMatchEqual {
		f = newContainsAnyFilter(matches, false)
	} else {
		for _, m := range matches {
			g, err := NewFilter(m, pos)
			if err != nil {
				return nil, err
			}
			if f == nil {
				f = g
			} else {
				f = NewOrFilter(f, g)
			}
		}
	}
	if neg {
		return NewNotFilter(f), nil
	}
	return f, nil
}

// TrueFilter lets every line pass.
var TrueFilter Filterer = trueFilter{}

type trueFilter struct{}

func (trueFilter) Filter([]byte) bool { return true }
func (f trueFilter) ToStage() Stage   { return filterStage{f} }

// filterStage runs a Filterer as a Stage.
type filterStage struct{ f Filterer }

func (s filterStage) Process(_ int64, line []byte, _ *LabelsBuilder) ([]byte, bool) {
	return line, s.f.Filter(line)
}

// NewNotFilter inverts f.
func NewNotFilter(f Filterer) Filterer {
	if n, ok := f.(notFilter); ok {
		return n.f
	}
	return notFilter{f}
}

type notFilter struct{ f Filterer }

func (n notFilter) Filter(line []byte) bool { return !n.f.Filter(line) }
func (n notFilter) ToStage() Stage          { return filterStage{n} }

// NewAndFilter passes lines that pass both filters; right is not run when left fails.
func NewAndFilter(left, right Filterer) Filterer {
	switch {
	case left == nil || left == TrueFilter:
		return right
	case right == nil || right == TrueFilter:
		return left
	}
	return andFilter{left, right}
}

type andFilter struct{ l, r Filterer }

func (a andFilter) Filter(line []byte) bool { return a.l.Filter(line) && a.r.Filter(line) }
func (a andFilter) ToStage() Stage          { return filterStage{a} }

// NewOrFilter passes lines that pass either filter.
func NewOrFilter(left, right Filterer) Filterer {
	switch {
	case left == nil:
		return right
	case right == nil:
		return left
	}
	return orFilter{left, right}
}

type orFilter struct{ l, r Filterer }

func (o orFilter) Filter(line []byte) bool { return o.l.Filter(line) || o.r.Filter(line) }
func (o orFilter) ToStage() Stage          { return filterStage{o} }

// ChainFilters returns the AND of fs, skipping nil ones; with none it is TrueFilter.
func ChainFilters(fs ...Filterer) Filterer {
	var out Filterer
	for _, f := range fs {
		if f != nil {
			out = NewAndFilter(out, f)
		}
	}
	if out == nil {
		return TrueFilter
	}
	return out
}

// containsFilter is |= "literal", optionally ignoring ASCII case.
type containsFilter struct {
	match []byte
	fold  bool // match is lower-case ASCII
}

func newContainsFilter(match string) Filterer {
	if match == "" {
		return TrueFilter
	}
	return containsFilter{match: []byte(match)}
}

func (c containsFilter) Filter(line []byte) bool {
	if c.fold {
		return indexFold(line, c.match) >= 0
	}
	return bytes.Contains(line, c.match)
}
func (c containsFilter) ToStage() Stage { return filterStage{c} }

// containsAnyFilter passes lines containing any of several literals.
type containsAnyFilter struct {
	matches [][]byte
	fold    bool
}

func newContainsAnyFilter(matches []string, fold bool) Filterer {
	f := containsAnyFilter{fold: fold}
	for _, m := range matches {
		if m == "" {
			return TrueFilter
		}
		if fold {
			m = asciiLower(m)
		}
		f.matches = append(f.matches, []byte(m))
	}
	if len(f.matches) == 1 {
		return containsFilter{match: f.matches[0], fold: fold}
	}
	return f
}

func (c containsAnyFilter) Filter(line []byte) bool {
	for _, m := range c.matches {
		if c.fold {
			if indexFold(line, m) >= 0 {
				return true
			}
		} else if bytes.Contains(line, m) {
			return true
		}
	}
	return false
}
func (c containsAnyFilter) ToStage() Stage { return filterStage{c} }

// regexpFilter is the general |~ filter.
type regexpFilter struct{ re *regexp.Regexp }

func (r regexpFilter) Filter(line []byte) bool { return r.re.Match(line) }
func (r regexpFilter) ToStage() Stage          { return filterStage{r} }

func newRegexpFilter(expr string) (Filterer, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("line filter %q: %w", expr, err)
	}
	if lits, fold, ok := simplifyRegexp(expr); ok {
		return newContainsAnyFilter(lits, fold), nil
	}
	return regexpFilter{re}, nil
}

// indexFold returns the index of lowerNeedle (lower-case ASCII) in s ignoring ASCII case, or -1.
func indexFold(s, lowerNeedle []byte) int {
	n := len(lowerNeedle)
	if n == 0 {
		return 0
	}
	first := lowerNeedle[0]
	upper := first
	if first >= 'a' && first <= 'z' {
		upper = first - 'a' + 'A'
	}
	for i := 0; i+n <= len(s); i++ {
		c := s[i]
		if c != first && c != upper {
			// Jump to the next candidate first byte.
			j := bytes.IndexByte(s[i+1:], first)
			if upper != first {
				if k := bytes.IndexByte(s[i+1:], upper); k >= 0 && (j < 0 || k < j) {
					j = k
				}
			}
			if j < 0 {
				return -1
			}
			i += j // the loop adds 1
			continue
		}
		if equalFoldLower(s[i:i+n], lowerNeedle) {
			return i
		}
	}
	return -1
}

func equalFoldLower(s, lower []byte) bool {
	for i, c := range s {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
