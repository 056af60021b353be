package log

import (
	"github.com/prometheus/prometheus/model/labels"
	"github.com/sluicelog/sluice/pkg/unsafestr"
)

// NewPipeline returns the pipeline that runs stages in order. With no stages it is the noop
// pipeline: entries keep their line and stream labels (plus structured metadata).
func NewPipeline(stages []Stage) Pipeline {
	return &pipeline{stages: stages, streams: map[uint64]*streamPipeline{}}
}

type pipeline struct {
	stages   []Stage
	streams  map[uint64]*streamPipeline
	last     *streamPipeline // callers often ask for the same stream entry after entry
	required requiredLabels  // nil: every label; see WithRequiredLabels
}

func (p *pipeline) ForStream(lbls labels.Labels) StreamPipeline {
	if p.last != nil && labels.Equal(p.last.lbls, lbls) {
		return p.last
	}
	h := lbls.Hash()
	if sp, ok := p.streams[h]; ok && labels.Equal(sp.lbls, lbls) {
		p.last = sp
		return sp
	}
	b := NewLabelsBuilder(lbls)
	b.required = p.required
	sp := &streamPipeline{stages: p.stages, lbls: lbls, builder: b}
	p.streams[h] = sp
	p.last = sp
	return sp
}

type streamPipeline struct {
	stages  []Stage
	lbls    labels.Labels
	builder *LabelsBuilder
}

func (sp *streamPipeline) BaseLabels() LabelsResult { return sp.builder.base }

func (sp *streamPipeline) Process(ts int64, line []byte, sm labels.Labels) ([]byte, LabelsResult, bool) {
	b := sp.builder
	b.Reset()
	b.setStructuredMetadata(sm)
	var ok bool
	for _, s := range sp.stages {
		line, ok = s.Process(ts, line, b)
		if !ok {
			return nil, nil, false
		}
	}
	return line, b.LabelsResult(), true
}

func (sp *streamPipeline) ProcessString(ts int64, line string, sm labels.Labels) (string, LabelsResult, bool) {
	// Stages never write into the line they are given, so viewing the string as bytes is safe.
	out, r, ok := sp.Process(ts, unsafestr.Bytes(line), sm)
	if !ok {
		return "", nil, false
	}
	if len(out) == len(line) && unsafestr.SameData(out, line) {
		return line, r, true
	}
	return string(out), r, true
}
