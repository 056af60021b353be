package logql

import (
	"regexp"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logql/syntax"
)

// labelReplaceEvaluator is label_replace(): PromQL's semantics, the regex anchored at both ends.
type labelReplaceEvaluator struct {
	expr  *syntax.LabelReplace
	re    *regexp.Regexp
	inner stepEvaluator
	cache map[uint64]sample
	out   []sample
}

func newLabelReplaceEvaluator(lr *syntax.LabelReplace, inner stepEvaluator) (*labelReplaceEvaluator, error) {
	re, err := regexp.Compile("^(?s:" + lr.Regex + ")$")
	if err != nil {
		return nil, &syntax.ParseError{Msg: "invalid regex in label_replace: " + err.Error()}
	}
	return &labelReplaceEvaluator{expr: lr, re: re, inner: inner, cache: map[uint64]sample{}}, nil
}

func (l *labelReplaceEvaluator) Next() (int64, []sample, bool) {
	ts, in, ok := l.inner.Next()
	if !ok {
		return 0, nil, false
	}
	l.out = l.out[:0]
	for _, s := range in {
		r, ok := l.cache[s.hash]
		if !ok {
			r = l.replace(s)
			l.cache[s.hash] = r
		}
		r.v = s.v
		l.out = append(l.out, r)
	}
	return ts, l.out, true
}

func (l *labelReplaceEvaluator) replace(s sample) sample {
	src := s.metric.Get(l.expr.Src)
	idx := l.re.FindStringSubmatchIndex(src)
	if idx == nil {
		return s
	}
	v := string(l.re.ExpandString(nil, l.expr.Replacement, src, idx))
	b := labels.NewBuilder(s.metric)
	if v == "" {
		b.Del(l.expr.Dst)
	} else {
		b.Set(l.expr.Dst, v)
	}
	ls := b.Labels()
	return sample{metric: ls, hash: ls.Hash()}
}

func (l *labelReplaceEvaluator) Err() error   { return l.inner.Err() }
func (l *labelReplaceEvaluator) Close() error { return l.inner.Close() }
