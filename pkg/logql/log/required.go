package log

// A metric query grouped `by (a, b)` keeps only labels a and b of each sample, so the labels a
// parser would add under any other name are built, hashed and thrown away on every line; and
// when such a label is unique per line (a timestamp, a request id) no two lines share a label
// set, so every line pays for a new one. WithRequiredLabels lets the parsers skip those
// labels, as Loki does when it can prove which labels a query needs.
//
// The proof is local to this package: the restriction is applied only when every stage is of
// a kind whose behaviour depends on labels solely through names it states (line filters,
// parsers, label filters, decolorize). Then a skipped label can change neither which entries
// are kept, nor any kept label's value, nor the sample's value: it could only have appeared in
// the result, and the caller promised to drop it there. The error labels are never skipped.

// requiredLabels is the set of label names a restricted pipeline must still produce.
type requiredLabels map[string]struct{}

func (r requiredLabels) has(name string) bool {
	if r == nil || name == ErrorLabel || name == ErrorDetailsLabel {
		return true
	}
	_, ok := r[name]
	return ok
}

// WithRequiredLabels returns an extractor like ex whose results may lack labels other than
// names and the error labels, and which is cheaper for it. The caller must use only the labels
// names of each result (as a `by (names)` grouping does) and must not have called ex.ForStream
// yet. When the restriction cannot be proved harmless (a line_format, label_format, drop, keep
// or distinct stage, or an extractor of another kind) ex itself is returned.
func WithRequiredLabels(ex SampleExtractor, names []string) SampleExtractor {
	req := requiredLabels{}
	for _, n := range names {
		req[n] = struct{}{}
	}
	switch e := ex.(type) {
	case *lineExtractor:
		if !collectRequired(e.p.stages, req) {
			return ex
		}
		return &lineExtractor{ex: e.ex, p: newRestrictedPipeline(e.p.stages, req)}
	case *labelExtractor:
		req[e.name] = struct{}{}
		if !collectRequired(e.p.stages, req) {
			return ex
		}
		if e.post != nil && !collectRequired([]Stage{e.post}, req) {
			return ex
		}
		c := *e
		c.p = newRestrictedPipeline(e.p.stages, req)
		return &c
	}
	return ex
}

func newRestrictedPipeline(stages []Stage, req requiredLabels) *pipeline {
	p := NewPipeline(stages).(*pipeline)
	p.required = req
	return p
}

// collectRequired adds to req the names stages read and reports whether every stage is of a
// kind that reads labels only by those names.
func collectRequired(stages []Stage, req requiredLabels) bool {
	for _, s := range stages {
		switch s := s.(type) {
		case filterStage, *decolorizer:
			// Line only.
		case *JSONParser, *JSONExpressionParser, *LogfmtParser, *LogfmtExpressionParser,
			*RegexpParser, *PatternParser, *UnpackParser:
			// They read only the stream's labels (for the _extracted suffix), which are
			// never skipped, and consult the builder before adding a label.
		case LabelFilterer:
			if !labelFilterNames(s, req) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// labelFilterNames adds the label names f reads to req; false for a filter it does not know.
func labelFilterNames(f LabelFilterer, req requiredLabels) bool {
	switch f := f.(type) {
	case *StringLabelFilter:
		req[f.m.Name] = struct{}{}
	case *NumericLabelFilter:
		req[f.name] = struct{}{}
	case *DurationLabelFilter:
		req[f.name] = struct{}{}
	case *BytesLabelFilter:
		req[f.name] = struct{}{}
	case *IPLabelFilter:
		req[f.name] = struct{}{}
	case *BinaryLabelFilter:
		return labelFilterNames(f.left, req) && labelFilterNames(f.right, req)
	default:
		return false
	}
	return true
}
