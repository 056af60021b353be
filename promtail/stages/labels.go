package stages

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"gopkg.in/yaml.v3"
)

// labelsStage copies extracted values into labels (or structured metadata). The config maps
// label name → extracted name; an empty value means the same name.
type labelsStage struct {
	names    [][2]string
	metadata bool
}

func newLabels(n *yaml.Node, metadata bool) (Stage, error) {
	var c map[string]*string
	if err := decode(n, &c); err != nil {
		return nil, err
	}
	s := &labelsStage{metadata: metadata}
	for k, v := range c {
		if !model.LabelName(k).IsValidLegacy() {
			return nil, fmt.Errorf("invalid label name %q", k)
		}
		src := k
		if v != nil && *v != "" {
			src = *v
		}
		s.names = append(s.names, [2]string{k, src})
	}
	sort.Slice(s.names, func(i, j int) bool { return s.names[i][0] < s.names[j][0] })
	return s, nil
}

func (s *labelsStage) Process(ctx context.Context, it Item, next Emit) error {
	for _, p := range s.names {
		v, ok := it.Extracted[p[1]]
		if !ok || v == nil {
			continue
		}
		str := toString(v)
		if s.metadata {
			addMetadata(&it, p[0], str)
		} else if str != "" {
			it.SetLabel(p[0], str)
		}
	}
	return next(ctx, it)
}

func addMetadata(it *Item, name, value string) {
	b := labels.NewBuilder(it.StructuredMetadata)
	b.Set(name, value)
	it.StructuredMetadata = b.Labels()
}

type staticLabels map[string]string

func newStaticLabels(n *yaml.Node) (Stage, error) {
	var c map[string]*string
	if err := decode(n, &c); err != nil {
		return nil, err
	}
	s := staticLabels{}
	for k, v := range c {
		if !model.LabelName(k).IsValidLegacy() {
			return nil, fmt.Errorf("invalid label name %q", k)
		}
		if v != nil {
			s[k] = *v
		}
	}
	return s, nil
}

func (s staticLabels) Process(ctx context.Context, it Item, next Emit) error {
	for k, v := range s {
		it.SetLabel(k, v)
	}
	return next(ctx, it)
}

type labelDrop []string

func newLabelDrop(n *yaml.Node) (Stage, error) {
	var c []string
	err := decode(n, &c)
	return labelDrop(c), err
}

func (s labelDrop) Process(ctx context.Context, it Item, next Emit) error {
	for _, k := range s {
		it.DeleteLabel(k)
	}
	return next(ctx, it)
}

type labelAllow map[string]bool

func newLabelAllow(n *yaml.Node) (Stage, error) {
	var c []string
	if err := decode(n, &c); err != nil {
		return nil, err
	}
	s := labelAllow{}
	for _, k := range c {
		s[k] = true
	}
	return s, nil
}

func (s labelAllow) Process(ctx context.Context, it Item, next Emit) error {
	for k := range it.Labels() {
		if !s[string(k)] {
			it.DeleteLabel(string(k))
		}
	}
	return next(ctx, it)
}

type outputStage struct{ source string }

func newOutput(n *yaml.Node) (Stage, error) {
	var c struct {
		Source string `yaml:"source"`
	}
	if err := decode(n, &c); err != nil {
		return nil, err
	}
	if c.Source == "" {
		return nil, fmt.Errorf("source is required")
	}
	return &outputStage{source: c.Source}, nil
}

func (s *outputStage) Process(ctx context.Context, it Item, next Emit) error {
	if v, ok := it.Extracted[s.source]; ok && v != nil {
		it.Line = toString(v)
	}
	return next(ctx, it)
}

type tenantStage struct{ source, label, value string }

func newTenant(n *yaml.Node) (Stage, error) {
	var c struct {
		Source string `yaml:"source"`
		Label  string `yaml:"label"`
		Value  string `yaml:"value"`
	}
	if err := decode(n, &c); err != nil {
		return nil, err
	}
	set := 0
	for _, x := range []string{c.Source, c.Label, c.Value} {
		if x != "" {
			set++
		}
	}
	if set != 1 {
		return nil, fmt.Errorf("exactly one of source, label and value is required")
	}
	return &tenantStage{source: c.Source, label: c.Label, value: c.Value}, nil
}

func (s *tenantStage) Process(ctx context.Context, it Item, next Emit) error {
	t := s.value
	switch {
	case s.source != "":
		t, _ = source(&it, s.source)
	case s.label != "":
		t, _ = it.Label(s.label)
	}
	if t != "" {
		it.SetLabel("__tenant_id__", t)
	}
	return next(ctx, it)
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;:?]*[ -/]*[@-~]`)

type decolorize struct{}

func (decolorize) Process(ctx context.Context, it Item, next Emit) error {
	it.Line = ansi.ReplaceAllString(it.Line, "")
	return next(ctx, it)
}

type packStage struct {
	labels   []string
	ingestTS bool
}

func newPack(n *yaml.Node) (Stage, error) {
	var c struct {
		Labels          []string `yaml:"labels"`
		IngestTimestamp *bool    `yaml:"ingest_timestamp"`
	}
	if err := decode(n, &c); err != nil {
		return nil, err
	}
	return &packStage{labels: c.Labels, ingestTS: c.IngestTimestamp == nil || *c.IngestTimestamp}, nil
}

func (s *packStage) Process(ctx context.Context, it Item, next Emit) error {
	m := map[string]string{}
	for _, k := range s.labels {
		if v, ok := it.Extracted[k]; ok {
			m[k] = toString(v)
		} else if v, ok := it.Label(k); ok {
			m[k] = v
		}
		it.DeleteLabel(k)
	}
	m["_entry"] = it.Line
	b, err := json.Marshal(m)
	if err != nil {
		return next(ctx, it)
	}
	it.Line = string(b)
	if s.ingestTS {
		it.Timestamp = nowNano()
	}
	return next(ctx, it)
}
