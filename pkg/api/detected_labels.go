package api

import (
	"net/http"
	"regexp"
	"sort"
	"strconv"

	"github.com/prometheus/prometheus/model/labels"
)

// staticLabels are always shown by /detected_labels when they have values, whatever the values
// look like, as in Loki.
var staticLabels = map[string]bool{"cluster": true, "namespace": true, "instance": true, "pod": true}

type detectedLabel struct {
	Label       string `json:"label"`
	Cardinality uint64 `json:"cardinality"`
}

// detectedLabels serves /loki/api/v1/detected_labels: the stream labels of the selected streams
// with their number of values, for Logs Drilldown. As Loki does, it leaves out labels whose
// values are all IDs (numbers or UUIDs) unless they are one of the static labels; a label whose
// values are only 0 and 1 is a flag and kept.
func (a *API) detectedLabels(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		a.writeError(w, badParam("%v", err))
		return
	}
	start, end, err := timeRange(r, a.d.Now())
	if err != nil {
		a.writeError(w, err)
		return
	}
	var ms []*labels.Matcher
	if q := r.Form.Get("query"); q != "" {
		if ms, err = selectorMatchers(q); err != nil {
			a.writeError(w, err)
			return
		}
	}
	series, err := a.d.Reader.Series(r.Context(), start.UnixNano(), end.UnixNano()+1, ms)
	if err != nil {
		a.writeError(w, err)
		return
	}
	values := map[string]map[string]struct{}{}
	for _, s := range series {
		s.Range(func(l labels.Label) {
			set := values[l.Name]
			if set == nil {
				set = map[string]struct{}{}
				values[l.Name] = set
			}
			set[l.Value] = struct{}{}
		})
	}
	out := []detectedLabel{}
	for name, set := range values {
		if hiddenLabels[name] {
			continue
		}
		if !staticLabels[name] && rejectLabel(set) {
			continue
		}
		out = append(out, detectedLabel{Label: name, Cardinality: uint64(len(set))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Label < out[j].Label })
	writeJSON(w, struct {
		DetectedLabels []detectedLabel `json:"detectedLabels"`
	}{out})
}

// rejectLabel reports whether a label with these values says nothing to a person browsing logs:
// it has no values, or every value is an ID (a number or a UUID), unless the values are only
// the flags "0" and "1".
func rejectLabel(values map[string]struct{}) bool {
	if len(values) == 0 {
		return true
	}
	if len(values) <= 2 {
		flags := true
		for v := range values {
			flags = flags && (v == "0" || v == "1")
		}
		if flags {
			return false
		}
	}
	for v := range values {
		if !isID(v) {
			return false
		}
	}
	return true
}

var uuidPattern = regexp.MustCompile(`^(?i:urn:uuid:)?\{?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\}?$`)

func isID(v string) bool {
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return true
	}
	return uuidPattern.MatchString(v)
}
