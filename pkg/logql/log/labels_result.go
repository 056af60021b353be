package log

import (
	"github.com/prometheus/prometheus/model/labels"
)

// labelsResult is the LabelsResult the builder hands out.
type labelsResult struct {
	all, stream, sm, parsed labels.Labels
	hash                    uint64
	str                     string
}

var _ LabelsResult = (*labelsResult)(nil)

func newLabelsResult(stream, sm, parsed labels.Labels) *labelsResult {
	var all labels.Labels
	switch {
	case sm.IsEmpty() && parsed.IsEmpty():
		all = stream
	default:
		var b labels.ScratchBuilder
		for _, ls := range []labels.Labels{stream, sm, parsed} {
			ls.Range(func(l labels.Label) { b.Add(l.Name, l.Value) })
		}
		b.Sort()
		all = b.Labels()
	}
	return &labelsResult{all: all, stream: stream, sm: sm, parsed: parsed, hash: all.Hash(), str: all.String()}
}

func (r *labelsResult) String() string                    { return r.str }
func (r *labelsResult) Labels() labels.Labels             { return r.all }
func (r *labelsResult) Stream() labels.Labels             { return r.stream }
func (r *labelsResult) StructuredMetadata() labels.Labels { return r.sm }
func (r *labelsResult) Parsed() labels.Labels             { return r.parsed }
func (r *labelsResult) Hash() uint64                      { return r.hash }

// sameAs reports whether r holds exactly the labels s (sorted by name), categories included.
func (r *labelsResult) sameAs(s []catLabel) bool {
	if r.all.Len() != len(s) {
		return false
	}
	i, same := 0, true
	r.all.Range(func(l labels.Label) {
		if !same {
			return
		}
		c := s[i]
		i++
		if c.name != l.Name || c.value != l.Value {
			same = false
			return
		}
		var in labels.Labels
		switch c.cat {
		case StreamLabel:
			in = r.stream
		case StructuredMetadataLabel:
			in = r.sm
		default:
			in = r.parsed
		}
		same = in.Has(c.name)
	})
	return same
}
