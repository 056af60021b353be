package logcli

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"strings"
	"time"
)

// Output modes accepted by --output.
const (
	ModeDefault = "default"
	ModeRaw     = "raw"
	ModeJSONL   = "jsonl"
)

// OutputOptions are the flags that shape how a log line is printed.
type OutputOptions struct {
	// Timezone is where timestamps are shown (--timezone); nil means time.Local.
	Timezone *time.Location
	// NoLabels drops the labels from default and jsonl output (--no-labels).
	NoLabels bool
	// Color enables ANSI colours in default output. The caller sets it only when stdout is a
	// terminal, as Loki's logcli does.
	Color bool
	// ColoredOutput gives each stream its own label colour (--colored-output); it needs Color.
	ColoredOutput bool
}

// LogOutput prints one log line. maxLabelsLen is the width labels are padded to in default mode.
type LogOutput interface {
	FormatAndPrintln(w io.Writer, ts time.Time, ls LabelSet, maxLabelsLen int, line string) error
}

// NewLogOutput returns the printer for mode, or an error naming the valid modes.
func NewLogOutput(mode string, opts OutputOptions) (LogOutput, error) {
	if opts.Timezone == nil {
		opts.Timezone = time.Local
	}
	switch mode {
	case ModeDefault:
		return &defaultOutput{opts: opts}, nil
	case ModeRaw:
		return rawOutput{}, nil
	case ModeJSONL:
		return &jsonlOutput{opts: opts}, nil
	}
	return nil, fmt.Errorf("unknown output mode %q: use default, raw or jsonl", mode)
}

const (
	ansiReset = "\x1b[0m"
	ansiRed   = "\x1b[31m"
	ansiBlue  = "\x1b[34m"
)

// streamColors are the label colours --colored-output picks from, by a hash of the labels.
var streamColors = []string{
	"\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[34m", "\x1b[35m", "\x1b[36m",
	"\x1b[91m", "\x1b[92m", "\x1b[93m", "\x1b[94m", "\x1b[95m", "\x1b[96m",
}

// defaultOutput prints "<RFC3339 time> <labels padded> <line trimmed of spaces>". Like every
// LogOutput it keeps no state between calls, so parallel downloads may share it.
type defaultOutput struct {
	opts OutputOptions
}

func (o *defaultOutput) FormatAndPrintln(w io.Writer, ts time.Time, ls LabelSet, maxLabelsLen int, line string) error {
	b := make([]byte, 0, 96+len(line))
	stamp := ts.In(o.opts.Timezone).Format(time.RFC3339)
	b = o.colored(b, ansiBlue, stamp)
	b = append(b, ' ')
	if !o.opts.NoLabels {
		labels := ls.String()
		if n := maxLabelsLen - len(labels); n > 0 {
			labels += strings.Repeat(" ", n)
		}
		c := ansiRed
		if o.opts.ColoredOutput {
			c = streamColor(labels)
		}
		b = o.colored(b, c, labels)
		b = append(b, ' ')
	}
	b = append(b, strings.TrimSpace(line)...)
	b = append(b, '\n')
	_, err := w.Write(b)
	return err
}

func (o *defaultOutput) colored(b []byte, color, s string) []byte {
	if !o.opts.Color {
		return append(b, s...)
	}
	b = append(b, color...)
	b = append(b, s...)
	return append(b, ansiReset...)
}

func streamColor(labels string) string {
	h := fnv.New32a()
	h.Write([]byte(strings.TrimSpace(labels)))
	return streamColors[h.Sum32()%uint32(len(streamColors))]
}

// rawOutput prints the line alone, without a trailing newline it may already have.
type rawOutput struct{}

func (rawOutput) FormatAndPrintln(w io.Writer, _ time.Time, _ LabelSet, _ int, line string) error {
	line = strings.TrimSuffix(line, "\n")
	_, err := io.WriteString(w, line+"\n")
	return err
}

// jsonlOutput prints {"labels":{..},"line":"..","timestamp":"<RFC3339Nano>"} per line: the keys
// in that (sorted) order, as Loki's logcli prints a Go map.
type jsonlOutput struct {
	opts OutputOptions
}

func (o *jsonlOutput) FormatAndPrintln(w io.Writer, ts time.Time, ls LabelSet, _ int, line string) error {
	b := make([]byte, 0, 128+len(line))
	b = append(b, '{')
	if !o.opts.NoLabels {
		lb, err := json.Marshal(ls)
		if err != nil {
			return fmt.Errorf("encode labels: %w", err)
		}
		if ls == nil {
			lb = []byte("{}")
		}
		b = append(b, `"labels":`...)
		b = append(b, lb...)
		b = append(b, ',')
	}
	lineJSON, err := json.Marshal(line)
	if err != nil {
		return fmt.Errorf("encode line: %w", err)
	}
	b = append(b, `"line":`...)
	b = append(b, lineJSON...)
	b = append(b, `,"timestamp":"`...)
	b = ts.In(o.opts.Timezone).AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"', '}', '\n')
	_, err = w.Write(b)
	return err
}
