package log

import "fmt"

// PatternParser is `| pattern "<ip> - <_> <status>"`: see pattern.go for the matching rules.
type PatternParser struct {
	p     *pattern
	lbs   *LabelsBuilder
	names labelNames
}

// NewPatternParser returns the `| pattern` stage. The pattern needs at least one named capture,
// and two captures may not follow each other without literal text between them.
func NewPatternParser(p string) (*PatternParser, error) {
	pt, err := parsePattern(p, true)
	if err != nil {
		return nil, err
	}
	for _, n := range pt.names {
		if !isValidLabelName(n) {
			return nil, fmt.Errorf("pattern %q: invalid capture name %q", p, n)
		}
	}
	return &PatternParser{p: pt}, nil
}

func (p *PatternParser) Process(_ int64, line []byte, lbs *LabelsBuilder) ([]byte, bool) {
	p.lbs = lbs
	p.p.match(line, p.set)
	p.lbs = nil
	return line, true
}

func (p *PatternParser) set(name string, value []byte) {
	if name = p.names.forBuilder(name, p.lbs); p.lbs.wants(name) {
		p.lbs.Set(ParsedLabel, name, p.names.value(value))
	}
}
