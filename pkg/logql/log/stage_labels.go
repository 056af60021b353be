package log

// NewDropLabels returns `| drop name, name="value", ...`: a bare name drops that label, a
// matcher drops it only when its value matches. Dropping __error__ clears the error.
func NewDropLabels(ms []NamedLabelMatcher) Stage { return &dropLabels{ms} }

type dropLabels struct{ ms []NamedLabelMatcher }

func (d *dropLabels) Process(_ int64, line []byte, lbs *LabelsBuilder) ([]byte, bool) {
	for _, m := range d.ms {
		if m.Matcher == nil {
			lbs.Del(m.Name)
			continue
		}
		v, ok := lbs.Get(m.Matcher.Name)
		if ok && m.Matcher.Matches(v) {
			lbs.Del(m.Matcher.Name)
		}
	}
	return line, true
}

// NewKeepLabels returns `| keep name, name="value", ...`: every label not listed (or whose
// value does not match its matcher) is removed, except __error__ and __error_details__.
func NewKeepLabels(ms []NamedLabelMatcher) Stage { return &keepLabels{ms: ms} }

type keepLabels struct {
	ms   []NamedLabelMatcher
	drop []string
}

func (k *keepLabels) Process(_ int64, line []byte, lbs *LabelsBuilder) ([]byte, bool) {
	if len(k.ms) == 0 {
		return line, true
	}
	k.drop = k.drop[:0]
	lbs.Range(func(name, value string, _ LabelCategory) {
		if name == ErrorLabel || name == ErrorDetailsLabel || k.keeps(name, value) {
			return
		}
		k.drop = append(k.drop, name)
	})
	lbs.Del(k.drop...)
	return line, true
}

func (k *keepLabels) keeps(name, value string) bool {
	for _, m := range k.ms {
		if m.Matcher == nil {
			if m.Name == name {
				return true
			}
		} else if m.Matcher.Name == name && m.Matcher.Matches(value) {
			return true
		}
	}
	return false
}

// NewDistinctFilter returns `| distinct a, b`. As in Loki each label is deduplicated on its own:
// an entry is dropped as soon as one of the labels has a value an earlier entry had, and is
// kept unchanged when one of the labels is missing. The stage remembers every value it has seen
// for the life of the pipeline, across streams.
func NewDistinctFilter(names []string) Stage {
	seen := make([]map[string]struct{}, len(names))
	for i := range seen {
		seen[i] = map[string]struct{}{}
	}
	return &distinctFilter{names: names, seen: seen}
}

type distinctFilter struct {
	names []string
	seen  []map[string]struct{}
}

func (d *distinctFilter) Process(_ int64, line []byte, lbs *LabelsBuilder) ([]byte, bool) {
	keep := false
	for i, n := range d.names {
		v, ok := lbs.Get(n)
		if !ok {
			return line, true
		}
		if _, dup := d.seen[i][v]; dup {
			return line, false
		}
		d.seen[i][v] = struct{}{}
		keep = true
	}
	return line, keep
}
