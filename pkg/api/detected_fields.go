package api

import (
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql/log"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
)

// Field types of /detected_fields, as Loki names them.
const (
	fieldString   = "string"
	fieldInt      = "int"
	fieldFloat    = "float"
	fieldBoolean  = "boolean"
	fieldDuration = "duration"
	fieldBytes    = "bytes"
)

// detectedField is one field found in the sampled lines.
type detectedField struct {
	typ     string
	parsers []string // nil for structured metadata
	values  map[string]struct{}
}

type detectedFieldJSON struct {
	Label       string   `json:"label"`
	Type        string   `json:"type"`
	Cardinality uint64   `json:"cardinality"`
	Parsers     []string `json:"parsers"`
}

// fieldsRequest is a parsed /detected_fields or /detected_field/<name>/values request.
type fieldsRequest struct {
	q          QueryRequest
	fieldLimit int
}

func (a *API) parseFieldsRequest(r *http.Request) (fieldsRequest, error) {
	var f fieldsRequest
	if err := r.ParseForm(); err != nil {
		return f, badParam("%v", err)
	}
	q := r.Form.Get("query")
	if q == "" {
		return f, badParam("query parameter is required")
	}
	if _, err := syntax.ParseLogSelector(q); err != nil {
		return f, badParam("%v", err)
	}
	start, end, err := timeRange(r, a.d.Now())
	if err != nil {
		return f, err
	}
	if f.fieldLimit, err = parseLimit(r.Form.Get("limit"), 1000); err != nil {
		return f, err
	}
	lineLimit, err := parseLimit(r.Form.Get("line_limit"), 1000)
	if err != nil {
		return f, badParam("could not parse 'line_limit' parameter: %q is not a positive integer", r.Form.Get("line_limit"))
	}
	if f.fieldLimit == 0 {
		f.fieldLimit = 1000
	}
	if lineLimit == 0 {
		lineLimit = 1000
	}
	f.q = QueryRequest{
		Query: q, Start: start, End: end, Step: defaultStep(start, end),
		Direction: logproto.Backward, Limit: lineLimit, CategorizeLabels: true,
	}
	return f, nil
}

// sampleFields runs the request's log query over its most recent lines and detects the fields
// in them, as Loki does: structured metadata, labels the query's own parsers extracted, and the
// fields of the line itself read as JSON or, failing that, as logfmt.
func (a *API) sampleFields(r *http.Request, f fieldsRequest) (map[string]*detectedField, error) {
	res, err := a.d.Engine.Query(r.Context(), f.q)
	if err != nil {
		return nil, err
	}
	if res.Type != ResultStreams {
		return nil, badParam("only log queries are supported")
	}
	return detectFields(res.Streams, f.fieldLimit), nil
}

// detectFields collects at most limit fields from streams.
func detectFields(streams []Stream, limit int) map[string]*detectedField {
	fields := map[string]*detectedField{}
	get := func(name string, parsers []string) *detectedField {
		df := fields[name]
		if df == nil && len(fields) < limit {
			df = &detectedField{typ: fieldString, parsers: slices.Clone(parsers), values: map[string]struct{}{}}
			fields[name] = df
		}
		return df
	}
	json, logfmt := log.NewJSONParser(), log.NewLogfmtParser(false, false)
	for _, s := range streams {
		b := log.NewLabelsBuilder(s.Labels)
		for _, e := range s.Entries {
			e.StructuredMetadata.Range(func(l labels.Label) {
				if df := get(l.Name, nil); df != nil {
					df.typ = fieldType(l.Value)
					df.values[l.Value] = struct{}{}
				}
			})
			// Labels the query's parsers extracted count as parsed fields; the line is then parsed
			// again on its own, JSON first.
			parser := "json"
			b.Reset()
			json.Process(e.Timestamp, []byte(e.Line), b)
			if b.HasErr() {
				b.Reset()
				parser = "logfmt"
				logfmt.Process(e.Timestamp, []byte(e.Line), b)
				if b.HasErr() {
					parser = ""
				}
			}
			var parsers []string
			if parser != "" {
				parsers = []string{parser}
			}
			add := func(l labels.Label) {
				if l.Name == log.ErrorLabel || l.Name == log.ErrorDetailsLabel || l.Name == "__preserve_error__" {
					return
				}
				df := get(l.Name, parsers)
				if df == nil {
					return
				}
				for _, p := range parsers {
					if !slices.Contains(df.parsers, p) {
						df.parsers = append(df.parsers, p)
					}
				}
				df.typ = fieldType(l.Value)
				df.values[l.Value] = struct{}{}
			}
			e.Parsed.Range(add)
			if parser != "" {
				b.LabelsResult().Parsed().Range(add)
			}
		}
	}
	return fields
}

