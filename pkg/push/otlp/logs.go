package otlp

// Logs is a decoded ExportLogsServiceRequest (OTLP's LogsData has the same layout), flattened
// into a few slices so that a Logs can be reset and refilled without allocating: a resource
// refers to its scopes, a scope to its records, and attributes, maps and arrays to their items,
// by a Span of the slice that holds them. Strings alias the body the Logs was decoded from.
type Logs struct {
	Resources []Resource
	Scopes    []Scope
	Records   []Record
	// KeyValues holds every attribute and map entry, Values every array element.
	KeyValues []KeyValue
	Values    []Value

	// The protobuf decoder's stacks (see protoDecoder), kept for reuse.
	kvStack  []KeyValue
	valStack []Value
}

// Span is a run of a Logs slice: items Off to Off+Len.
type Span struct{ Off, Len int32 }

// Resource is a ResourceLogs: the resource's attributes and its scopes (in Logs.Scopes).
type Resource struct {
	Attributes Span
	Scopes     Span
}

// Scope is a ScopeLogs: the instrumentation scope and its records (in Logs.Records).
type Scope struct {
	Name, Version          string
	Attributes             Span
	DroppedAttributesCount uint32
	Records                Span
}

// Record is a LogRecord. A zero TraceID or SpanID means none.
type Record struct {
	TimeUnixNano, ObservedTimeUnixNano uint64
	SeverityNumber                     int32
	DroppedAttributesCount             uint32
	Flags                              uint32
	SeverityText                       string
	EventName                          string
	Body                               Value
	Attributes                         Span
	TraceID                            [16]byte
	SpanID                             [8]byte
}

// KeyValue is an attribute or a map entry.
type KeyValue struct {
	Key   string
	Value Value
}

// Kind is the type of a Value, as OTLP's AnyValue oneof.
type Kind uint8

// The kinds of values. KindEmpty is an AnyValue with nothing set.
const (
	KindEmpty Kind = iota
	KindString
	KindBool
	KindInt
	KindDouble
	KindBytes
	KindArray
	KindMap
)

// Value is an AnyValue. Str holds a string or the bytes of a bytes value; Num an int (as
// uint64 bits), a double (math.Float64bits) or a bool (0 or 1); List the entries of a map (in
// Logs.KeyValues) or the elements of an array (in Logs.Values).
type Value struct {
	Kind Kind
	Str  string
	Num  uint64
	List Span
}

// Reset empties l, keeping its slices' capacity.
func (l *Logs) Reset() {
	clear(l.Resources)
	clear(l.Scopes)
	clear(l.Records)
	clear(l.KeyValues)
	clear(l.Values)
	l.Resources, l.Scopes, l.Records = l.Resources[:0], l.Scopes[:0], l.Records[:0]
	l.KeyValues, l.Values = l.KeyValues[:0], l.Values[:0]
	clear(l.kvStack[:cap(l.kvStack)])
	clear(l.valStack[:cap(l.valStack)])
	l.kvStack, l.valStack = l.kvStack[:0], l.valStack[:0]
}

// Attrs returns the attributes or map entries of s.
func (l *Logs) Attrs(s Span) []KeyValue { return l.KeyValues[s.Off : s.Off+s.Len] }

// Elems returns the array elements of s.
func (l *Logs) Elems(s Span) []Value { return l.Values[s.Off : s.Off+s.Len] }

// ResourceScopes returns r's scopes.
func (l *Logs) ResourceScopes(r *Resource) []Scope {
	return l.Scopes[r.Scopes.Off : r.Scopes.Off+r.Scopes.Len]
}

// ScopeRecords returns s's records.
func (l *Logs) ScopeRecords(s *Scope) []Record {
	return l.Records[s.Records.Off : s.Records.Off+s.Records.Len]
}

// reserveKeyValues appends n empty key-values and returns their span: the JSON decoder
// reserves a list before decoding its items, because a map value inside an item appends its
// own entries after the list, which must stay contiguous.
func (l *Logs) reserveKeyValues(n int) Span {
	off := len(l.KeyValues)
	l.KeyValues = append(l.KeyValues, make([]KeyValue, n)...)
	return Span{int32(off), int32(n)}
}

// reserveValues is reserveKeyValues for array elements.
func (l *Logs) reserveValues(n int) Span {
	off := len(l.Values)
	l.Values = append(l.Values, make([]Value, n)...)
	return Span{int32(off), int32(n)}
}
