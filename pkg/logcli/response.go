package logcli

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Result types of a query response, as Loki names them in data.resultType.
const (
	ResultStreams = "streams"
	ResultMatrix  = "matrix"
	ResultVector  = "vector"
	ResultScalar  = "scalar"
)

// QueryResponse is the body of /loki/api/v1/query and /query_range.
type QueryResponse struct {
	Status string    `json:"status"`
	Data   QueryData `json:"data"`
}

// QueryData is the data member of a query response. Result is kept undecoded until ResultType
// says what it holds; Streams, Matrix, Vector and Scalar decode it.
type QueryData struct {
	ResultType string          `json:"resultType"`
	Result     json.RawMessage `json:"result"`
	Stats      json.RawMessage `json:"stats,omitempty"`
}

// Streams decodes a "streams" result.
func (d *QueryData) Streams() ([]Stream, error) {
	return decodeStreams(d.Result)
}

// Matrix decodes a "matrix" result.
func (d *QueryData) Matrix() (Matrix, error) {
	m := Matrix{}
	if err := json.Unmarshal(d.Result, &m); err != nil {
		return nil, fmt.Errorf("decode matrix result: %w", err)
	}
	return m, nil
}

// Vector decodes a "vector" result.
func (d *QueryData) Vector() (Vector, error) {
	v := Vector{}
	if err := json.Unmarshal(d.Result, &v); err != nil {
		return nil, fmt.Errorf("decode vector result: %w", err)
	}
	return v, nil
}

// Scalar decodes a "scalar" result.
func (d *QueryData) Scalar() (SamplePair, error) {
	var s SamplePair
	if err := json.Unmarshal(d.Result, &s); err != nil {
		return s, fmt.Errorf("decode scalar result: %w", err)
	}
	return s, nil
}

// Stream is one stream of a "streams" result.
type Stream struct {
	Labels  LabelSet `json:"stream"`
	Entries []Entry  `json:"values"`
}

// Entry is one log line of a stream: Loki sends it as ["<unix ns>", "<line>"], optionally with a
// third member holding structured metadata (or, with categorize-labels, metadata and parsed labels).
type Entry struct {
	Timestamp int64 // Unix ns
	Line      string
	// Metadata is the third member of the value, when the server sent one; logcli does not
	// print it but keeps it for jsonl consumers of the library.
	Metadata json.RawMessage
}

// MarshalJSON writes e in Loki's value shape.
func (e Entry) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(e.Line)+32)
	b = append(b, `["`...)
	b = strconv.AppendInt(b, e.Timestamp, 10)
	b = append(b, `",`...)
	line, err := json.Marshal(e.Line)
	if err != nil {
		return nil, err
	}
	b = append(b, line...)
	if len(e.Metadata) > 0 {
		b = append(b, ',')
		b = append(b, e.Metadata...)
	}
	return append(b, ']'), nil
}

// Matrix is a "matrix" result: one series of samples per label set.
type Matrix []SampleStream

// SampleStream is one series of a matrix.
type SampleStream struct {
	Metric LabelSet     `json:"metric"`
	Values []SamplePair `json:"values"`
}

// Vector is a "vector" result: one sample per label set.
type Vector []Sample

// Sample is one member of a vector.
type Sample struct {
	Metric LabelSet   `json:"metric"`
	Value  SamplePair `json:"value"`
}

// SamplePair is a [<unix seconds>, "<value>"] pair. It is re-encoded exactly as Prometheus'
// model package (and so Loki's logcli) prints it: the time in seconds with the fewest digits
// that keep its milliseconds, and the value in the shortest decimal form.
type SamplePair struct {
	TimestampMs int64
	Value       float64
}

// MarshalJSON writes p as [<seconds>,"<value>"].
func (p SamplePair) MarshalJSON() ([]byte, error) {
	b := []byte{'['}
	b = strconv.AppendFloat(b, float64(p.TimestampMs)/1000, 'f', -1, 64)
	b = append(b, ',', '"')
	b = append(b, formatValue(p.Value)...)
	return append(b, '"', ']'), nil
}

func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// UnmarshalJSON reads [<seconds>, "<value>"].
func (p *SamplePair) UnmarshalJSON(b []byte) error {
	var raw [2]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("decode sample: %w", err)
	}
	if raw[0] == nil || raw[1] == nil {
		return fmt.Errorf("decode sample: want [time, value], got %s", b)
	}
	ms, err := parseSeconds(strings.Trim(string(raw[0]), `"`))
	if err != nil {
		return fmt.Errorf("decode sample time: %w", err)
	}
	var vs string
	if err := json.Unmarshal(raw[1], &vs); err != nil {
		return fmt.Errorf("decode sample value: %w", err)
	}
	v, err := strconv.ParseFloat(vs, 64)
	if err != nil {
		return fmt.Errorf("decode sample value %q: %w", vs, err)
	}
	p.TimestampMs, p.Value = ms, v
	return nil
}

// parseSeconds turns "1609459200.123" into milliseconds without going through a float, so no
// millisecond is lost to rounding.
func parseSeconds(s string) (int64, error) {
	sec, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse time %q: %w", s, err)
	}
	ms := n * 1000
	if frac != "" {
		if len(frac) > 3 {
			frac = frac[:3]
		}
		frac += strings.Repeat("0", 3-len(frac))
		f, err := strconv.ParseInt(frac, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse time %q: %w", s, err)
		}
		if strings.HasPrefix(sec, "-") {
			f = -f
		}
		ms += f
	}
	return ms, nil
}

// LabelsResponse is the body of /labels and /label/<name>/values.
type LabelsResponse struct {
	Status string   `json:"status"`
	Data   []string `json:"data"`
}

// SeriesResponse is the body of /series.
type SeriesResponse struct {
	Status string     `json:"status"`
	Data   []LabelSet `json:"data"`
}

// IndexStats is the body of /index/stats.
type IndexStats struct {
	Streams uint64 `json:"streams"`
	Chunks  uint64 `json:"chunks"`
	Bytes   uint64 `json:"bytes"`
	Entries uint64 `json:"entries"`
}

// DetectedFieldsResponse is the body of /detected_fields.
type DetectedFieldsResponse struct {
	Fields []DetectedField `json:"fields"`
	Limit  int             `json:"limit,omitempty"`
}

// DetectedField is one field found by /detected_fields.
type DetectedField struct {
	Label       string   `json:"label"`
	Type        string   `json:"type"`
	Cardinality uint64   `json:"cardinality"`
	Parsers     []string `json:"parsers"`
}

// DetectedFieldValuesResponse is the body of /detected_field/<name>/values.
type DetectedFieldValuesResponse struct {
	Values []string `json:"values"`
	Limit  int      `json:"limit,omitempty"`
}

// TailResponse is one websocket message of /tail.
type TailResponse struct {
	Streams        []Stream       `json:"streams"`
	DroppedEntries []DroppedEntry `json:"dropped_entries"`
}

// DroppedEntry names an entry the server dropped because the client read too slowly.
type DroppedEntry struct {
	Labels    LabelSet `json:"labels"`
	Timestamp string   `json:"timestamp"`
}

// DeleteRequest is one member of the list returned by GET /loki/api/v1/delete.
type DeleteRequest struct {
	RequestID string `json:"request_id"`
	// StartTime, EndTime and CreatedAt are Unix seconds (Loki sends them as JSON numbers that may
	// carry a fraction).
	StartTime float64 `json:"start_time"`
	EndTime   float64 `json:"end_time"`
	Query     string  `json:"query"`
	Status    string  `json:"status"`
	CreatedAt float64 `json:"created_at"`
}
