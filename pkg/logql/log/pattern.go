package log

import (
	"bytes"
	"errors"
	"fmt"
)

// A pattern is Loki's `pattern` syntax: literal text with captures `<name>` and `<_>` (a
// capture whose value is thrown away). Literals are matched with bytes.Index, so a capture
// ends at the first occurrence of the literal that follows it.

var (
	errPatternNoCapture = errors.New("at least one capture is required")
	errPatternInvalid   = errors.New("invalid expression")
)

type patternNode struct {
	lit  []byte // literal text, when capture is false
	name string // capture name; "_" is unnamed
	cap  bool
}

type pattern struct {
	nodes []patternNode
	names []string // named captures in order
}

// parsePattern parses p. A parser pattern (forParser) needs at least one named capture.
func parsePattern(p string, forParser bool) (*pattern, error) {
	var out pattern
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			out.nodes = append(out.nodes, patternNode{lit: lit})
			lit = nil
		}
	}
	for i := 0; i < len(p); {
		if p[i] == '<' {
			if n := captureLen(p[i:]); n > 0 {
				flush()
				out.nodes = append(out.nodes, patternNode{name: p[i+1 : i+n-1], cap: true})
				i += n
				continue
			}
		}
		lit = append(lit, p[i])
		i++
	}
	flush()
	seen := map[string]bool{}
	for i, n := range out.nodes {
		if !n.cap {
			continue
		}
		if i > 0 && out.nodes[i-1].cap {
			return nil, fmt.Errorf("pattern %q: found consecutive capture '<%s>': %w", p, n.name, errPatternInvalid)
		}
		if n.name == "_" {
			continue
		}
		if seen[n.name] {
			return nil, fmt.Errorf("pattern %q: duplicate capture name (%s): %w", p, n.name, errPatternInvalid)
		}
		seen[n.name] = true
		out.names = append(out.names, n.name)
	}
	if forParser && len(out.names) == 0 {
		return nil, fmt.Errorf("pattern %q: %w", p, errPatternNoCapture)
	}
	return &out, nil
}

// captureLen returns the length of the capture `<ident>` at the start of s, or 0.
func captureLen(s string) int {
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '>':
			if i == 1 {
				return 0
			}
			return i + 1
		case c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
		case c >= '0' && c <= '9' && i > 1:
		default:
			return 0
		}
	}
	return 0
}

// match calls f for each named capture of in, in order, as Loki's pattern parser does: a
// leading literal must start the line; when a literal after a capture is missing, that capture
// takes the rest of the line and matching stops. It returns false when in does not match at all.
func (p *pattern) match(in []byte, f func(name string, value []byte)) bool {
	nodes := p.nodes
	if len(in) == 0 || len(nodes) == 0 {
		return false
	}
	if !nodes[0].cap {
		if !bytes.HasPrefix(in, nodes[0].lit) {
			return false
		}
		in = in[len(nodes[0].lit):]
		nodes = nodes[1:]
	}
	if len(nodes) == 0 {
		return false
	}
	for len(nodes) > 0 {
		c := nodes[0]
		if len(nodes) == 1 { // ends on a capture: it takes the rest
			if c.name != "_" {
				f(c.name, in)
			}
			return true
		}
		lit := nodes[1].lit
		nodes = nodes[2:]
		i := bytes.Index(in, lit)
		if i < 0 {
			if c.name != "_" {
				f(c.name, in)
			}
			return true
		}
		if c.name != "_" {
			f(c.name, in[:i])
		}
		in = in[i+len(lit):]
	}
	return true
}

// test reports whether the whole of in matches the pattern, every capture taking at least one
// byte: "foo bar baz" matches "<_> baz" and "foo <_>" but not "<_> bar".
func (p *pattern) test(in []byte) bool {
	nodes := p.nodes
	if len(nodes) == 0 || len(in) == 0 {
		return len(nodes) == 0 && len(in) == 0
	}
	off := 0
	for i, n := range nodes {
		if n.cap {
			continue
		}
		j := bytes.Index(in[off:], n.lit)
		if j < 0 {
			return false
		}
		if i == 0 && j != 0 {
			return false // a leading literal starts the line
		}
		if i > 0 && j == 0 {
			return false // the capture before this literal would be empty
		}
		off += j + len(n.lit)
	}
	if nodes[len(nodes)-1].cap {
		return off < len(in)
	}
	return off == len(in)
}

// patternFilter is the |> line filter.
type patternFilter struct{ p *pattern }

func newPatternFilter(p string) (Filterer, error) {
	pt, err := parsePattern(p, false)
	if err != nil {
		return nil, fmt.Errorf("line filter: %w", err)
	}
	return patternFilter{pt}, nil
}

func (f patternFilter) Filter(line []byte) bool { return f.p.test(line) }
func (f patternFilter) ToStage() Stage          { return filterStage{f} }
