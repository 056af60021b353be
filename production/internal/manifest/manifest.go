// Package manifest reads Kubernetes manifests (multi-document YAML) into generic objects for
// the tests of production/: they check fields by path, so a manifest is read exactly as
// kubectl would read it and no Kubernetes API types are needed.
package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"
)

// Object is one decoded manifest document.
type Object map[string]any

// Parse decodes every non-empty YAML document of b.
func Parse(b []byte) ([]Object, error) {
	var out []Object
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for i := 0; ; i++ {
		// Decode into a plain map: yaml.v3 would make nested maps Objects too.
		var o map[string]any
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("decode document %d: %w", i, err)
		}
		if len(o) > 0 {
			out = append(out, o)
		}
	}
}

// ReadFile decodes every document of the named file.
func ReadFile(name string) ([]Object, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	objs, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return objs, nil
}

// Get walks a path of map keys (string) and list indexes (int); it returns nil when a step
// is missing or of the wrong type.
func Get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := asMap(v)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k < 0 || k >= len(l) {
				return nil
			}
			v = l[k]
		default:
			return nil
		}
	}
	return v
}

// String is Get for a string value; "" when missing.
func String(v any, path ...any) string {
	s, _ := Get(v, path...).(string)
	return s
}

// List is Get for a list value; nil when missing.
func List(v any, path ...any) []any {
	l, _ := Get(v, path...).([]any)
	return l
}

func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case Object:
		return m, true
	case map[string]any:
		return m, true
	}
	return nil, false
}

// Kind returns the object's kind.
func (o Object) Kind() string { return String(o, "kind") }

// Name returns metadata.name.
func (o Object) Name() string { return String(o, "metadata", "name") }

// Namespace returns metadata.namespace.
func (o Object) Namespace() string { return String(o, "metadata", "namespace") }

// Find returns the first object of the kind (and name, when name is not empty), or nil.
func Find(objs []Object, kind, name string) Object {
	for _, o := range objs {
		if o.Kind() == kind && (name == "" || o.Name() == name) {
			return o
		}
	}
	return nil
}

// Container returns the pod template's container of that name (or the first one when name is
// empty), or nil.
func Container(workload Object, name string) map[string]any {
	for _, c := range List(workload, "spec", "template", "spec", "containers") {
		m, _ := c.(map[string]any)
		if m != nil && (name == "" || m["name"] == name) {
			return m
		}
	}
	return nil
}

// Strings converts a list of strings; other elements are skipped.
func Strings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
