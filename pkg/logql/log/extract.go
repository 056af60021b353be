package log

import (
	"fmt"
	"strconv"

	"github.com/prometheus/prometheus/model/labels"
)

// CountExtractor counts entries: count_over_time, rate.
var CountExtractor LineExtractor = func([]byte) float64 { return 1 }

// BytesExtractor measures the (processed) line: bytes_over_time, bytes_rate.
var BytesExtractor LineExtractor = func(line []byte) float64 { return float64(len(line)) }

// NewLineSampleExtractor runs stages and then ex over the resulting line.
func NewLineSampleExtractor(ex LineExtractor, stages []Stage) SampleExtractor {
	return &lineExtractor{ex: ex, p: NewPipeline(stages).(*pipeline)}
}

type lineExtractor struct {
	ex LineExtractor
	p  *pipeline
}

func (e *lineExtractor) ForStream(lbls labels.Labels) StreamSampleExtractor {
	return &streamLineExtractor{ex: e.ex, sp: e.p.ForStream(lbls).(*streamPipeline)}
}

type streamLineExtractor struct {
	ex LineExtractor
	sp *streamPipeline
}

func (s *streamLineExtractor) BaseLabels() LabelsResult { return s.sp.BaseLabels() }

func (s *streamLineExtractor) Process(ts int64, line []byte, sm labels.Labels) (float64, LabelsResult, bool) {
	out, r, ok := s.sp.Process(ts, line, sm)
	if !ok {
		return 0, nil, false
	}
	return s.ex(out), r, true
}

// NewLabelSampleExtractor is `| unwrap [conversion(]name[)] [| postFilter]`: stages run first,
// then label name's value is converted to a float (conversion one of ConvertFloat,
// ConvertDuration, ConvertDurationSeconds, ConvertBytes), then postFilter (may be nil) runs.
//
// As in Loki, entries without the label (or with it empty) yield no sample; a value that does
// not convert yields 0 with __error__=SampleExtractionErr (which the post filter may drop); and
// the unwrapped label is removed from the sample's labels.
func NewLabelSampleExtractor(name, conversion string, stages []Stage, postFilter Stage) (SampleExtractor, error) {
	var conv func(string) (float64, error)
	switch conversion {
	case ConvertFloat:
		conv = func(s string) (float64, error) { return strconv.ParseFloat(s, 64) }
	case ConvertDuration, ConvertDurationSeconds:
		conv = parseDurationSeconds
	case ConvertBytes:
		conv = func(s string) (float64, error) {
			b, err := ParseBytes(s)
			return float64(b), err
		}
	default:
		return nil, fmt.Errorf("unwrap: unknown conversion %q", conversion)
	}
	return &labelExtractor{name: name, conv: conv, post: postFilter, p: NewPipeline(stages).(*pipeline)}, nil
}

type labelExtractor struct {
	name string
	conv func(string) (float64, error)
	post Stage
	p    *pipeline
}

func (e *labelExtractor) ForStream(lbls labels.Labels) StreamSampleExtractor {
	return &streamLabelExtractor{e: e, sp: e.p.ForStream(lbls).(*streamPipeline)}
}

type streamLabelExtractor struct {
	e  *labelExtractor
	sp *streamPipeline
}

func (s *streamLabelExtractor) BaseLabels() LabelsResult { return s.sp.BaseLabels() }

func (s *streamLabelExtractor) Process(ts int64, line []byte, sm labels.Labels) (float64, LabelsResult, bool) {
	b := s.sp.builder
	b.Reset()
	b.setStructuredMetadata(sm)
	var ok bool
	for _, st := range s.sp.stages {
		if line, ok = st.Process(ts, line, b); !ok {
			return 0, nil, false
		}
	}
	raw, _ := b.Get(s.e.name)
	if raw == "" {
		return 0, nil, false
	}
	v, err := s.e.conv(raw)
	if err != nil {
		b.SetErr(ErrSampleExtraction)
		b.SetErrorDetails(err.Error())
		v = 0
	}
	if s.e.post != nil {
		if _, ok = s.e.post.Process(ts, line, b); !ok {
			return 0, nil, false
		}
	}
	b.Del(s.e.name)
	return v, b.LabelsResult(), true
}
