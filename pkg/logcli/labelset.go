package logcli

import (
	"slices"
	"strconv"
	"strings"
)

// LabelSet is a stream's labels as they travel in Loki's JSON: name to value.
type LabelSet map[string]string

// String formats ls as Loki's logcli does: `{a="1", b="2"}`, names sorted, values Go-quoted.
// An empty set is "{}".
func (ls LabelSet) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range ls.names() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(ls[k]))
	}
	b.WriteByte('}')
	return b.String()
}

func (ls LabelSet) names() []string {
	names := make([]string, 0, len(ls))
	for k := range ls {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// commonLabels returns the label pairs present, with the same value, in every stream.
func commonLabels(streams []Stream) LabelSet {
	if len(streams) == 0 {
		return nil
	}
	common := LabelSet{}
	for k, v := range streams[0].Labels {
		common[k] = v
	}
	for _, s := range streams[1:] {
		for k, v := range common {
			if w, ok := s.Labels[k]; !ok || w != v {
				delete(common, k)
			}
		}
	}
	return common
}

// subtract returns the pairs of ls that are not in drop.
func subtract(ls, drop LabelSet) LabelSet {
	out := make(LabelSet, len(ls))
	for k, v := range ls {
		if w, ok := drop[k]; ok && w == v {
			continue
		}
		out[k] = v
	}
	return out
}

// keepNames returns the pairs of ls whose names are (keep=true) or are not (keep=false) in names.
func keepNames(keep bool, ls LabelSet, names []string) LabelSet {
	out := make(LabelSet, len(ls))
	for k, v := range ls {
		if slices.Contains(names, k) == keep {
			out[k] = v
		}
	}
	return out
}
