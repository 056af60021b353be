package api

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/index"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
	"github.com/sluicelog/sluice/pkg/tenant"
)

// IndexReader answers the index look-ups of /index/stats and /index/volume (the querier): the
// store's index plus the ingesters' unflushed data. Times are Unix ns, both ends inclusive.
type IndexReader interface {
	IndexStats(ctx context.Context, from, through int64, ms []*labels.Matcher) (index.Stats, error)
	Volume(ctx context.Context, from, through int64, req index.VolumeRequest, ms []*labels.Matcher) ([]index.Volume, error)
}

// selectorMatchers reads the stream selector of a query parameter. A whole log query is
// accepted and only its selector used; "{}" selects everything, as Loki's volume endpoints allow.
func selectorMatchers(q string) ([]*labels.Matcher, error) {
	if strings.TrimSpace(q) == "" {
		return nil, badParam("query parameter is required")
	}
	if strings.Join(strings.Fields(q), "") == "{}" {
		return nil, nil
	}
	sel, err := syntax.ParseLogSelector(q)
	if err != nil {
		return nil, badParam("%v", err)
	}
	ms, err := sel.LabelMatchers()
	if err != nil {
		return nil, badParam("%v", err)
	}
	return ms, nil
}

// indexStats serves /loki/api/v1/index/stats: {"streams":N,"chunks":N,"bytes":N,"entries":N}.
func (a *API) indexStats(w http.ResponseWriter, r *http.Request) {
	if a.d.Index == nil {
		http.Error(w, "index stats are not available in this process", http.StatusNotFound)
		return
	}
	if err := r.ParseForm(); err != nil {
		a.writeError(w, badParam("%v", err))
		return
	}
	start, end, err := timeRange(r, a.d.Now())
	if err != nil {
		a.writeError(w, err)
		return
	}
	ms, err := selectorMatchers(r.Form.Get("query"))
	if err != nil {
		a.writeError(w, err)
		return
	}
	st, err := a.d.Index.IndexStats(r.Context(), start.UnixNano(), end.UnixNano(), ms)
	if err != nil {
		a.writeError(w, err)
		return
	}
	writeJSON(w, struct {
		Streams uint64 `json:"streams"`
		Chunks  uint64 `json:"chunks"`
		Bytes   uint64 `json:"bytes"`
		Entries uint64 `json:"entries"`
	}{st.Streams, st.Chunks, st.Bytes, st.Entries})
}

// volumeRequest is a parsed /index/volume or /index/volume_range request.
type volumeRequest struct {
	start, end time.Time
	step       time.Duration
	ms         []*labels.Matcher
	req        index.VolumeRequest
}

func (a *API) parseVolume(r *http.Request, ranged bool) (volumeRequest, error) {
	var v volumeRequest
	if err := r.ParseForm(); err != nil {
		return v, badParam("%v", err)
	}
	var err error
	if v.start, v.end, err = timeRange(r, a.d.Now()); err != nil {
		return v, err
	}
	limit, err := parseLimit(r.Form.Get("limit"), 100)
	if err != nil {
		return v, err
	}
	if limit == 0 {
		return v, badParam("limit must be a positive value")
	}
	v.req.Limit = limit
	switch agg := r.Form.Get("aggregateBy"); agg {
	case "", index.AggregateBySeries, index.AggregateByLabels:
		v.req.AggregateBy = agg
	default:
		return v, badParam("invalid aggregation option: %s", agg)
	}
	for _, s := range r.Form["targetLabels"] {
		for _, name := range strings.Split(s, ",") {
			if name = strings.TrimSpace(name); name != "" {
				v.req.TargetLabels = append(v.req.TargetLabels, name)
			}
		}
	}
	if v.ms, err = selectorMatchers(r.Form.Get("query")); err != nil {
		return v, err
	}
	if ranged {
		v.step = defaultStep(v.start, v.end)
		if s := r.Form.Get("step"); s != "" {
			if v.step, err = parseDurationOrSeconds("step", s); err != nil {
				return v, err
			}
		}
		if v.end.Sub(v.start)/v.step > 11000 {
			return v, badParam("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")
		}
	}
	return v, nil
}

func (a *API) volume(w http.ResponseWriter, r *http.Request)      { a.serveVolume(w, r, false) }
func (a *API) volumeRange(w http.ResponseWriter, r *http.Request) { a.serveVolume(w, r, true) }

