package syntax

import (
	"github.com/prometheus/prometheus/model/labels"
)

// ParseLabels parses a label set in selector syntax, {a="b", c="d"}, as streams are pushed.
// Every matcher must be an equality; the result is sorted.
func ParseLabels(s string) (labels.Labels, error) {
	toks, err := lex(s)
	if err != nil {
		return labels.EmptyLabels(), err
	}
	p := &parser{toks: toks}
	if _, err := p.expect(tLBrace); err != nil {
		return labels.EmptyLabels(), err
	}
	b := labels.NewScratchBuilder(8)
	if p.peek().kind == tRBrace {
		p.next()
	} else {
		for {
			name, err := p.expectIdent()
			if err != nil {
				return labels.EmptyLabels(), err
			}
			if _, err := p.expect(tEq); err != nil {
				return labels.EmptyLabels(), err
			}
			v, err := p.expect(tString)
			if err != nil {
				return labels.EmptyLabels(), err
			}
			b.Add(name, v.text)
			t := p.next()
			if t.kind == tRBrace {
				break
			}
			if t.kind != tComma {
				return labels.EmptyLabels(), p.unexpected(t, ",", "}")
			}
		}
	}
	if t := p.peek(); t.kind != tEOF {
		return labels.EmptyLabels(), p.unexpected(t)
	}
	b.Sort()
	return b.Labels(), nil
}
