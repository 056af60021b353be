// Package log implements the log pipeline of LogQL, the part of a query after the stream
// selector: line filters (|= != |~ !~ |> !> and ip()), parsers (json, logfmt, regexp, pattern,
// unpack), label filters, line_format and label_format, decolorize, drop, keep and distinct,
// and the sample extractors behind metric queries (count, bytes, unwrap).
//
// The engine builds one Stage per pipeline step with the constructors listed in pipeline.go and
// joins them with NewPipeline. For each stream it asks ForStream for a StreamPipeline, then
// calls Process for every entry: the line goes in with the entry's structured metadata, and
// out come the (possibly rewritten) line, the entry's labels as a LabelsResult, and whether
// the entry is kept. Stages share one LabelsBuilder per stream, which records changes on top of
// the stream's labels, so entries that no stage relabels cost no allocation and share the
// stream's LabelsResult.
//
// Behaviour follows Grafana Loki: parsed labels that clash with stream labels get the
// "_extracted" suffix, and failures are reported in the __error__ and __error_details__ labels
// (JSONParserErr, LogfmtParserErr, LabelFilterErr, TemplateFormatErr, SampleExtractionErr)
// instead of dropping entries.
package log
