package pattern

import (
	"strings"
	"unicode/utf8"

	"github.com/sluicelog/sluice/pkg/logfmt"
	"github.com/sluicelog/sluice/pkg/unsafestr"
)

// logfmtTokens appends a logfmt line's pairs to dst as alternating key and value tokens, the
// way Loki's pattern ingester reads them: a key without '=' has an empty value, quoted values
// are unquoted, and the values of timestamp and trace ID keys (see variableKey) are Wildcard.
// ok is false when the line does not decode (a '"' or '=' inside a key or an unquoted value,
// an unterminated quote, a bad escape, an invalid key) or has more than maxTokens tokens;
// Loki skips such lines.
//
// Values with escapes are unquoted into *scratch, which the caller resets for each line; the
// returned tokens alias line and *scratch and are valid until then.
func logfmtTokens(dst []token, sc *logfmt.Scanner, scratch *[]byte, line string, maxTokens int) (_ []token, ok bool) {
	sc.Reset(unsafestr.Bytes(line))
	for sc.Next() {
		key := unsafestr.String(sc.Key())
		value := unsafestr.String(sc.Value())
		if sc.Unescaped() {
			// The scanner reuses its buffer for the next pair: keep the value in *scratch.
			from := len(*scratch)
			*scratch = append(*scratch, sc.Value()...)
			value = unsafestr.String((*scratch)[from:])
		}
		if variableKey(key, isASCII(key)) {
			value = Wildcard
		}
		if len(dst)+2 > maxTokens {
			return dst, false
		}
		dst = append(dst, token{text: key}, token{text: value})
	}
	return dst, !sc.Failed()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// variableKey reports the keys whose values Loki always replaces with a wildcard: ts, time,
// timestamp and traceID in any case (Unicode folding, so "tſ" counts), and t. ascii says the
// key is all ASCII, whose lengths then tell which word to compare.
func variableKey(k string, ascii bool) bool {
	if k == "t" {
		return true
	}
	if ascii {
		switch len(k) {
		case 2:
			return strings.EqualFold(k, "ts")
		case 4:
			return strings.EqualFold(k, "time")
		case 7:
			return strings.EqualFold(k, "traceID")
		case 9:
			return strings.EqualFold(k, "timestamp")
		}
		return false
	}
	return strings.EqualFold(k, "ts") || strings.EqualFold(k, "time") || strings.EqualFold(k, "timestamp") || strings.EqualFold(k, "traceID")
}
