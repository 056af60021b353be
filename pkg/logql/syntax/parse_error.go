package syntax

import "fmt"

// ParseError is a query that could not be parsed or is not valid LogQL. The API answers it
// with 400 Bad Request.
type ParseError struct {
	Line, Col int // 1-based position; 0 when the error is about the query as a whole
	Msg       string
}

// Error follows Loki's wording: "parse error at line 1, col 5: syntax error: unexpected ..."
// or, without a position, "parse error : <msg>".
func (e *ParseError) Error() string {
	if e.Line == 0 && e.Col == 0 {
		return "parse error : " + e.Msg
	}
	return fmt.Sprintf("parse error at line %d, col %d: %s", e.Line, e.Col, e.Msg)
}

// errNoNonEmptyMatcher is Loki's message for a selector every matcher of which matches "".
const errNoNonEmptyMatcher = `queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will`
