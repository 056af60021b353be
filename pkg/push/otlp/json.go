package otlp

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// The OTLP/JSON encoding (opentelemetry-proto's "JSON Protobuf Encoding"): field names in
// lowerCamelCase, trace and span IDs as hex strings (not base64, as protobuf's own JSON
// mapping would have them), 64-bit integers as decimal strings or numbers, enums as numbers.
// OpenTelemetry's decoder, which Loki uses, also takes the proto field names (snake_case) and
// enum names, and so does this one; each struct below lists both spellings. Other fields are
// skipped.

type jsonRequest struct {
	ResourceLogs  []jsonResourceLogs `json:"resourceLogs"`
	ResourceLogs_ []jsonResourceLogs `json:"resource_logs"`
}

type jsonResourceLogs struct {
	Resource   *jsonResource   `json:"resource"`
	ScopeLogs  []jsonScopeLogs `json:"scopeLogs"`
	ScopeLogs_ []jsonScopeLogs `json:"scope_logs"`
}

type jsonResource struct {
	Attributes []jsonKeyValue `json:"attributes"`
}

type jsonScopeLogs struct {
	Scope       *jsonScope      `json:"scope"`
	LogRecords  []jsonLogRecord `json:"logRecords"`
	LogRecords_ []jsonLogRecord `json:"log_records"`
}

type jsonScope struct {
	Name                    string         `json:"name"`
	Version                 string         `json:"version"`
	Attributes              []jsonKeyValue `json:"attributes"`
	DroppedAttributesCount  jsonUint       `json:"droppedAttributesCount"`
	DroppedAttributesCount_ jsonUint       `json:"dropped_attributes_count"`
}

type jsonLogRecord struct {
	TimeUnixNano            jsonUint       `json:"timeUnixNano"`
	TimeUnixNano_           jsonUint       `json:"time_unix_nano"`
	ObservedTimeUnixNano    jsonUint       `json:"observedTimeUnixNano"`
	ObservedTimeUnixNano_   jsonUint       `json:"observed_time_unix_nano"`
	SeverityNumber          jsonSeverity   `json:"severityNumber"`
	SeverityNumber_         jsonSeverity   `json:"severity_number"`
	SeverityText            string         `json:"severityText"`
	SeverityText_           string         `json:"severity_text"`
	Body                    *jsonAnyValue  `json:"body"`
	Attributes              []jsonKeyValue `json:"attributes"`
	DroppedAttributesCount  jsonUint       `json:"droppedAttributesCount"`
	DroppedAttributesCount_ jsonUint       `json:"dropped_attributes_count"`
	Flags                   jsonUint       `json:"flags"`
	TraceID                 jsonID         `json:"traceId"`
	TraceID_                jsonID         `json:"trace_id"`
	SpanID                  jsonID         `json:"spanId"`
	SpanID_                 jsonID         `json:"span_id"`
	EventName               string         `json:"eventName"`
	EventName_              string         `json:"event_name"`
}

type jsonKeyValue struct {
	Key   string        `json:"key"`
	Value *jsonAnyValue `json:"value"`
}

type jsonAnyValue struct {
	StringValue  *string     `json:"stringValue"`
	StringValue_ *string     `json:"string_value"`
	BoolValue    *bool       `json:"boolValue"`
	BoolValue_   *bool       `json:"bool_value"`
	IntValue     *jsonInt    `json:"intValue"`
	IntValue_    *jsonInt    `json:"int_value"`
	DoubleValue  *jsonDouble `json:"doubleValue"`
	DoubleValue_ *jsonDouble `json:"double_value"`
	ArrayValue   *jsonList   `json:"arrayValue"`
	ArrayValue_  *jsonList   `json:"array_value"`
	KvlistValue  *jsonKvlist `json:"kvlistValue"`
	KvlistValue_ *jsonKvlist `json:"kvlist_value"`
	BytesValue   *jsonBytes  `json:"bytesValue"`
	BytesValue_  *jsonBytes  `json:"bytes_value"`
}

type jsonList struct {
	Values []jsonAnyValue `json:"values"`
}

type jsonKvlist struct {
	Values []jsonKeyValue `json:"values"`
}

// jsonNumber returns the text of a JSON number or of a string holding one; ok is false for
// null.
func jsonNumber(b []byte) (s string, ok bool, err error) {
	if string(b) == "null" {
		return "", false, nil
	}
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return "", false, err
		}
		return s, true, nil
	}
	return string(b), true, nil
}

// jsonUint is an unsigned integer (fixed64, fixed32 or uint32), as a number or a string.
type jsonUint uint64

func (u *jsonUint) UnmarshalJSON(b []byte) error {
	s, ok, err := jsonNumber(b)
	if err != nil || !ok {
		return err
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("%s is not an unsigned integer", b)
	}
	*u = jsonUint(v)
	return nil
}

