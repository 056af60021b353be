package api

import (
	"net/http"
	"strings"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logql/syntax"
)

// hiddenLabels are kept out of the label browser, as Loki does.
var hiddenLabels = map[string]bool{"__aggregated_metric__": true, "__tenant_id__": true, "__stream_shard__": true}

type labelsResponse struct {
	Status string   `json:"status"`
	Data   []string `json:"data"`
}

func (a *API) labelRequest(r *http.Request) (from, through int64, ms []*labels.Matcher, err error) {
	if err = r.ParseForm(); err != nil {
		return 0, 0, nil, badParam("%v", err)
	}
	start, end, err := timeRange(r, a.d.Now())
	if err != nil {
		return 0, 0, nil, err
	}
	if q := strings.TrimSpace(r.Form.Get("query")); q != "" && q != "{}" {
		if ms, err = syntax.ParseMatchers(q); err != nil {
			return 0, 0, nil, badParam("%v", err)
		}
	}
	// Loki's label queries include the end instant.
	return start.UnixNano(), end.UnixNano() + 1, ms, nil
}

func (a *API) labelNames(w http.ResponseWriter, r *http.Request)  { a.serveLabelNames(w, r, false) }
func (a *API) labelValues(w http.ResponseWriter, r *http.Request) { a.serveLabelValues(w, r, false) }
func (a *API) legacyLabelNames(w http.ResponseWriter, r *http.Request) {
	a.serveLabelNames(w, r, true)
}
func (a *API) legacyLabelValues(w http.ResponseWriter, r *http.Request) {
	a.serveLabelValues(w, r, true)
}

// writeLabels answers a label look-up: {"status":"success","data":[..]}, or for the
// deprecated /api/prom/label endpoints Loki's LabelResponse message as is: {"values":[..]}.
func writeLabels(w http.ResponseWriter, values []string, legacy bool) {
	if values == nil {
		values = []string{}
	}
	if legacy {
		writeJSON(w, struct {
			Values []string `json:"values"`
		}{values})
		return
	}
	writeJSON(w, labelsResponse{Status: "success", Data: values})
}

func (a *API) serveLabelNames(w http.ResponseWriter, r *http.Request, legacy bool) {
	from, through, ms, err := a.labelRequest(r)
	if err != nil {
		a.writeError(w, err)
		return
	}
	names, err := a.d.Reader.LabelNames(r.Context(), from, through, ms)
	if err != nil {
		a.writeError(w, err)
		return
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if !hiddenLabels[n] {
			out = append(out, n)
		}
	}
	writeLabels(w, out, legacy)
}

func (a *API) serveLabelValues(w http.ResponseWriter, r *http.Request, legacy bool) {
	from, through, ms, err := a.labelRequest(r)
	if err != nil {
		a.writeError(w, err)
		return
	}
	values, err := a.d.Reader.LabelValues(r.Context(), r.PathValue("name"), from, through, ms)
	if err != nil {
		a.writeError(w, err)
		return
	}
	writeLabels(w, values, legacy)
}

type seriesResponse struct {
	Status string              `json:"status"`
	Data   []map[string]string `json:"data"`
}

func (a *API) series(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		a.writeError(w, badParam("%v", err))
		return
	}
	start, end, err := timeRange(r, a.d.Now())
	if err != nil {
		a.writeError(w, err)
		return
	}
	selectors := r.Form["match[]"]
	if len(selectors) == 0 {
		selectors = r.Form["match"]
	}
	out := []map[string]string{}
	seen := map[uint64]bool{}
	if len(selectors) == 0 {
		selectors = []string{""}
	}
	for _, sel := range selectors {
		var ms []*labels.Matcher
		// Loki takes the empty selector {} as "every stream".
		if sel = strings.TrimSpace(sel); sel != "" && sel != "{}" {
			if ms, err = syntax.ParseMatchers(sel); err != nil {
				a.writeError(w, badParam("%v", err))
				return
			}
		}
		series, err := a.d.Reader.Series(r.Context(), start.UnixNano(), end.UnixNano()+1, ms)
		if err != nil {
			a.writeError(w, err)
			return
		}
		for _, s := range series {
			if h := s.Hash(); !seen[h] {
				seen[h] = true
				out = append(out, s.Map())
			}
		}
	}
	writeJSON(w, seriesResponse{Status: "success", Data: out})
}
