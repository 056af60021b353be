package stages

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Selector is the subset of LogQL the match stage needs: a stream selector
// `{name="v", name!="v", name=~"re", name!~"re"}` followed by line filters
// (`|= "s"`, `!= "s"`, `|~ "re"`, `!~ "re"`).
type Selector struct {
	matchers []matcher
	filters  []matcher // name is unused
}

type matcher struct {
	name, op, value string
	re              *regexp.Regexp
}

func (m matcher) match(v string) bool {
	switch m.op {
	case "=", "|=":
		if m.op == "|=" {
			return strings.Contains(v, m.value)
		}
		return v == m.value
	case "!=":
		return v != m.value
	case "=~", "|~":
		return m.re.MatchString(v)
	case "!~":
		return !m.re.MatchString(v)
	}
	return false
}

// ParseSelector parses a selector with optional line filters.
func ParseSelector(s string) (*Selector, error) {
	p := &selParser{s: s}
	sel, err := p.parse()
	if err != nil {
		return nil, fmt.Errorf("parse selector %q: %w", s, err)
	}
	return sel, nil
}

type selParser struct {
	s string
	i int
}

func (p *selParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
}

func (p *selParser) str() (string, error) {
	p.space()
	if p.i >= len(p.s) {
		return "", fmt.Errorf("want a string at end")
	}
	q := p.s[p.i]
	if q != '"' && q != '`' {
		return "", fmt.Errorf("want a quoted string at %d", p.i)
	}
	j := p.i + 1
	for j < len(p.s) && p.s[j] != q {
		if q == '"' && p.s[j] == '\\' {
			j++
		}
		j++
	}
	if j >= len(p.s) {
		return "", fmt.Errorf("unterminated string at %d", p.i)
	}
	raw := p.s[p.i : j+1]
	p.i = j + 1
	if q == '`' {
		return raw[1 : len(raw)-1], nil
	}
	return strconv.Unquote(raw)
}

func (p *selParser) op(ops ...string) string {
	p.space()
	for _, o := range ops {
		if strings.HasPrefix(p.s[p.i:], o) {
			p.i += len(o)
			return o
		}
	}
	return ""
}

func (p *selParser) parse() (*Selector, error) {
	sel := &Selector{}
	p.space()
	if p.op("{") == "" {
		return nil, fmt.Errorf("want '{'")
	}
	for {
		p.space()
		if p.op("}") != "" {
			break
		}
		start := p.i
		for p.i < len(p.s) && (p.s[p.i] == '_' || p.s[p.i] >= 'a' && p.s[p.i] <= 'z' || p.s[p.i] >= 'A' && p.s[p.i] <= 'Z' || p.i > start && p.s[p.i] >= '0' && p.s[p.i] <= '9') {
			p.i++
		}
		name := p.s[start:p.i]
		if name == "" {
			return nil, fmt.Errorf("want a label name at %d", p.i)
		}
		op := p.op("=~", "!~", "!=", "=")
		if op == "" {
			return nil, fmt.Errorf("want a match operator after %s", name)
		}
		v, err := p.str()
		if err != nil {
			return nil, err
		}
		m := matcher{name: name, op: op, value: v}
		if op == "=~" || op == "!~" {
			re, err := regexp.Compile("^(?:" + v + ")$")
			if err != nil {
				return nil, err
			}
			m.re = re
		}
		sel.matchers = append(sel.matchers, m)
		p.space()
		if p.op(",") == "" {
			if p.op("}") == "" {
				return nil, fmt.Errorf("want ',' or '}' at %d", p.i)
			}
			break
		}
	}
	if len(sel.matchers) == 0 {
		return nil, fmt.Errorf("selector needs at least one matcher")
	}
	for {
		p.space()
		if p.i >= len(p.s) {
			return sel, nil
		}
		op := p.op("|=", "!=", "|~", "!~")
		if op == "" {
			return nil, fmt.Errorf("unsupported expression at %d (only line filters may follow the selector)", p.i)
		}
		v, err := p.str()
		if err != nil {
			return nil, err
		}
		m := matcher{op: op, value: v}
		if op == "|~" || op == "!~" {
			re, err := regexp.Compile(v)
			if err != nil {
				return nil, err
			}
			m.re = re
		} else if op == "!=" {
			m.op = "!contains"
		}
		sel.filters = append(sel.filters, m)
	}
}

// Matches reports whether an entry with labels get and line passes the selector.
func (s *Selector) Matches(get func(string) (string, bool), line string) bool {
	for _, m := range s.matchers {
		v, _ := get(m.name)
		if !m.match(v) {
			return false
		}
	}
	for _, f := range s.filters {
		if f.op == "!contains" {
			if strings.Contains(line, f.value) {
				return false
			}
			continue
		}
		if !f.match(line) {
			return false
		}
	}
	return true
}
