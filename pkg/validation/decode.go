package validation

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// UnmarshalYAML reads a limits block (limits_config, or a tenant's runtime overrides) over the
// limits already in l, which keep the values the block does not set.
//
// The block is decoded in one pass, strictly (the caller's decoder rejects unknown fields of
// nested blocks). yaml's own errors do not say which key was wrong, and a bad duration or size
// stops it at the first one, so when that pass fails every key is decoded again on its own to
// report each bad one by name: "limits_config.max_query_length: invalid duration "1x"".
func (l *Limits) UnmarshalYAML(unmarshal func(any) error) error {
	// A tenant's limits start as a copy of the defaults, sharing their map of Loki settings:
	// decoding into it would add the tenant's keys to everybody's. The keys of a block are its
	// own (the defaults' were checked with the defaults).
	l.Loki = nil
	type plain Limits
	err := unmarshal((*plain)(l))
	if err == nil {
		return nil
	}
	var block map[string]yaml.Node
	if unmarshal(&block) != nil {
		return err // not even a mapping: yaml's error says so
	}
	if named := blameKeys(block); len(named) > 0 {
		return errors.Join(named...)
	}
	return err
}

// blameKeys decodes each value of block into a new value of its field's type and returns an
// error naming each key whose value does not decode, in key order. Keys that are not fields
// go to Limits.Loki, which takes any value; validateLoki checks them.
func blameKeys(block map[string]yaml.Node) []error {
	fields := yamlFields(reflect.TypeFor[Limits]())
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(block)) {
		typ, ok := fields[key]
		if !ok {
			continue
		}
		val := block[key]
		if err := decodeStrict(&val, reflect.New(typ).Interface()); err != nil {
			errs = append(errs, fmt.Errorf("limits_config.%s: %w", key, err))
		}
	}
	return errs
}

// yamlFields maps the YAML names of t's fields to their types; inline fields are left out.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || strings.Contains(opts, "inline") || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

// decodeStrict decodes the value n into v, refusing unknown fields of nested blocks, and
// returns yaml's error without its line numbers: n is decoded on its own, so they would count
// from n, not from the file.
func decodeStrict(n *yaml.Node, v any) error {
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	err = dec.Decode(v)
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, len(te.Errors))
		for i, m := range te.Errors {
			if _, rest, ok := strings.Cut(m, ": "); ok && strings.HasPrefix(m, "line ") {
				m = rest
			}
			msgs[i] = m
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	return err
}

// MarshalYAML renders the limits (GET /config, GET /runtime_config) without the Loki settings
// Sluice ignores: they change nothing, and some of the ruler's hold credentials.
func (l Limits) MarshalYAML() (any, error) {
	type plain Limits
	p := plain(l)
	p.Loki = nil
	return p, nil
}
