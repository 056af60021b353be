package log

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"
)

// LineFormatter is `| line_format "template"`: the line is replaced by a Go text/template
// rendered with the entry's labels as data ({{.level}}) and Loki's template functions. When the
// template fails the line is kept and __error__=TemplateFormatErr is set.
type LineFormatter struct {
	tmpl     *template.Template
	st       *templateState
	data     map[string]string
	buf      bytes.Buffer
	needLine bool
}

// NewLineFormatter parses the line_format template.
func NewLineFormatter(tmpl string) (*LineFormatter, error) {
	st := &templateState{}
	t, err := template.New("line").Option("missingkey=zero").Funcs(templateFuncs(st)).Parse(tmpl)
	if err != nil {
		return nil, fmt.Errorf("invalid line template: %w", err)
	}
	return &LineFormatter{tmpl: t, st: st, data: map[string]string{},
		needLine: strings.Contains(tmpl, "__line__")}, nil
}

// Process renders the template. The returned line is the formatter's buffer: it stays valid
// until the next call.
func (f *LineFormatter) Process(ts int64, line []byte, lbs *LabelsBuilder) ([]byte, bool) {
	fillTemplateData(f.data, lbs)
	f.st.ts = ts
	if f.needLine {
		f.st.line = string(line)
	}
	f.buf.Reset()
	if err := f.tmpl.Execute(&f.buf, f.data); err != nil {
		lbs.SetErr(ErrTemplateFormat)
		lbs.SetErrorDetails(err.Error())
		return line, true
	}
	return f.buf.Bytes(), true
}

func fillTemplateData(m map[string]string, lbs *LabelsBuilder) {
	clear(m)
	lbs.Range(func(name, value string, _ LabelCategory) { m[name] = value })
}
