package logql

import (
	"context"
	"fmt"
	"slices"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/iter"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql/log"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
	"github.com/sluicelog/sluice/pkg/unsafestr"
)

// point is one extracted sample inside a window: a timestamp (Unix ns) and a value.
type point struct {
	t int64
	v float64
}

// windowSeries holds the samples of one series that are still inside an open window.
type windowSeries struct {
	metric labels.Labels
	hash   uint64  // metric.Hash()
	key    uint64  // the key of rangeEvaluator.series
	pts    []point // time order; pts[head:] are live
	head   int
	acc    rangeAcc // instead of pts when windows cannot overlap (rangeEvaluator.accFn)
	gone   bool     // dropped from rangeEvaluator.series (its windows emptied)
}

func (w *windowSeries) live() []point { return w.pts[w.head:] }

// evict drops samples at or before t (windows are left-open) and compacts the buffer now and
// then, so its size stays bounded by the samples of one window.
func (w *windowSeries) evict(t int64) {
	for w.head < len(w.pts) && w.pts[w.head].t <= t {
		w.head++
	}
	if w.head > 64 && w.head*2 > len(w.pts) {
		n := copy(w.pts, w.pts[w.head:])
		w.pts = w.pts[:n]
		w.head = 0
	}
}

// rangeEvaluator computes a range aggregation step by step from one forward pass over the
// entries: each entry is turned into a sample once and kept only while a window still
// covers it. Memory is bounded by the samples inside one window plus one entry per series.
type rangeEvaluator struct {
	ctx  context.Context
	expr *syntax.RangeAggregation
	// grouping is the range aggregation's own by/without, or one pushed down from an
	// enclosing sum (see pushdownGrouping).
	grouping *syntax.Grouping
	it       iter.EntryIterator
	ex       log.SampleExtractor
	st       steps
	i        int
	rangeNs  int64
	offset   int64
	fn       rangeFunc
	// accFn, when set, aggregates each window's samples as they come (rangeAcc): the windows
	// cannot overlap and the function needs no more than running values.
	accFn    func(*rangeAcc) float64
	accFlags accFlags

	series map[uint64]*windowSeries
	order  []*windowSeries // series in first-seen order, so results are deterministic
	hbuf   []byte
	// byResult remembers, under a grouping, the series of each entry label set seen (by its
	// Hash, computed once per set by the pipeline), so that an entry's series costs one map
	// look-up instead of hashing the grouping's labels again. It is bounded like the pipeline's
	// own cache of label sets.
	byResult map[uint64]*windowSeries
	// streams caches the extractor of each stream by the iterator's StreamHash: log's
	// ForStream hashes the labels (and may allocate) on every call.
	streams map[uint64]log.StreamSampleExtractor
	names   []string // grouping.Labels, sorted as HashForLabels and HashWithoutLabels need
	read    uint64   // entries read, to check for cancellation now and then
	pending bool     // it holds an entry not yet consumed (beyond the last window's end)
	done    bool     // it is exhausted
	out     []sample
	err     error

	absentLabels labels.Labels
}

// newRangeEvaluator selects the entries a range aggregation needs over all steps.
func (e *Engine) newRangeEvaluator(ctx context.Context, ra *syntax.RangeAggregation, grouping *syntax.Grouping, st steps, c *counters) (*rangeEvaluator, error) {
	ms, err := selectorMatchers(ra.Left.Left)
	if err != nil {
		return nil, err
	}
	filter, needle, err := lineFilterFunc(ra.Left.Left)
	if err != nil {
		return nil, err
	}
	ex, err := buildExtractor(ra)
	if err != nil {
		return nil, err
	}
	if grouping != nil && !grouping.Without && !e.allLabels {
		// Each sample keeps only the grouping's labels (seriesFor), and the error check below
		// sees only those: the parsers need not extract any other label.
		ex = log.WithRequiredLabels(ex, grouping.Labels)
	}
	fn, err := rangeFuncFor(ra)
	if err != nil {
		return nil, err
	}
	rangeNs, offset := int64(ra.Left.Interval), int64(ra.Left.Offset)
	lastT := st.at(st.count() - 1)
	sp := SelectLogParams{
		Matchers:   ms,
		Start:      st.start - offset - rangeNs + 1, // windows are (t-range, t]
		End:        lastT - offset + 1,
		Direction:  logproto.Forward,
		LineFilter: filter, Needle: needle,
	}
	if filter == nil && needle == nil && countsOnly(ra) {
		sp.NoLinesBefore = sp.End
	}
	it, err := e.q.SelectLogs(ctx, sp)
	if err != nil {
		return nil, fmt.Errorf("select logs for %s: %w", ra, err)
	}
	re := &rangeEvaluator{
		ctx: ctx, expr: ra, grouping: grouping, it: &countingIterator{EntryIterator: it, c: c}, ex: ex, st: st,
		rangeNs: rangeNs, offset: offset, fn: fn,
		series: map[uint64]*windowSeries{}, byResult: map[uint64]*windowSeries{}, streams: map[uint64]log.StreamSampleExtractor{},
	}
	if st.count() == 1 || st.step >= rangeNs {
		if f, fn, ok := accFuncFor(ra); ok {
			re.accFlags, re.accFn = f, fn
		}
	}
	if grouping != nil {
		re.names = slices.Clone(grouping.Labels)
		slices.Sort(re.names)
	}
	if ra.Op == syntax.OpAbsentOver {
		re.absentLabels = absentLabels(ra.Left.Left)
	}
	return re, nil
}

