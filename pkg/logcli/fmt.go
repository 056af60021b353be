package logcli

import (
	"fmt"

	"github.com/sluicelog/sluice/pkg/logql/syntax"
)

// FormatQuery parses a LogQL query and returns it formatted (the fmt command), as the server's
// /format_query does: on one line when it fits in 100 characters, else broken over indented
// lines (syntax.Pretty). It needs no server.
func FormatQuery(query string) (string, error) {
	e, err := syntax.ParseExpr(query)
	if err != nil {
		return "", fmt.Errorf("parse query: %w", err)
	}
	return syntax.Pretty(e), nil
}
