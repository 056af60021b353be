// Package syntax turns LogQL text into an abstract syntax tree and back.
//
// Parse reads a whole query: a log query (a stream selector followed by a pipeline of line
// filters, parsers, label filters and formatters) or a metric query (range aggregations over log
// ranges, vector aggregations, binary operations, literals, vector() and label_replace()).
// ParseLogSelector and ParseSampleExpr restrict the result to one of the two kinds.
//
// Every node's String method prints a canonical form, on one line, that parses back to an equal
// tree. Pretty breaks a long one over indented lines as Loki's formatter does; it backs
// /loki/api/v1/format_query and logcli fmt. Parse errors are *ParseError values whose text follows Loki's
// wording ("parse error at line 1, col 5: syntax error: unexpected ...").
//
// The lexer (lex.go) is hand written; the parser (parse*.go) is recursive descent for the
// pipeline and precedence climbing for binary operators, with PromQL's precedence:
// or < and, unless < comparisons < + - < * / % < ^ (right associative).
package syntax
