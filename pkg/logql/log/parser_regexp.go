package log

import (
	"fmt"
	"regexp"
)

// RegexpParser is `| regexp "re"`: each named capture group of the first match becomes a label.
// A line that does not match adds no label and is kept.
type RegexpParser struct {
	re    *regexp.Regexp
	names []string // by submatch index; "" for unnamed groups
	dup   labelNames
}

// NewRegexpParser returns the `| regexp` stage. The expression needs at least one named group,
// and group names must be valid label names.
func NewRegexpParser(re string) (*RegexpParser, error) {
	r, err := regexp.Compile(re)
	if err != nil {
		return nil, fmt.Errorf("regexp parser %q: %w", re, err)
	}
	p := &RegexpParser{re: r, names: r.SubexpNames()}
	named := 0
	seen := map[string]bool{}
	for _, n := range p.names {
		if n == "" {
			continue
		}
		if !isValidLabelName(n) {
			return nil, fmt.Errorf("regexp parser %q: invalid extracted label name %q", re, n)
		}
		if seen[n] {
			return nil, fmt.Errorf("regexp parser %q: duplicate extracted label name %q", re, n)
		}
		seen[n] = true
		named++
	}
	if named == 0 {
		return nil, fmt.Errorf("regexp parser %q: at least one named capture must be supplied", re)
	}
	return p, nil
}

func (p *RegexpParser) Process(_ int64, line []byte, lbs *LabelsBuilder) ([]byte, bool) {
	m := p.re.FindSubmatchIndex(line)
	for i := 1; 2*i+1 < len(m); i++ {
		name := p.names[i]
		if name == "" {
			continue
		}
		name = p.dup.forBuilder(name, lbs)
		if !lbs.wants(name) {
			continue
		}
		var v string
		if m[2*i] >= 0 {
			v = p.dup.value(line[m[2*i]:m[2*i+1]])
		}
		lbs.Set(ParsedLabel, name, v)
	}
	return line, true
}
