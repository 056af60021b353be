package log

import (
	"github.com/prometheus/prometheus/model/labels"
)

// This file is the package's contract with the LogQL engine; it stays stable.
//
// The engine turns the stages of a parsed query into Stage values with these constructors,
// in query order, and hands them to NewPipeline (or NewNoopPipeline when there are none):
//
//	Line filters (filter_line.go, filter_regexp.go, filter_ip.go, pattern.go); every Filterer's Filter
//	method is a stand-alone func([]byte) bool for store push-down, and ToStage makes a Stage:
//	    NewFilter(match string, mt LineMatchType) (Filterer, error)          // |= != |~ !~ |> !>
//	    NewOrFilters(mt LineMatchType, matches []string) (Filterer, error)  // |= "a" or "b"
//	    NewIPFilter(pattern string, mt LineMatchType) (Filterer, error)     // |= ip("10.0.0.0/8"), only |= and !=
//	    NewAndFilter(left, right Filterer) Filterer
//	    NewOrFilter(left, right Filterer) Filterer
//	    NewNotFilter(f Filterer) Filterer
//	    ChainFilters(fs ...Filterer) Filterer                               // nil-safe AND of many
//	Parsers (parser_*.go):
//	    NewJSONParser() *JSONParser                                                   // | json
//	    NewJSONExpressionParser(exprs []LabelExtractionExpr) (*JSONExpressionParser, error)
//	    NewLogfmtParser(strict, keepEmpty bool) *LogfmtParser                         // | logfmt
//	    NewLogfmtExpressionParser(exprs []LabelExtractionExpr, strict, keepEmpty bool) (*LogfmtExpressionParser, error)
//	    NewRegexpParser(re string) (*RegexpParser, error)                             // | regexp
//	    NewPatternParser(pattern string) (*PatternParser, error)                      // | pattern
//	    NewUnpackParser() *UnpackParser                                               // | unpack
//	Label filters (filter_label.go), all LabelFilterer:
//	    NewStringLabelFilter(m *labels.Matcher)
//	    NewNumericLabelFilter(t LabelFilterType, name string, v float64)
//	    NewDurationLabelFilter(t LabelFilterType, name string, d time.Duration)
//	    NewBytesLabelFilter(t LabelFilterType, name string, b uint64)
//	    NewIPLabelFilter(pattern, name string, t LabelFilterType) (LabelFilterer, error) // addr = ip("...")
//	    NewAndLabelFilter(left, right LabelFilterer), NewOrLabelFilter(left, right LabelFilterer)
//	Formatters (format_line.go, format_labels.go):
//	    NewLineFormatter(tmpl string) (*LineFormatter, error)                          // | line_format
//	    NewLabelsFormatter(fmts []LabelFmt) (*LabelsFormatter, error)                  // | label_format
//	    NewRenameLabelFmt(dst, src string) LabelFmt, NewTemplateLabelFmt(dst, tmpl string) LabelFmt
//	Others:
//	    NewDecolorizer() Stage                                                         // | decolorize
//	    NewDropLabels(ms []NamedLabelMatcher) Stage, NewKeepLabels(ms []NamedLabelMatcher) Stage
//	    NewDistinctFilter(names []string) Stage                                        // | distinct a,b
//	Sample extraction for metric queries (extract.go):
//	    NewLineSampleExtractor(ex LineExtractor, stages []Stage) SampleExtractor       // CountExtractor, BytesExtractor
//	    NewLabelSampleExtractor(name, conversion string, stages []Stage, postFilter Stage) (SampleExtractor, error) // unwrap
//	Value parsing shared with the query parser (units.go, sanitize.go):
//	    ParseBytes(s string) (uint64, error)                                           // "20MB", "1KiB"
//	    SanitizeLabelName(key string, isPrefix bool) string
//	Building blocks for tests and custom stages (labels_builder.go):
//	    NewLabelsBuilder(lbls labels.Labels) *LabelsBuilder

// Stage is one step of a log pipeline. Process may rewrite the line (returning a new slice),
// read and change labels through lbs, or drop the entry by returning keep=false.
// A stage owns no memory of the line after Process returns unless it documents so; the
// returned line stays valid until the next call to Process on the same pipeline.
type Stage interface {
	Process(ts int64, line []byte, lbs *LabelsBuilder) (out []byte, keep bool)
}

// Pipeline is a query's whole chain of stages. A Pipeline and its StreamPipelines are not safe
// for concurrent use (stages reuse buffers, distinct keeps state): build one per goroutine.
// Filterer.Filter, in contrast, is safe for concurrent use.
type Pipeline interface {
	// ForStream returns the pipeline for one stream. Calls with the same labels return the same
	// StreamPipeline, so a pipeline must not be used by two goroutines for the same stream.
	ForStream(lbls labels.Labels) StreamPipeline
}

