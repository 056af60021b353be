package stages

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"

	"gopkg.in/yaml.v3"
)

var templateFuncs = template.FuncMap{
	"ToLower": strings.ToLower, "ToUpper": strings.ToUpper, "Replace": strings.Replace,
	"Trim": strings.Trim, "TrimLeft": strings.TrimLeft, "TrimRight": strings.TrimRight,
	"TrimPrefix": strings.TrimPrefix, "TrimSuffix": strings.TrimSuffix, "TrimSpace": strings.TrimSpace,
	"regexReplaceAll": func(re, s, repl string) (string, error) {
		r, err := regexp.Compile(re)
		if err != nil {
			return "", err
		}
		return r.ReplaceAllString(s, repl), nil
	},
	"regexReplaceAllLiteral": func(re, s, repl string) (string, error) {
		r, err := regexp.Compile(re)
		if err != nil {
			return "", err
		}
		return r.ReplaceAllLiteralString(s, repl), nil
	},
	"Hash": func(salt, s string) string {
		h := fnv.New64a()
		_, _ = h.Write([]byte(salt + s))
		return strconv.FormatUint(h.Sum64(), 10)
	},
	"Sha2Hash": func(salt, s string) string {
		h := sha256.Sum256([]byte(salt + s))
		return hex.EncodeToString(h[:])
	},
	"unixEpoch":       func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) },
	"unixEpochMillis": func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) },
}

func templateData(it *Item, value string) map[string]any {
	d := make(map[string]any, len(it.Extracted)+2)
	for k, v := range it.Extracted {
		d[k] = toString(v)
	}
	d["Value"] = value
	d["Entry"] = it.Line
	return d
}

type templateStage struct {
	source string
	tmpl   *template.Template
}

func newTemplate(n *yaml.Node) (Stage, error) {
	var c struct {
		Source   string `yaml:"source"`
		Template string `yaml:"template"`
	}
	if err := decode(n, &c); err != nil {
		return nil, err
	}
	if c.Source == "" {
		return nil, fmt.Errorf("source is required")
	}
	t, err := template.New("template").Funcs(templateFuncs).Parse(c.Template)
	if err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	return &templateStage{source: c.Source, tmpl: t}, nil
}

func (s *templateStage) Process(ctx context.Context, it Item, next Emit) error {
	v, _ := source(&it, s.source)
	var b bytes.Buffer
	if err := s.tmpl.Execute(&b, templateData(&it, v)); err == nil {
		it.Set(s.source, b.String())
	}
	return next(ctx, it)
}

// replaceStage replaces each capture group of expression in the source with replace (a
// template; {{ .Value }} is the group's text). Named groups are also extracted.
type replaceStage struct {
	re     *regexp.Regexp
	source string
	tmpl   *template.Template
}

func newReplace(n *yaml.Node) (Stage, error) {
	var c struct {
		Expression string `yaml:"expression"`
		Source     string `yaml:"source"`
		Replace    string `yaml:"replace"`
	}
	if err := decode(n, &c); err != nil {
		return nil, err
	}
	re, err := regexp.Compile(c.Expression)
	if err != nil || c.Expression == "" {
		return nil, fmt.Errorf("expression %q: invalid: %v", c.Expression, err)
	}
	t, err := template.New("replace").Funcs(templateFuncs).Parse(c.Replace)
	if err != nil {
		return nil, fmt.Errorf("parse replace: %w", err)
	}
	return &replaceStage{re: re, source: c.Source, tmpl: t}, nil
}

func (s *replaceStage) Process(ctx context.Context, it Item, next Emit) error {
	v, ok := source(&it, s.source)
	if !ok {
		return next(ctx, it)
	}
	matches := s.re.FindAllStringSubmatchIndex(v, -1)
	if matches == nil {
		return next(ctx, it)
	}
	names := s.re.SubexpNames()
	var out strings.Builder
	last := 0
	for _, m := range matches {
		for g := 1; g*2 < len(m); g++ {
			a, b := m[2*g], m[2*g+1]
			if a < 0 || a < last {
				continue
			}
			if names[g] != "" {
				it.Set(names[g], v[a:b])
			}
			var buf bytes.Buffer
			if err := s.tmpl.Execute(&buf, templateData(&it, v[a:b])); err != nil {
				return next(ctx, it)
			}
			out.WriteString(v[last:a])
			out.WriteString(buf.String())
			last = b
		}
	}
	out.WriteString(v[last:])
	if s.source == "" {
		it.Line = out.String()
	} else {
		it.Set(s.source, out.String())
	}
	return next(ctx, it)
}
