package stages

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/jmespath/go-jmespath"
	"gopkg.in/yaml.v3"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func parseBytes(s string) (int64, error) {
	t := strings.TrimSpace(strings.ToLower(s))
	mult := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"b", 1}} {
		if strings.HasSuffix(t, u.suf) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suf)), u.m
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: %w", s, err)
	}
	return int64(n * float64(mult)), nil
}

// regexStage extracts the named groups of a regular expression.
type regexStage struct {
	re     *regexp.Regexp
	source string
}

func newRegex(n *yaml.Node) (Stage, error) {
	var c struct {
		Expression string  `yaml:"expression"`
		Source     *string `yaml:"source"`
	}
	if err := decode(n, &c); err != nil {
		return nil, err
	}
	if c.Expression == "" {
		return nil, fmt.Errorf("expression is required")
	}
	re, err := regexp.Compile(c.Expression)
	if err != nil {
		return nil, fmt.Errorf("compile expression: %w", err)
	}
	s := &regexStage{re: re}
	if c.Source != nil {
		s.source = *c.Source
	}
	return s, nil
}

func (s *regexStage) Process(ctx context.Context, it Item, next Emit) error {
	v, ok := source(&it, s.source)
	if !ok {
		return next(ctx, it)
	}
	m := s.re.FindStringSubmatch(v)
	for i, name := range s.re.SubexpNames() {
		if name != "" && m != nil && i < len(m) {
			it.Set(name, m[i])
		}
	}
	return next(ctx, it)
}

// jsonStage extracts JMESPath expressions from a JSON line.
type jsonStage struct {
	exprs    map[string]*jmespath.JMESPath
	source   string
	dropMalf bool
}

func newJSON(n *yaml.Node) (Stage, error) {
	var c struct {
		Expressions   map[string]string `yaml:"expressions"`
		Source        *string           `yaml:"source"`
		DropMalformed bool              `yaml:"drop_malformed"`
	}
	if err := decode(n, &c); err != nil {
		return nil, err
	}
	s := &jsonStage{exprs: map[string]*jmespath.JMESPath{}, dropMalf: c.DropMalformed}
	if c.Source != nil {
		s.source = *c.Source
	}
	for name, e := range c.Expressions {
		if e == "" {
			e = name
		}
		j, err := jmespath.Compile(e)
		if err != nil {
			return nil, fmt.Errorf("compile jmespath %q: %w", e, err)
		}
		s.exprs[name] = j
	}
	return s, nil
}

func (s *jsonStage) Process(ctx context.Context, it Item, next Emit) error {
	v, ok := source(&it, s.source)
	if !ok {
		return next(ctx, it)
	}
	var doc any
	if err := json.Unmarshal([]byte(v), &doc); err != nil {
		if s.dropMalf {
			it.Ack.Drop()
			return nil
		}
		return next(ctx, it)
	}
	if len(s.exprs) == 0 {
		if m, ok := doc.(map[string]any); ok {
			for k, x := range m {
				it.Set(k, x)
			}
		}
	}
	for name, e := range s.exprs {
		r, err := e.Search(doc)
		if err != nil || r == nil {
			continue
		}
		switch r.(type) {
		case map[string]any, []any:
			b, _ := json.Marshal(r)
			it.Set(name, string(b))
		default:
			it.Set(name, r)
		}
	}
	return next(ctx, it)
}

// logfmtStage extracts key=value pairs.
type logfmtStage struct {
	mapping map[string]string // extracted name → logfmt key
	source  string
}

func newLogfmt(n *yaml.Node) (Stage, error) {
	var c struct {
		Mapping map[string]string `yaml:"mapping"`
		Source  *string           `yaml:"source"`
	}
	if err := decode(n, &c); err != nil {
		return nil, err
	}
	s := &logfmtStage{mapping: c.Mapping}
	if c.Source != nil {
		s.source = *c.Source
	}
	for k, v := range s.mapping {
		if v == "" {
			s.mapping[k] = k
		}
	}
	return s, nil
}

// ParseLogfmt calls f for each key=value pair of line (values may be double-quoted).
func ParseLogfmt(line string, f func(k, v string)) {
	i := 0
	for i < len(line) {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		start := i
		for i < len(line) && line[i] != '=' && line[i] != ' ' {
			i++
		}
		key := line[start:i]
		if i >= len(line) || line[i] == ' ' {
			if key != "" {
				f(key, "")
			}
			continue
		}
		i++ // '='
		var val string
		if i < len(line) && line[i] == '"' {
			j := i + 1
			var b strings.Builder
			for j < len(line) && line[j] != '"' {
				if line[j] == '\\' && j+1 < len(line) {
					j++
				}
				b.WriteByte(line[j])
				j++
			}
			val = b.String()
			i = j + 1
		} else {
			start := i
			for i < len(line) && line[i] != ' ' {
				i++
			}
			val = line[start:i]
		}
		if key != "" {
			f(key, val)
		}
	}
}

func (s *logfmtStage) Process(ctx context.Context, it Item, next Emit) error {
	v, ok := source(&it, s.source)
	if !ok {
		return next(ctx, it)
	}
	ParseLogfmt(v, func(k, val string) {
		if len(s.mapping) == 0 {
			it.Set(k, val)
			return
		}
		for name, key := range s.mapping {
			if key == k {
				it.Set(name, val)
			}
		}
	})
	return next(ctx, it)
}