// jsonInt is an int64, as a number or a string.
type jsonInt int64

func (i *jsonInt) UnmarshalJSON(b []byte) error {
	s, ok, err := jsonNumber(b)
	if err != nil || !ok {
		return err
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("%s is not an integer", b)
	}
	*i = jsonInt(v)
	return nil
}

// jsonDouble is a double, as a number or a string (which may also be NaN, Infinity or
// -Infinity).
type jsonDouble float64

func (d *jsonDouble) UnmarshalJSON(b []byte) error {
	s, ok, err := jsonNumber(b)
	if err != nil || !ok {
		return err
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil && !isRangeError(err) {
		return fmt.Errorf("%s is not a number", b)
	}
	*d = jsonDouble(v)
	return nil
}

func isRangeError(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// jsonSeverity is a SeverityNumber: a number, or the enum's name (SEVERITY_NUMBER_INFO).
type jsonSeverity int32

var severityNames = func() map[string]int32 {
	m := map[string]int32{"SEVERITY_NUMBER_UNSPECIFIED": 0}
	levels := []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
	for i, lvl := range levels {
		for j := 1; j <= 4; j++ {
			name := "SEVERITY_NUMBER_" + lvl
			if j > 1 {
				name += strconv.Itoa(j)
			}
			m[name] = int32(i*4 + j)
		}
	}
	return m
}()

func (s *jsonSeverity) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var name string
		if err := json.Unmarshal(b, &name); err != nil {
			return err
		}
		v, ok := severityNames[name]
		if !ok {
			return fmt.Errorf("%s is not a severity number", b)
		}
		*s = jsonSeverity(v)
		return nil
	}
	v, err := strconv.ParseInt(string(b), 10, 32)
	if err != nil {
		return fmt.Errorf("%s is not a severity number", b)
	}
	*s = jsonSeverity(v)
	return nil
}

// jsonID is a trace or span ID in hex.
type jsonID []byte

func (id *jsonID) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("ID %q is not hex", s)
	}
	*id = v
	return nil
}

// jsonBytes is a bytes value in standard base64.
type jsonBytes []byte

func (v *jsonBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return fmt.Errorf("bytes value %q is not base64", s)
	}
	*v = d
	return nil
}

// UnmarshalJSON decodes an OTLP/JSON ExportLogsServiceRequest into l, replacing its content.
// Errors wrap push.ErrMalformed.
func UnmarshalJSON(b []byte, l *Logs) error {
	l.Reset()
	var req jsonRequest
	if err := json.Unmarshal(b, &req); err != nil {
		return malformed("json: %v", err)
	}
	for i, rl := range either(req.ResourceLogs, req.ResourceLogs_) {
		if err := jsonResourceLogsTo(l, &rl); err != nil {
			return fmt.Errorf("resourceLogs[%d]: %w", i, err)
		}
	}
	return nil
}

// either returns camel and snake together: OpenTelemetry's decoder appends both.
func either[T any](camel, snake []T) []T {
	if len(snake) == 0 {
		return camel
	}
	return append(camel, snake...)
}

// first returns the camelCase value if set, else the snake_case one.
func first[T comparable](camel, snake T) T {
	var zero T
	if camel != zero {
		return camel
	}
	return snake
}

func jsonResourceLogsTo(l *Logs, rl *jsonResourceLogs) error {
	ri := len(l.Resources)
	l.Resources = append(l.Resources, Resource{})
	if rl.Resource != nil {
		span, err := jsonAttributesTo(l, rl.Resource.Attributes, 0)
		if err != nil {
			return fmt.Errorf("resource: %w", err)
		}
		l.Resources[ri].Attributes = span
	}
	scopes := either(rl.ScopeLogs, rl.ScopeLogs_)
	// Scopes are appended here and nowhere below, so they are contiguous.
	l.Resources[ri].Scopes = Span{Off: int32(len(l.Scopes)), Len: int32(len(scopes))}
	for i := range scopes {
		if err := jsonScopeLogsTo(l, &scopes[i]); err != nil {
			return fmt.Errorf("scopeLogs[%d]: %w", i, err)
		}
	}
	return nil
}

