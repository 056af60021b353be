package queryrange

import (
	"time"
)

// span is one sub-query's time range in Unix ns. For a log query it is the half-open
// [start, end); for a metric range query both ends are evaluation times, start, start+step,
// ... up to end inclusive.
type span struct {
	start, end int64
}

// floorDiv is a/b rounded towards minus infinity (b > 0), so times before 1970 align too.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// alignDown rounds t down to a multiple of step.
func alignDown(t, step int64) int64 { return floorDiv(t, step) * step }

// alignUp rounds t up to a multiple of step.
func alignUp(t, step int64) int64 {
	d := alignDown(t, step)
	if d == t {
		return t
	}
	return d + step
}

// splitLogs cuts the half-open range [start, end) at multiples of interval. The spans are in
// time order, each a half-open range; together they cover [start, end) exactly once.
func splitLogs(start, end int64, interval time.Duration) []span {
	iv := int64(interval)
	if iv <= 0 || end <= start {
		return []span{{start, end}}
	}
	var out []span
	for t := start; t < end; {
		next := min((floorDiv(t, iv)+1)*iv, end)
		out = append(out, span{t, next})
		t = next
	}
	return out
}

// splitMetric cuts the evaluation times start, start+step, ... end of a range query into
// spans that each hold the times of one interval (multiples of interval are the cuts). Every
// evaluation time is in exactly one span; the spans are in time order and each one's ends are
// evaluation times. With a step at least as long as interval, each span is a single time.
func splitMetric(start, end int64, step, interval time.Duration) []span {
	st, iv := int64(step), int64(interval)
	if iv <= 0 || st <= 0 || end < start {
		return []span{{start, end}}
	}
	var out []span
	for t := start; t <= end; {
		boundary := (floorDiv(t, iv) + 1) * iv // the next cut after t
		last := min(t+(boundary-1-t)/st*st, end)
		out = append(out, span{t, last})
		t = last + st
	}
	return out
}