// serveVolume answers /index/volume (one sample per group, at the end of the range) and
// /index/volume_range (one sample per step, at the start of each step), in Loki's query
// response envelope.
func (a *API) serveVolume(w http.ResponseWriter, r *http.Request, ranged bool) {
	if a.d.Index == nil {
		http.Error(w, "volume is not available in this process", http.StatusNotFound)
		return
	}
	id, err := tenant.From(r.Context())
	if err != nil {
		a.writeError(w, err)
		return
	}
	maxSeries := -1 // no limit
	if a.d.Limits != nil {
		lim := a.d.Limits.For(id)
		if !lim.VolumeEnabled {
			// As Loki answers: for this tenant the endpoints do not exist.
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		maxSeries = lim.VolumeMaxSeries
	}
	v, err := a.parseVolume(r, ranged)
	if err != nil {
		a.writeError(w, err)
		return
	}
	type group struct {
		metric labels.Labels
		points []Point
	}
	groups := map[string]*group{}
	add := func(vols []index.Volume, at time.Time) {
		for _, vol := range vols {
			g := groups[vol.Name]
			if g == nil {
				g = &group{metric: vol.Labels}
				if v.req.AggregateBy == index.AggregateByLabels {
					g.metric = labels.FromStrings(vol.Name, "")
				}
				groups[vol.Name] = g
			}
			g.points = append(g.points, Point{T: at.UnixMilli(), V: float64(vol.Bytes)})
		}
	}
	ctx := r.Context()
	if !ranged {
		vols, err := a.volumeOf(ctx, v.start.UnixNano(), v.end.UnixNano(), v, maxSeries)
		if err != nil {
			a.writeError(w, err)
			return
		}
		add(vols, v.end)
	} else {
		for s := v.start; s.Before(v.end); s = s.Add(v.step) {
			e := s.Add(v.step)
			through := e.UnixNano() - 1
			if !e.Before(v.end) {
				through = v.end.UnixNano()
			}
			vols, err := a.volumeOf(ctx, s.UnixNano(), through, v, maxSeries)
			if err != nil {
				a.writeError(w, err)
				return
			}
			add(vols, s)
		}
	}
	names := make([]string, 0, len(groups))
	multi := false
	for name, g := range groups {
		names = append(names, name)
		multi = multi || len(g.points) > 1
	}
	// Loki orders groups by their first value, largest first, then by name.
	slices.SortFunc(names, func(x, y string) int {
		return cmp.Or(cmp.Compare(groups[y].points[0].V, groups[x].points[0].V), strings.Compare(x, y))
	})
	// As Loki does, the answer is a vector unless some group has more than one sample, so a
	// volume_range over a single step is a vector too.
	res := &QueryResult{Type: ResultVector, Vector: []Sample{}}
	if multi {
		res.Type = ResultMatrix
		for _, name := range names {
			g := groups[name]
			res.Matrix = append(res.Matrix, Series{Metric: g.metric, Points: g.points})
		}
	} else {
		for _, name := range names {
			g := groups[name]
			res.Vector = append(res.Vector, Sample{Metric: g.metric, Point: g.points[0]})
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(appendQueryResponse(make([]byte, 0, 1024), res, false))
}

// volumeOf asks the index for the groups of v over [from, through]. With maxSeries not
// negative (the tenant's volume_max_series) it refuses the request when there are more groups
// than that, as Loki does, whatever the request's own limit.
func (a *API) volumeOf(ctx context.Context, from, through int64, v volumeRequest, maxSeries int) ([]index.Volume, error) {
	if maxSeries < 0 {
		return a.d.Index.Volume(ctx, from, through, v.req, v.ms)
	}
	// The index cuts its answer at the limit, largest first: one group more than allowed
	// tells whether there are too many, and the request's own cut is made here after.
	req := v.req
	req.Limit = max(req.Limit, maxSeries+1)
	vols, err := a.d.Index.Volume(ctx, from, through, req, v.ms)
	if err != nil {
		return nil, err
	}
	if len(vols) > maxSeries {
		return nil, badParam("the query hit the max number of series limit (limit: %d series)", maxSeries)
	}
	if v.req.Limit > 0 && len(vols) > v.req.Limit {
		vols = vols[:v.req.Limit]
	}
	return vols, nil
}