func jsonScopeLogsTo(l *Logs, sl *jsonScopeLogs) error {
	si := len(l.Scopes)
	l.Scopes = append(l.Scopes, Scope{})
	if sl.Scope != nil {
		span, err := jsonAttributesTo(l, sl.Scope.Attributes, 0)
		if err != nil {
			return fmt.Errorf("scope: %w", err)
		}
		l.Scopes[si] = Scope{
			Name: sl.Scope.Name, Version: sl.Scope.Version, Attributes: span,
			DroppedAttributesCount: uint32(first(sl.Scope.DroppedAttributesCount, sl.Scope.DroppedAttributesCount_)),
		}
	}
	records := either(sl.LogRecords, sl.LogRecords_)
	l.Scopes[si].Records = Span{Off: int32(len(l.Records)), Len: int32(len(records))}
	for i := range records {
		if err := jsonRecordTo(l, &records[i]); err != nil {
			return fmt.Errorf("logRecords[%d]: %w", i, err)
		}
	}
	return nil
}

func jsonRecordTo(l *Logs, jr *jsonLogRecord) error {
	r := Record{
		TimeUnixNano:           uint64(first(jr.TimeUnixNano, jr.TimeUnixNano_)),
		ObservedTimeUnixNano:   uint64(first(jr.ObservedTimeUnixNano, jr.ObservedTimeUnixNano_)),
		SeverityNumber:         int32(first(jr.SeverityNumber, jr.SeverityNumber_)),
		SeverityText:           first(jr.SeverityText, jr.SeverityText_),
		DroppedAttributesCount: uint32(first(jr.DroppedAttributesCount, jr.DroppedAttributesCount_)),
		Flags:                  uint32(jr.Flags),
		EventName:              first(jr.EventName, jr.EventName_),
	}
	trace, span := jr.TraceID, jr.SpanID
	if len(trace) == 0 {
		trace = jr.TraceID_
	}
	if len(span) == 0 {
		span = jr.SpanID_
	}
	if err := setID(r.TraceID[:], trace, "trace_id"); err != nil {
		return err
	}
	if err := setID(r.SpanID[:], span, "span_id"); err != nil {
		return err
	}
	var err error
	if r.Attributes, err = jsonAttributesTo(l, jr.Attributes, 0); err != nil {
		return err
	}
	if jr.Body != nil {
		if r.Body, err = jsonValueTo(l, jr.Body, 0); err != nil {
			return fmt.Errorf("body: %w", err)
		}
	}
	l.Records = append(l.Records, r)
	return nil
}

// jsonAttributesTo adds kvs to l.KeyValues as one list.
func jsonAttributesTo(l *Logs, kvs []jsonKeyValue, depth int) (Span, error) {
	span := l.reserveKeyValues(len(kvs))
	for i := range kvs {
		kv := KeyValue{Key: kvs[i].Key}
		if kvs[i].Value != nil {
			v, err := jsonValueTo(l, kvs[i].Value, depth)
			if err != nil {
				return span, fmt.Errorf("%q: %w", kv.Key, err)
			}
			kv.Value = v
		}
		l.KeyValues[span.Off+int32(i)] = kv
	}
	return span, nil
}

func jsonValueTo(l *Logs, jv *jsonAnyValue, depth int) (Value, error) {
	if depth >= maxDepth {
		return Value{}, malformed("values nested deeper than %d levels", maxDepth)
	}
	switch {
	case jv.StringValue != nil || jv.StringValue_ != nil:
		return Value{Kind: KindString, Str: *first(jv.StringValue, jv.StringValue_)}, nil
	case jv.BoolValue != nil || jv.BoolValue_ != nil:
		v := Value{Kind: KindBool}
		if *first(jv.BoolValue, jv.BoolValue_) {
			v.Num = 1
		}
		return v, nil
	case jv.IntValue != nil || jv.IntValue_ != nil:
		return Value{Kind: KindInt, Num: uint64(*first(jv.IntValue, jv.IntValue_))}, nil
	case jv.DoubleValue != nil || jv.DoubleValue_ != nil:
		return Value{Kind: KindDouble, Num: math.Float64bits(float64(*first(jv.DoubleValue, jv.DoubleValue_)))}, nil
	case jv.BytesValue != nil || jv.BytesValue_ != nil:
		return Value{Kind: KindBytes, Str: string(*first(jv.BytesValue, jv.BytesValue_))}, nil
	case jv.ArrayValue != nil || jv.ArrayValue_ != nil:
		elems := first(jv.ArrayValue, jv.ArrayValue_).Values
		span := l.reserveValues(len(elems))
		for i := range elems {
			v, err := jsonValueTo(l, &elems[i], depth+1)
			if err != nil {
				return Value{}, fmt.Errorf("[%d]: %w", i, err)
			}
			l.Values[span.Off+int32(i)] = v
		}
		return Value{Kind: KindArray, List: span}, nil
	case jv.KvlistValue != nil || jv.KvlistValue_ != nil:
		span, err := jsonAttributesTo(l, first(jv.KvlistValue, jv.KvlistValue_).Values, depth+1)
		if err != nil {
			return Value{}, err
		}
		return Value{Kind: KindMap, List: span}, nil
	}
	return Value{}, nil
}