// StreamPipeline runs a Pipeline's stages over the entries of one stream. It is not safe for
// concurrent use.
type StreamPipeline interface {
	// BaseLabels returns the stream's labels as a LabelsResult, before any stage ran.
	BaseLabels() LabelsResult
	// Process runs the stages over one entry. When keep is false the entry is filtered out and
	// out and result are nil. out may alias line or an internal buffer that the next call
	// overwrites; copy it to keep it. result is immutable and may be kept.
	Process(ts int64, line []byte, structuredMetadata labels.Labels) (out []byte, result LabelsResult, keep bool)
	// ProcessString is Process for a string line; the returned string is safe to keep.
	ProcessString(ts int64, line string, structuredMetadata labels.Labels) (out string, result LabelsResult, keep bool)
}

// LabelsResult is the label set of a processed entry. It is immutable; the pipeline returns the
// same value for every entry of a stream whose labels no stage changed.
type LabelsResult interface {
	// String is Labels in selector syntax: {a="b", c="d"}.
	String() string
	// Labels is the final label set: stream labels, structured metadata and parsed labels.
	Labels() labels.Labels
	// Stream is the part of Labels that are (kept) stream labels.
	Stream() labels.Labels
	// StructuredMetadata is the part of Labels that came from the entry's structured metadata.
	StructuredMetadata() labels.Labels
	// Parsed is the part of Labels added by parsers and formatters, including __error__ and
	// __error_details__.
	Parsed() labels.Labels
	// Hash is Labels().Hash(), computed once.
	Hash() uint64
}

// LabelCategory tells where a label came from.
type LabelCategory int

const (
	// StreamLabel is a label of the stream selector's stream.
	StreamLabel LabelCategory = iota
	// StructuredMetadataLabel came with the entry as structured metadata.
	StructuredMetadataLabel
	// ParsedLabel was added by a parser, label_format or an error.
	ParsedLabel
)

// Names and values of Loki's error labels.
const (
	// ErrorLabel holds the kind of error a stage met, e.g. JSONParserErr.
	ErrorLabel = "__error__"
	// ErrorDetailsLabel holds the error's message.
	ErrorDetailsLabel = "__error_details__"

	ErrJSON             = "JSONParserErr"
	ErrLogfmt           = "LogfmtParserErr"
	ErrLabelFilter      = "LabelFilterErr"
	ErrTemplateFormat   = "TemplateFormatErr"
	ErrSampleExtraction = "SampleExtractionErr"

	// DuplicateSuffix is appended to a parsed label's name when the stream already has a label
	// of that name.
	DuplicateSuffix = "_extracted"
)

// NewNoopPipeline returns the pipeline of a query without stages: every entry is kept unchanged
// with its stream labels (and structured metadata).
func NewNoopPipeline() Pipeline { return NewPipeline(nil) }

// LineMatchType is the operator of a line filter.
type LineMatchType int

const (
	LineMatchEqual      LineMatchType = iota // |=
	LineMatchNotEqual                        // !=
	LineMatchRegexp                          // |~
	LineMatchNotRegexp                       // !~
	LineMatchPattern                         // |>
	LineMatchNotPattern                      // !>
)

// LabelFilterType is the comparison of a numeric, duration, bytes or ip label filter.
type LabelFilterType int

const (
	LabelFilterEqual              LabelFilterType = iota // == (or = for ip)
	LabelFilterNotEqual                                  // !=
	LabelFilterGreaterThan                               // >
	LabelFilterGreaterThanOrEqual                        // >=
	LabelFilterLesserThan                                // <
	LabelFilterLesserThanOrEqual                         // <=
)

// LabelExtractionExpr is one parameter of json or logfmt: `name="expression"`. For json the
// expression is a path such as `a.b[0]` or `["a.b"]`; for logfmt it is a key.
// An empty Expression means the Identifier itself (`| json a` extracts field a).
type LabelExtractionExpr struct {
	Identifier string
	Expression string
}

// NamedLabelMatcher is one argument of drop or keep: a bare name (Matcher nil) or a matcher.
type NamedLabelMatcher struct {
	Name    string
	Matcher *labels.Matcher
}

// LabelFmt is one argument of label_format: dst=src when Rename, else dst="template".
type LabelFmt struct {
	Name   string
	Value  string
	Rename bool
}

// SampleExtractor turns log entries into samples for metric queries. Like Pipeline it is not
// safe for concurrent use.
type SampleExtractor interface {
	ForStream(lbls labels.Labels) StreamSampleExtractor
}

// StreamSampleExtractor extracts samples from the entries of one stream; not safe for
// concurrent use.
type StreamSampleExtractor interface {
	BaseLabels() LabelsResult
	// Process returns the entry's value and labels; ok is false when the entry is filtered out.
	// A value that cannot be converted yields 0 with __error__=SampleExtractionErr in result.
	Process(ts int64, line []byte, structuredMetadata labels.Labels) (value float64, result LabelsResult, ok bool)
}

// LineExtractor computes a sample from a line (count_over_time, bytes_over_time, ...).
type LineExtractor func(line []byte) float64

// Conversions of an unwrapped label, as in `| unwrap duration(latency)`.
const (
	ConvertFloat           = ""
	ConvertDuration        = "duration"
	ConvertDurationSeconds = "duration_seconds"
	ConvertBytes           = "bytes"
)
