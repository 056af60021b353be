package api

import "net/http"

// legacyLabelsResponse is the body of the deprecated /api/prom/label endpoints, which Loki
// answers with its LabelResponse message as is: {"values":[..]}.
type legacyLabelsResponse struct {
	Values []string `json:"values"`
}

// legacyLabelNames serves /api/prom/label.
func (a *API) legacyLabelNames(w http.ResponseWriter, r *http.Request) {
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
	writeJSON(w, legacyLabelsResponse{Values: out})
}

// legacyLabelValues serves /api/prom/label/<name>/values.
func (a *API) legacyLabelValues(w http.ResponseWriter, r *http.Request) {
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
	if values == nil {
		values = []string{}
	}
	writeJSON(w, legacyLabelsResponse{Values: values})
}
