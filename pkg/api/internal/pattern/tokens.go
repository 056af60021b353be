package pattern

import "strings"

// Wildcard stands for a token that varies between the lines of a pattern.
const Wildcard = "<_>"

// token is one piece of a line. glued tokens follow the previous one without a space: a
// "key=value" word is split into "key=" and a glued "value", so a varying value becomes
// "key=<_>" while the key stays.
type token struct {
	text  string
	glued bool
}

// tokenize appends the tokens of line to dst (reusing its storage) and returns it. Token texts
// alias line. At most max tokens are produced; the rest of the line is one last token.
func tokenize(dst []token, line string, max int) []token {
	dst = dst[:0]
	for len(line) > 0 {
		i := 0
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		line = line[i:]
		if len(line) == 0 {
			break
		}
		if len(dst) >= max-1 {
			dst = append(dst, token{text: strings.TrimRight(line, " \t\r\n")})
			break
		}
		j := 0
		for j < len(line) && !isSpace(line[j]) {
			j++
		}
		word := line[:j]
		line = line[j:]
		if k := strings.IndexByte(word, '='); k > 0 && k < len(word)-1 {
			dst = append(dst, token{text: word[:k+1]}, token{text: word[k+1:], glued: true})
			continue
		}
		dst = append(dst, token{text: word})
	}
	return dst
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// hasDigit reports whether s holds a digit: such tokens are likely variable, so they do not
// pick a branch of the parse tree.
func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			return true
		}
	}
	return false
}

// render joins tokens back into a line.
func render(ts []token) string {
	var sb strings.Builder
	for i, t := range ts {
		if i > 0 && !t.glued {
			sb.WriteByte(' ')
		}
		sb.WriteString(t.text)
	}
	return sb.String()
}