// countsOnly reports whether ra's value depends on its entries' timestamps, stream labels
// and structured metadata only, never on their lines: it counts entries (count_over_time,
// rate, absent_over_time) and its stages only filter, drop or keep labels, which without a
// parser before them are the stream's and the metadata's. Grafana's log volume queries are
// of this kind (sum by (level, detected_level) (count_over_time({...} | drop __error__ [1m]))).
// Line filters are not stages here: the caller checks them apart.
func countsOnly(ra *syntax.RangeAggregation) bool {
	switch ra.Op {
	case syntax.OpCountOverTime, syntax.OpRate, syntax.OpAbsentOver:
	default:
		return false
	}
	if ra.Left.Unwrap != nil {
		return false
	}
	for _, st := range ra.Left.Left.Stages {
		switch st.(type) {
		case *syntax.LabelFilter, *syntax.DropLabels, *syntax.KeepLabels:
		default:
			return false
		}
	}
	return true
}

// absentLabels are the labels absent_over_time reports: those of the selector's equality
// matchers.
func absentLabels(sel *syntax.LogSelector) labels.Labels {
	b := labels.NewScratchBuilder(len(sel.Matchers))
	seen := map[string]bool{}
	for _, m := range sel.Matchers {
		if m.Type == labels.MatchEqual && !seen[m.Name] {
			seen[m.Name] = true
			b.Add(m.Name, m.Value)
		}
	}
	b.Sort()
	return b.Labels()
}

// maxGroupCache bounds the label sets whose grouped labels a range evaluator remembers.
const maxGroupCache = 1 << 16

// pushdownGrouping returns the grouping of an enclosing sum that can be applied inside a range
// aggregation: sum by (x) of a count, rate, byte count or sum over time equals the same range
// aggregation computed over entries grouped by x first. Grouping early keeps one window per
// group instead of one per distinct label set, which matters when parsers add labels that are
// unique per line. Loki pushes the grouping down for the same operations.
func pushdownGrouping(outer *syntax.VectorAggregation, inner *syntax.RangeAggregation) *syntax.Grouping {
	if outer.Op != syntax.OpSum || inner.Grouping != nil {
		return nil
	}
	switch inner.Op {
	case syntax.OpCountOverTime, syntax.OpRate, syntax.OpBytesOverTime, syntax.OpBytesRate, syntax.OpSumOverTime:
		if outer.Grouping == nil {
			return &syntax.Grouping{} // by (): everything in one group
		}
		return outer.Grouping
	}
	return nil
}

// bytesOf views a string as bytes without copying; pipeline stages never write to the line
// they are given, and the slice is not kept past the Process call.
func bytesOf(s string) []byte { return unsafestr.Bytes(s) }

