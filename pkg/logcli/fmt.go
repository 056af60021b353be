package logcli

import (
	"fmt"

	"github.com/sluicelog/sluice/pkg/logql/syntax"
)

// FormatQuery parses a LogQL query and returns it in canonical form (the fmt command). It needs
// no server. Unlike Loki's logcli, which breaks long queries over several indented lines, the
// canonical form is one line.
func FormatQuery(query string) (string, error) {
	e, err := syntax.ParseExpr(query)
	if err != nil {
		return "", fmt.Errorf("parse query: %w", err)
	}
	return e.String(), nil
}
