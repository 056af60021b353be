package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/sluicelog/sluice/pkg/api/internal/pattern"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
)

// patternStep is the finest step of /patterns: Loki's pattern ingester counts lines in 10s
// buckets, so a smaller step is raised to it.
const patternStep = 10 * time.Second

// patternLineLimit bounds the lines sampled when the query has pipeline stages, which run in
// the LogQL engine and are materialised (5000 is Loki's default max_entries_limit_per_query);
// a bare selector streams every line in the range through the detector instead.
const patternLineLimit = 5000

// detectedLevel is the structured metadata the distributor gives every entry (Loki 3's
// discover_log_levels): as in Loki, patterns are found per level and carry it.
const detectedLevel = "detected_level"

// Loki's querier answers only patterns that cover at least minPatternLines lines in the range,
// and at most maxPatterns of them, the most frequent first.
const (
	minPatternLines = 30
	maxPatterns     = 300
)

// patterns serves /loki/api/v1/patterns: the patterns of the selected lines with their counts
// per step, {"status":"success","data":[{"pattern":"..","samples":[[<unix s>,<count>],..]}]}.
func (a *API) patterns(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		a.writeError(w, badParam("%v", err))
		return
	}
	q := r.Form.Get("query")
	if q == "" {
		a.writeError(w, badParam("query parameter is required"))
		return
	}
	sel, err := syntax.ParseLogSelector(q)
	if err != nil {
		a.writeError(w, badParam("%v", err))
		return
	}
	start, end, err := timeRange(r, a.d.Now())
	if err != nil {
		a.writeError(w, err)
		return
	}
	step := defaultStep(start, end)
	if s := r.Form.Get("step"); s != "" {
		if step, err = parseDurationOrSeconds("step", s); err != nil {
			a.writeError(w, err)
			return
		}
	}
	step = max(step, patternStep)
	if end.Sub(start)/step > 11000 {
		a.writeError(w, badParam("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"))
		return
	}
	d := pattern.New(pattern.Config{}, step)
	if len(sel.Stages) == 0 && a.d.Logs != nil {
		err = a.streamPatterns(r, sel, start, end, d)
	} else {
		err = a.samplePatterns(r, q, start, end, d)
	}
	if err != nil {
		a.writeError(w, err)
		return
	}
	found := d.Patterns() // the most frequent first
	n := 0
	for n < len(found) && n < maxPatterns && found[n].Total >= minPatternLines {
		n++
	}
	b := make([]byte, 0, 4096)
	b = append(b, `{"status":"success","data":[`...)
	for i, p := range found[:n] {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"pattern":`...)
		b = appendString(b, p.Pattern)
		if p.Level != "" {
			b = append(b, `,"level":`...)
			b = appendString(b, p.Level)
		}
		b = append(b, `,"samples":[`...)
		for j, s := range p.Samples {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = strconv.AppendInt(b, s.T, 10)
			b = append(b, ',')
			b = strconv.AppendInt(b, s.Count, 10)
			b = append(b, ']')
		}
		b = append(b, "]}"...)
	}
	b = append(b, "]}\n"...)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(b)
}

// streamPatterns feeds every line of the selected streams in [start, end] to d, each stream's
// in time order.
func (a *API) streamPatterns(r *http.Request, sel *syntax.LogSelector, start, end time.Time, d *pattern.Detector) error {
	ms, err := sel.LabelMatchers()
	if err != nil {
		return badParam("%v", err)
	}
	it, err := a.d.Logs.SelectLogs(r.Context(), logql.SelectLogParams{
		Matchers: ms, Start: start.UnixNano(), End: end.UnixNano() + 1, Direction: logproto.Forward,
	})
	if err != nil {
		return err
	}
	defer it.Close()
	for n := 0; it.Next(); n++ {
		if n%4096 == 0 {
			if err := r.Context().Err(); err != nil {
				return err
			}
		}
		e := it.At()
		d.AddLevel(it.StreamHash(), e.StructuredMetadata.Get(detectedLevel), e.Timestamp, e.Line)
	}
	return it.Err()
}

// samplePatterns runs a log query with pipeline stages through the engine and feeds the most
// recent patternLineLimit lines to d, each stream's oldest first.
func (a *API) samplePatterns(r *http.Request, q string, start, end time.Time, d *pattern.Detector) error {
	res, err := a.d.Engine.Query(r.Context(), QueryRequest{
		Query: q, Start: start, End: end, Step: defaultStep(start, end),
		Direction: logproto.Backward, Limit: patternLineLimit,
	})
	if err != nil {
		return err
	}
	for _, s := range res.Streams {
		// The engine's streams carry the entries' metadata among their labels.
		h, es, level := s.Labels.Hash(), s.Entries, s.Labels.Get(detectedLevel)
		add := func(e *Entry) {
			lv := level
			if v := e.StructuredMetadata.Get(detectedLevel); v != "" {
				lv = v
			}
			d.AddLevel(h, lv, e.Timestamp, e.Line)
		}
		// A backward query lists each stream newest first; the detector wants time order.
		if len(es) > 1 && es[0].Timestamp > es[len(es)-1].Timestamp {
			for i := len(es) - 1; i >= 0; i-- {
				add(&es[i])
			}
			continue
		}
		for i := range es {
			add(&es[i])
		}
	}
	return nil
}
