// Package logql runs LogQL queries: Engine.Query parses a query (package syntax), reads
// entries from a Querier and evaluates them with the pipeline stages of package log.
//
// Log queries select entries with Start <= ts < End, pushing the leading line filters down to
// the Querier, run the pipeline per entry and return Streams keyed by each entry's final label
// set, at most Params.Limit entries in the query's direction.
//
// Metric queries are evaluated step by step (one step for an instant query). Each range
// aggregation reads its entries once, forward, over the whole query range and keeps only the
// samples that an open window (t-range, t] still covers, so memory is bounded by the windows
// and the result, not by the data scanned. Vector aggregations, binary operations (PromQL
// matching, precedence and bool), label_replace and vector() work on the per-step vectors.
// A sum over count_over_time, rate, bytes_* or sum_over_time is grouped while reading, so
// parsers that add per-line labels do not multiply the windows kept (Loki does the same), and
// a range aggregation that appears several times in one query is read and computed once.
//
// Result types and units: Streams (entry timestamps in Unix ns), Matrix, Vector and Scalar
// (sample timestamps in Unix ms, as Prometheus and Loki's JSON use). Errors that are the
// query's fault are *syntax.ParseError, *PipelineError, *SeriesLimitError or wrap
// ErrBadParams; the API answers them with 400.
package logql
