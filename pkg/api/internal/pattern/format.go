package pattern

import "regexp"

// Format is how a stream's lines are encoded, which picks how they are tokenized and how their
// patterns render.
type Format uint8

const (
	// FormatPlain lines are split on spaces and punctuation.
	FormatPlain Format = iota
	// FormatLogfmt lines are split into key/value pairs; the values of timestamp and trace ID
	// keys are always wildcards.
	FormatLogfmt
	// FormatJSON lines contribute only their message member, split like a plain line; the
	// pattern is that of the message between two wildcards.
	FormatJSON
)

func (f Format) String() string {
	switch f {
	case FormatLogfmt:
		return "logfmt"
	case FormatJSON:
		return "json"
	}
	return "plain"
}

// DetectFormat guesses a stream's format from one of its lines, as Loki's pattern ingester does
// from a stream's first line: JSON when the line starts with '{' and ends with '}', logfmt when
// it is nothing but key=value pairs (see looksLogfmt), plain otherwise.
func DetectFormat(line string) Format {
	switch {
	case len(line) < 2:
		return FormatPlain
	case line[0] == '{' && line[len(line)-1] == '}':
		return FormatJSON
	case looksLogfmt(line):
		return FormatLogfmt
	}
	return FormatPlain
}

// logfmtLine is the shape of line Loki's format detection takes for logfmt:
//
//   - a key is one or more ASCII letters, digits or underscores, followed by '=';
//   - a value is either a character other than '"' followed by any non-space characters (so it
//     is never empty), or '"', at least one character other than a newline, and '"';
//   - pairs are separated by one space, except that the last pairs of the line may follow each
//     other with nothing between them.
//
// A value can end at several places (a quoted one at any later quote), which a regular
// expression decides in time linear in the line; a hand-written scan would have to try them.
var logfmtLine = regexp.MustCompile(`^(?:\w+=(?:[^"]\S*|"[^\n]+") )*(?:\w+=(?:[^"]\S*|"[^\n]+"))+$`)

func looksLogfmt(line string) bool { return logfmtLine.MatchString(line) }
