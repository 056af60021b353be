package stages

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// newStage parses one stage's config.
func newStage(name string, n *yaml.Node, o Options) (factory, error) {
	shared := func(s Stage, err error) (factory, error) {
		if err != nil {
			return nil, err
		}
		return func() Stage { return s }, nil
	}
	switch name {
	case "cri":
		var c CRIConfig
		if err := decode(n, &c); err != nil {
			return nil, err
		}
		c.defaults()
		return func() Stage { return newCRI(c) }, nil
	case "docker":
		return func() Stage { return &dockerStage{} }, nil
	case "regex":
		return shared(newRegex(n))
	case "json":
		return shared(newJSON(n))
	case "logfmt":
		return shared(newLogfmt(n))
	case "replace":
		return shared(newReplace(n))
	case "template":
		return shared(newTemplate(n))
	case "timestamp":
		st, err := newTimestamp(n)
		if err != nil {
			return nil, err
		}
		ts := st.(*timestampStage)
		return func() Stage { c := *ts; c.last = map[string]int64{}; return &c }, nil
	case "labels":
		return shared(newLabels(n, false))
	case "structured_metadata":
		return shared(newLabels(n, true))
	case "static_labels":
		return shared(newStaticLabels(n))
	case "labeldrop":
		return shared(newLabelDrop(n))
	case "labelallow":
		return shared(newLabelAllow(n))
	case "output":
		return shared(newOutput(n))
	case "tenant":
		return shared(newTenant(n))
	case "drop":
		return shared(newDrop(n))
	case "sampling":
		return shared(newSampling(n))
	case "decolorize":
		return shared(decolorize{}, nil)
	case "pack":
		return shared(newPack(n))
	case "limit":
		return shared(newLimit(n, o))
	case "metrics":
		return shared(newMetrics(n, o))
	case "multiline":
		var c multilineConfig
		if err := decode(n, &c); err != nil {
			return nil, err
		}
		if err := c.validate(); err != nil {
			return nil, err
		}
		return func() Stage { return newMultiline(c) }, nil
	case "match":
		return newMatch(n, o)
	}
	return nil, fmt.Errorf("unknown stage %q", name)
}

// decode reads a stage config; an empty value (`- docker:`) leaves the defaults.
func decode(n *yaml.Node, v any) error {
	if n == nil || n.Tag == "!!null" {
		return nil
	}
	if err := n.Decode(v); err != nil {
		return fmt.Errorf("decode config: %w", err)
	}
	return nil
}

// source returns the value a stage reads: the extracted value named src, or the line when
// src is empty.
func source(it *Item, src string) (string, bool) {
	if src == "" {
		return it.Line, true
	}
	v, ok := it.Extracted[src]
	if !ok || v == nil {
		return "", false
	}
	return toString(v), true
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case fmt.Stringer:
		return x.String()
	case float64:
		return formatFloat(x)
	case bool:
		if x {
			return "true"
		}
		return "false"
	case nil:
		return ""
	default:
		if b, err := jsonMarshal(x); err == nil {
			return string(b)
		}
		return fmt.Sprint(x)
	}
}