// detectedFields serves /loki/api/v1/detected_fields.
func (a *API) detectedFields(w http.ResponseWriter, r *http.Request) {
	f, err := a.parseFieldsRequest(r)
	if err != nil {
		a.writeError(w, err)
		return
	}
	fields, err := a.sampleFields(r, f)
	if err != nil {
		a.writeError(w, err)
		return
	}
	out := make([]detectedFieldJSON, 0, len(fields))
	for name, df := range fields {
		p := df.parsers
		if len(p) == 0 {
			p = nil
		}
		out = append(out, detectedFieldJSON{Label: name, Type: df.typ, Cardinality: uint64(len(df.values)), Parsers: p})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Label < out[j].Label })
	writeJSON(w, struct {
		Fields []detectedFieldJSON `json:"fields"`
		Limit  int                 `json:"limit"`
	}{out, f.fieldLimit})
}

// detectedFieldValues serves /loki/api/v1/detected_field/<name>/values: the distinct values of
// one field in the sampled lines, at most limit of them.
func (a *API) detectedFieldValues(w http.ResponseWriter, r *http.Request) {
	f, err := a.parseFieldsRequest(r)
	if err != nil {
		a.writeError(w, err)
		return
	}
	name := r.PathValue("name")
	// Collect this field whatever the field limit: the limit caps the values here.
	limit := f.fieldLimit
	f.fieldLimit = int(^uint(0) >> 1)
	fields, err := a.sampleFields(r, f)
	if err != nil {
		a.writeError(w, err)
		return
	}
	values := []string{}
	if df := fields[name]; df != nil {
		for v := range df.values {
			values = append(values, v)
		}
	}
	sort.Strings(values)
	if len(values) > limit {
		values = values[:limit]
	}
	writeJSON(w, struct {
		Values []string `json:"values"`
		Limit  int      `json:"limit"`
	}{values, limit})
}

// fieldType guesses a value's type as Loki does, trying in order: int, float, boolean,
// duration, bytes, and string when nothing else fits.
func fieldType(v string) string {
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		return fieldInt
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return fieldFloat
	}
	if _, err := strconv.ParseBool(v); err == nil {
		return fieldBoolean
	}
	if _, err := time.ParseDuration(v); err == nil {
		return fieldDuration
	}
	if isBytes(v) {
		return fieldBytes
	}
	return fieldString
}

// byteUnits are the size suffixes humanize.ParseBytes (Loki's bytes check) accepts.
var byteUnits = map[string]bool{
	"": true, "b": true, "k": true, "kb": true, "ki": true, "kib": true, "m": true, "mb": true, "mi": true, "mib": true,
	"g": true, "gb": true, "gi": true, "gib": true, "t": true, "tb": true, "ti": true, "tib": true,
	"p": true, "pb": true, "pi": true, "pib": true, "e": true, "eb": true, "ei": true, "eib": true,
}

// isBytes reports whether v is a size such as "12kB", "1.5 GiB" or "300 B".
func isBytes(v string) bool {
	i := 0
	digits := 0
	for i < len(v) && (v[i] >= '0' && v[i] <= '9' || v[i] == '.' || v[i] == ',') {
		if v[i] >= '0' && v[i] <= '9' {
			digits++
		}
		i++
	}
	if digits == 0 {
		return false
	}
	num := strings.ReplaceAll(v[:i], ",", "")
	if _, err := strconv.ParseFloat(num, 64); err != nil {
		return false
	}
	return byteUnits[strings.ToLower(strings.TrimSpace(v[i:]))]
}
