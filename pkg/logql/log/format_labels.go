package log

import (
	"bytes"
	"fmt"
	"text/template"

	"github.com/sluicelog/sluice/pkg/unsafestr"
)

// LabelsFormatter is `| label_format dst=src, dst2="{{template}}"`. A rename moves src's value
// to dst (a parsed label, as in Loki) and removes src, and does nothing when src is missing; a
// template sets dst to its rendering. Templates see the labels as they were before the first
// template of the stage ran. Template errors set __error__=TemplateFormatErr and leave that
// label unchanged.
type LabelsFormatter struct {
	fmts  []LabelFmt
	tmpls []*template.Template
	st    *templateState
	data  map[string]string
	buf   bytes.Buffer
}

// NewRenameLabelFmt returns the label_format argument dst=src.
func NewRenameLabelFmt(dst, src string) LabelFmt {
	return LabelFmt{Name: dst, Value: src, Rename: true}
}

// NewTemplateLabelFmt returns the label_format argument dst="template".
func NewTemplateLabelFmt(dst, tmpl string) LabelFmt { return LabelFmt{Name: dst, Value: tmpl} }

// NewLabelsFormatter checks and compiles label_format's arguments. A label may be the target
// of only one argument.
func NewLabelsFormatter(fmts []LabelFmt) (*LabelsFormatter, error) {
	f := &LabelsFormatter{fmts: fmts, st: &templateState{}, data: map[string]string{}}
	seen := map[string]bool{}
	funcs := templateFuncs(f.st)
	for _, lf := range fmts {
		if lf.Name == ErrorLabel {
			return nil, fmt.Errorf("%s cannot be formatted", lf.Name)
		}
		if !isValidLabelName(lf.Name) {
			return nil, fmt.Errorf("label_format: invalid label name %q", lf.Name)
		}
		if seen[lf.Name] {
			return nil, fmt.Errorf("label_format: multiple label name '%s' not allowed in a single format operation", lf.Name)
		}
		seen[lf.Name] = true
		if lf.Rename {
			f.tmpls = append(f.tmpls, nil)
			continue
		}
		t, err := template.New("label").Option("missingkey=zero").Funcs(funcs).Parse(lf.Value)
		if err != nil {
			return nil, fmt.Errorf("invalid template for label '%s': %w", lf.Name, err)
		}
		f.tmpls = append(f.tmpls, t)
	}
	return f, nil
}

func (f *LabelsFormatter) Process(ts int64, line []byte, lbs *LabelsBuilder) ([]byte, bool) {
	filled := false
	for i, lf := range f.fmts {
		if lf.Rename {
			if v, ok := lbs.Get(lf.Value); ok {
				lbs.Set(ParsedLabel, lf.Name, v)
				lbs.Del(lf.Value)
			}
			continue
		}
		if !filled {
			fillTemplateData(f.data, lbs)
			f.st.ts = ts
			f.st.line = unsafestr.String(line) // only read during Execute
			filled = true
		}
		f.buf.Reset()
		if err := f.tmpls[i].Execute(&f.buf, f.data); err != nil {
			lbs.SetErr(ErrTemplateFormat)
			lbs.SetErrorDetails(err.Error())
			continue
		}
		lbs.Set(ParsedLabel, lf.Name, f.buf.String())
	}
	f.st.line = ""
	return line, true
}
