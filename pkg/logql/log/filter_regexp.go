package log

import (
	"regexp/syntax"
	"unicode/utf8"
)

// maxSimplifiedLiterals bounds how many literals a regexp may expand to before we keep the
// regexp engine: beyond a few dozen substring scans, one regexp pass is cheaper.
const maxSimplifiedLiterals = 32

// simplifyRegexp reports whether matching expr anywhere in a line is the same as finding any of
// lits in it (ignoring ASCII case when fold). It recognises literals, alternations and small
// character classes of literals, optional parts, and leading/trailing `.*`.
func simplifyRegexp(expr string) (lits []string, fold bool, ok bool) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, false, false
	}
	re = re.Simplify()
	// Unanchored matching makes leading and trailing `.*` irrelevant.
	if re.Op == syntax.OpConcat {
		subs := re.Sub
		for len(subs) > 0 && isDotStar(subs[0]) {
			subs = subs[1:]
		}
		for len(subs) > 0 && isDotStar(subs[len(subs)-1]) {
			subs = subs[:len(subs)-1]
		}
		switch len(subs) {
		case 0:
			return []string{""}, false, true
		case 1:
			re = subs[0]
		default:
			re = &syntax.Regexp{Op: syntax.OpConcat, Sub: subs, Flags: re.Flags}
		}
	} else if isDotStar(re) {
		return []string{""}, false, true
	}
	st := &litState{}
	lits, ok = st.expand(re)
	if !ok || st.foldSeen && st.plainSeen {
		return nil, false, false
	}
	if st.foldSeen {
		for _, l := range lits {
			for i := 0; i < len(l); i++ {
				if l[i] >= utf8.RuneSelf {
					return nil, false, false // only ASCII case folding is done by hand
				}
			}
		}
	}
	return lits, st.foldSeen, true
}

func isDotStar(re *syntax.Regexp) bool {
	return re.Op == syntax.OpStar && len(re.Sub) == 1 &&
		(re.Sub[0].Op == syntax.OpAnyChar || re.Sub[0].Op == syntax.OpAnyCharNotNL)
}

type litState struct{ foldSeen, plainSeen bool }

// expand returns every string re matches, when there are few.
func (st *litState) expand(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpEmptyMatch:
		return []string{""}, true
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			st.foldSeen = true
		} else {
			st.plainSeen = true
		}
		return []string{string(re.Rune)}, true
	case syntax.OpCapture:
		return st.expand(re.Sub[0])
	case syntax.OpCharClass:
		var out []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				out = append(out, string(r))
				if len(out) > 8 {
					return nil, false
				}
			}
		}
		st.plainSeen = true
		return out, len(out) > 0
	case syntax.OpQuest:
		sub, ok := st.expand(re.Sub[0])
		if !ok {
			return nil, false
		}
		return append([]string{""}, sub...), true
	case syntax.OpAlternate:
		var out []string
		for _, s := range re.Sub {
			sub, ok := st.expand(s)
			if !ok {
				return nil, false
			}
			out = append(out, sub...)
			if len(out) > maxSimplifiedLiterals {
				return nil, false
			}
		}
		return out, true
	case syntax.OpConcat:
		out := []string{""}
		for _, s := range re.Sub {
			sub, ok := st.expand(s)
			if !ok {
				return nil, false
			}
			next := make([]string, 0, len(out)*len(sub))
			for _, a := range out {
				for _, b := range sub {
					next = append(next, a+b)
				}
			}
			if len(next) > maxSimplifiedLiterals {
				return nil, false
			}
			out = next
		}
		return out, true
	}
	return nil, false
}