// seriesFor returns the window series a sample with labels res belongs to, after the grouping,
// creating it when new. Grouped series are found by a hash of the kept labels, computed
// without building them, once per label set seen (byResult); the labels are built only for a
// new series.
func (r *rangeEvaluator) seriesFor(res log.LabelsResult) *windowSeries {
	g := r.grouping
	var key uint64
	switch {
	case g == nil:
		key = res.Hash()
	default:
		if ws := r.byResult[res.Hash()]; ws != nil && !ws.gone {
			return ws
		}
		if g.Without {
			key, r.hbuf = res.Labels().HashWithoutLabels(r.hbuf, r.names...)
		} else {
			key, r.hbuf = res.Labels().HashForLabels(r.hbuf, r.names...)
		}
	}
	ws := r.series[key]
	if ws == nil {
		metric := res.Labels()
		if g != nil {
			b := labels.NewBuilder(metric)
			if g.Without {
				b.Del(g.Labels...)
			} else {
				b.Keep(g.Labels...)
			}
			metric = b.Labels()
		}
		ws = &windowSeries{metric: metric, hash: metric.Hash(), key: key}
		r.series[key] = ws
		r.order = append(r.order, ws)
	}
	if g != nil {
		if len(r.byResult) >= 4096 {
			clear(r.byResult)
		}
		r.byResult[res.Hash()] = ws
	}
	return ws
}

// consume reads entries with timestamps up to windowEnd into the series' windows.
func (r *rangeEvaluator) consume(windowStart, windowEnd int64) error {
	for !r.done {
		if !r.pending {
			if !r.it.Next() {
				r.done = true
				return r.it.Err()
			}
			r.pending = true
		}
		ent := r.it.At()
		if ent.Timestamp > windowEnd {
			return nil
		}
		r.pending = false
		if r.read++; r.read&4095 == 0 {
			if err := r.ctx.Err(); err != nil {
				return err
			}
		}
		if ent.Timestamp <= windowStart {
			continue // between windows (step > range): no window will ever need it
		}
		sx, found := r.streams[r.it.StreamHash()]
		if !found {
			sx = r.ex.ForStream(r.it.Labels())
			r.streams[r.it.StreamHash()] = sx
		}
		v, res, ok := sx.Process(ent.Timestamp, bytesOf(ent.Line), ent.StructuredMetadata)
		if !ok {
			continue
		}
		ws := r.seriesFor(res)
		// As in Loki, the check sees the series' labels after grouping: a grouping that drops
		// __error__ (such as a pushed-down sum by) lets failed entries through.
		if err := checkErrorLabel(ws.metric); err != nil {
			return err
		}
		if r.accFn != nil {
			ws.acc.add(v, r.accFlags)
		} else {
			ws.pts = append(ws.pts, point{t: ent.Timestamp, v: v})
		}
	}
	return nil
}

func (r *rangeEvaluator) Next() (int64, []sample, bool) {
	if r.err != nil || r.i >= r.st.count() {
		return 0, nil, false
	}
	ts := r.st.at(r.i)
	r.i++
	windowEnd := ts - r.offset
	windowStart := windowEnd - r.rangeNs
	if err := r.consume(windowStart, windowEnd); err != nil {
		r.err = err
		return 0, nil, false
	}
	r.out = r.out[:0]
	kept := r.order[:0]
	for _, ws := range r.order {
		var n int
		if r.accFn == nil {
			ws.evict(windowStart)
			n = len(ws.live())
		} else {
			n = ws.acc.n // the window's samples, none of which the next window shares
		}
		if n == 0 {
			delete(r.series, ws.key) // keeps memory bounded by the series of open windows
			ws.gone = true
			continue
		}
		kept = append(kept, ws)
		switch {
		case r.expr.Op == syntax.OpAbsentOver:
		case r.accFn != nil:
			r.out = append(r.out, sample{metric: ws.metric, hash: ws.hash, v: r.accFn(&ws.acc)})
		default:
			if v, ok := r.fn(ws.live(), windowStart, windowEnd); ok {
				r.out = append(r.out, sample{metric: ws.metric, hash: ws.hash, v: v})
			}
		}
		ws.acc = rangeAcc{}
	}
	clear(r.order[len(kept):])
	r.order = kept
	if r.expr.Op == syntax.OpAbsentOver {
		r.out = r.out[:0]
		if len(r.series) == 0 {
			r.out = append(r.out, sample{metric: r.absentLabels, hash: r.absentLabels.Hash(), v: 1})
		}
	}
	return ts, r.out, true
}

func (r *rangeEvaluator) Err() error   { return r.err }
func (r *rangeEvaluator) Close() error { return r.it.Close() }
