package log

import (
	"sync/atomic"

	"github.com/prometheus/prometheus/model/labels"
)

// labelsResult is the LabelsResult the builder hands out.
type labelsResult struct {
	all, stream, sm, parsed labels.Labels
	hash                    uint64
	// str caches String: most results (those of metric queries) are never printed. Results
	// are shared between goroutines, hence the atomic; two racing calls store equal strings.
	str atomic.Pointer[string]
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
	return &labelsResult{all: all, stream: stream, sm: sm, parsed: parsed, hash: all.Hash()}
}

func (r *labelsResult) String() string {
	if p := r.str.Load(); p != nil {
		return *p
	}
	s := r.all.String()
	r.str.Store(&s)
	return s
}

func (r *labelsResult) Labels() labels.Labels             { return r.all }
func (r *labelsResult) Stream() labels.Labels             { return r.stream }
func (r *labelsResult) StructuredMetadata() labels.Labels { return r.sm }
func (r *labelsResult) Parsed() labels.Labels             { return r.parsed }
func (r *labelsResult) Hash() uint64                      { return r.hash }
