package logql

import (
	"github.com/prometheus/prometheus/model/labels"
)

// sample is one series value at one step, inside the engine.
type sample struct {
	metric labels.Labels
	hash   uint64 // metric.Hash()
	v      float64
}

// stepEvaluator yields the value of a metric expression at each step of a query, in time order.
// Steps are the same for every evaluator of a query, so a binary operation can advance both
// sides in lockstep.
type stepEvaluator interface {
	// Next evaluates the next step. ts is the step time in Unix ns; vec is valid until the next
	// call. ok is false after the last step or on error (see Err).
	Next() (ts int64, vec []sample, ok bool)
	Err() error
	Close() error
}

// steps is the schedule of a query's evaluation times (Unix ns).
type steps struct {
	start, end, step int64
}

func (s steps) count() int {
	if s.step <= 0 {
		return 1
	}
	return int((s.end-s.start)/s.step) + 1
}

func (s steps) at(i int) int64 { return s.start + int64(i)*s.step }

// constEvaluator yields the same vector at every step: a literal (scalar) or vector(v).
type constEvaluator struct {
	st     steps
	i      int
	vec    []sample
	scalar bool
}

func (c *constEvaluator) Next() (int64, []sample, bool) {
	if c.i >= c.st.count() {
		return 0, nil, false
	}
	ts := c.st.at(c.i)
	c.i++
	return ts, c.vec, true
}

func (c *constEvaluator) Err() error   { return nil }
func (c *constEvaluator) Close() error { return nil }

func newConstEvaluator(st steps, v float64, scalar bool) *constEvaluator {
	ls := labels.EmptyLabels()
	return &constEvaluator{st: st, vec: []sample{{metric: ls, hash: ls.Hash(), v: v}}, scalar: scalar}
}

// isScalar reports whether ev yields a scalar rather than a vector.
func isScalar(ev stepEvaluator) bool {
	c, ok := ev.(*constEvaluator)
	return ok && c.scalar
}
