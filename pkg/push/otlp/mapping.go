package otlp

import (
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/unsafestr"
	"github.com/sluicelog/sluice/pkg/validation"
)

// Config is what Map needs to know about the tenant and the server.
type Config struct {
	// OTLP is the tenant's limits_config.otlp_config; nil means the default (no rules).
	OTLP *validation.OTLPConfig
	// DefaultIndexLabels is distributor.otlp_config.default_resource_attributes_as_index_labels.
	DefaultIndexLabels []string
	// DiscoverServiceName is the tenant's discover_service_name.
	DiscoverServiceName []string
	// Now, in Unix nanoseconds, is the timestamp of records that carry none.
	Now int64
}

// Names Loki gives to what it keeps of a record besides its attributes.
const (
	serviceNameLabel = "service_name"
	unknownService   = "unknown_service"
	attrServiceName  = "service.name"

	metaObservedTimestamp     = "observed_timestamp"
	metaSeverityNumber        = "severity_number"
	metaSeverityText          = "severity_text"
	metaDroppedAttributes     = "dropped_attributes_count"
	metaFlags                 = "flags"
	metaTraceID               = "trace_id"
	metaSpanID                = "span_id"
	metaEventName             = "event_name"
	metaScopeName             = "scope_name"
	metaScopeVersion          = "scope_version"
	metaScopeDroppedAttribute = "scope_dropped_attributes_count"
)

// Map appends the streams of l to req, as Loki's OTLP endpoint (pkg/loghttp/push/otlp.go)
// makes them:
//
//   - Resource attributes whose action is index_label (by default those in
//     DefaultIndexLabels) become stream labels; the others structured metadata, unless
//     dropped. Attribute names are normalized (labelName) and map values flattened, each
//     entry a label named parent_key, recursively; other values are rendered by
//     Logs.ValueString. A later attribute of the same name wins.
//   - service_name: with a discover_service_name list, a resource whose service.name
//     attribute is missing or empty gets as service_name the value of its first index label
//     (in the resource's order) whose name is in the list, or unknown_service.
//   - A resource with a label value that is not valid UTF-8 is skipped: Loki drops its
//     records without an error.
//   - Scope attributes become structured metadata (or are dropped), followed by scope_name,
//     scope_version and scope_dropped_attributes_count when set.
//   - Log attributes become structured metadata, stream labels (index_label: the record goes
//     to the stream of the resource's labels plus these) or nothing. An event_name attribute
//     is left out when the record has an event name.
//   - A record's other fields become structured metadata when set: observed_timestamp (only
//     when the record also has a timestamp), severity_number, severity_text (also a label
//     with severity_text_as_label), dropped_attributes_count, flags, trace_id and span_id (in
//     lower-case hex) and event_name.
//   - Structured metadata names can repeat (a log attribute called trace_id, say). Loki
//     stores the record's own first, then the resource's, then the scope's, and a query sees
//     the last of a name; Sluice keeps only that one. Pairs whose value is empty are left
//     out, as Loki's label parser leaves out empty stream labels.
//   - The line is the body (Logs.ValueString), the timestamp time_unix_nano, else
//     observed_time_unix_nano, else Config.Now.
//
// Streams are in order of their first record. A name that normalizes to nothing fails the
// whole request, as in Loki. Lines alias l's strings; labels and metadata are copied.
func Map(l *Logs, cfg *Config, req *logproto.PushRequest) error {
	var m mapper
	return m.run(l, cfg, req)
}

// mapper holds the scratch space of Map, kept between requests by Body.
type mapper struct {
	l    *Logs
	cfg  *Config
	otlp *validation.OTLPConfig
	req  *logproto.PushRequest

	// streams maps a stream's label string to its index in req.Streams.
	streams map[string]int
	// names caches normalized names by attribute path; keys may alias the body, so it is
	// cleared for every request.
	names map[string]string
	// logActions caches the action of each log attribute name when there are rules.
	logActions map[string]validation.OTLPAction

	resLabels, recLabels, combined []labels.Label
	resMeta, scopeMeta, shared     []labels.Label
	recMeta, discard               []labels.Label
	// order holds the indexes of recMeta in name order.
	order  []int32
	keyBuf []labels.Label
	// scratch holds the formatted values of one record's metadata until they are copied
	// into its labels.Labels; values point into it (see addMeta and flatten).
	scratch []byte
	nameBuf []byte
	b       labels.ScratchBuilder
}

var noRules validation.OTLPConfig

func (m *mapper) run(l *Logs, cfg *Config, req *logproto.PushRequest) error {
	m.l, m.cfg, m.req = l, cfg, req
	m.otlp = cfg.OTLP
	if m.otlp == nil {
		m.otlp = &noRules
	}
	if m.streams == nil {
		m.streams = map[string]int{}
		m.names = map[string]string{}
		m.logActions = map[string]validation.OTLPAction{}
	}
	defer m.release()
	if len(l.Records) == 0 {
		return nil
	}
	for ri := range l.Resources {
		r := &l.Resources[ri]
		if err := m.resourceLabels(r); err != nil {
			return err
		}
		resKey, ok := m.streamKey(m.resLabels)
		if !ok {
			continue // Loki drops the resource's records
		}
		records := 0
		for _, s := range l.ResourceScopes(r) {
			records += int(s.Records.Len)
		}
		for si := range l.ResourceScopes(r) {
			s := &l.ResourceScopes(r)[si]
			if err := m.scope(s); err != nil {
				return err
			}
			for i := range l.ScopeRecords(s) {
				rec := &l.ScopeRecords(s)[i]
				if err := m.record(rec); err != nil {
					return err
				}
				key := resKey
				if len(m.recLabels) > 0 {
					m.combined = append(append(m.combined[:0], m.resLabels...), m.recLabels...)
					if key, ok = m.streamKey(m.combined); !ok {
						continue // Loki drops the record
					}
				}
				m.appendEntry(key, records, rec)
			}
		}
	}
	return nil
}

// release drops the references to the request's memory, keeping the capacity.
func (m *mapper) release() {
	clear(m.streams)
	clear(m.names)
	clear(m.logActions)
	for _, s := range [][]labels.Label{m.resLabels, m.recLabels, m.combined, m.resMeta, m.scopeMeta, m.shared, m.recMeta, m.discard, m.keyBuf} {
		clear(s)
	}
	m.l, m.cfg, m.otlp, m.req = nil, nil, nil, nil
}

// resourceLabels fills m.resLabels and m.resMeta from r's attributes.
func (m *mapper) resourceLabels(r *Resource) error {
	m.resLabels, m.resMeta = m.resLabels[:0], m.resMeta[:0]
	attrs := m.l.Attrs(r.Attributes)
	discover := len(m.cfg.DiscoverServiceName) > 0
	hasService := false
	for _, kv := range attrs {
		if kv.Key == attrServiceName {
			// The first service.name decides, as OpenTelemetry's Map.Get finds the first.
			hasService = m.l.ValueString(kv.Value) != ""
			break
		}
	}
	var err error
	for _, kv := range attrs {
		switch m.otlp.ResourceAction(kv.Key, m.cfg.DefaultIndexLabels) {
		case validation.OTLPDrop:
		case validation.OTLPIndexLabel:
			start := len(m.discard)
			if m.discard, err = m.flatten(m.discard, "", kv.Key, kv.Value, false); err != nil {
				return err
			}
			for _, lb := range m.discard[start:] {
				m.resLabels = append(m.resLabels, lb)
				if discover && !hasService && slices.Contains(m.cfg.DiscoverServiceName, lb.Name) {
					m.resLabels = append(m.resLabels, labels.Label{Name: serviceNameLabel, Value: lb.Value})
					hasService = true
				}
			}
			m.discard = m.discard[:start]
		default:
			if m.resMeta, err = m.flatten(m.resMeta, "", kv.Key, kv.Value, false); err != nil {
				return err
			}
		}
	}
	if discover && !hasService {
		m.resLabels = append(m.resLabels, labels.Label{Name: serviceNameLabel, Value: unknownService})
	}
	return nil
}

// scope fills m.scopeMeta from s, and m.shared with the metadata every record of s gets:
// the resource's and the scope's, sorted, the later of a name kept.
func (m *mapper) scope(s *Scope) error {
	m.scopeMeta = m.scopeMeta[:0]
	var err error
	for _, kv := range m.l.Attrs(s.Attributes) {
		switch m.otlp.ScopeAction(kv.Key) {
		case validation.OTLPDrop:
		case validation.OTLPIndexLabel:
			// Refused by OTLPConfig.Validate; Loki keeps such an attribute nowhere, but
			// still refuses a name it cannot normalize.
			if m.discard, err = m.flatten(m.discard[:0], "", kv.Key, kv.Value, false); err != nil {
				return err
			}
		default:
			if m.scopeMeta, err = m.flatten(m.scopeMeta, "", kv.Key, kv.Value, false); err != nil {
				return err
			}
		}
	}
	if s.Name != "" {
		m.scopeMeta = append(m.scopeMeta, labels.Label{Name: metaScopeName, Value: s.Name})
	}
	if s.Version != "" {
		m.scopeMeta = append(m.scopeMeta, labels.Label{Name: metaScopeVersion, Value: s.Version})
	}
	if s.DroppedAttributesCount != 0 {
		m.scopeMeta = append(m.scopeMeta, labels.Label{Name: metaScopeDroppedAttribute, Value: strconv.FormatUint(uint64(s.DroppedAttributesCount), 10)})
	}
	m.shared = append(append(m.shared[:0], m.resMeta...), m.scopeMeta...)
	m.shared = sortKeepLast(m.shared)
	return nil
}

// record fills m.recLabels and m.recMeta from rec.
func (m *mapper) record(rec *Record) error {
	m.scratch = m.scratch[:0]
	m.recLabels, m.recMeta = m.recLabels[:0], m.recMeta[:0]
	var err error
	for _, kv := range m.l.Attrs(rec.Attributes) {
		action := m.logAction(kv.Key)
		if action == validation.OTLPDrop || kv.Key == metaEventName && rec.EventName != "" {
			continue
		}
		if action == validation.OTLPIndexLabel {
			start := len(m.discard)
			if m.discard, err = m.flatten(m.discard, "", kv.Key, kv.Value, true); err != nil {
				return err
			}
			m.recLabels = append(m.recLabels, m.discard[start:]...)
			m.discard = m.discard[:start]
			continue
		}
		if m.recMeta, err = m.flatten(m.recMeta, "", kv.Key, kv.Value, true); err != nil {
			return err
		}
	}
	if rec.TimeUnixNano != 0 && rec.ObservedTimeUnixNano != 0 {
		m.addMeta(metaObservedTimestamp, strconv.AppendInt(m.scratch, int64(rec.ObservedTimeUnixNano), 10))
	}
	if rec.SeverityNumber != 0 {
		m.addMeta(metaSeverityNumber, strconv.AppendInt(m.scratch, int64(rec.SeverityNumber), 10))
	}
	if rec.SeverityText != "" {
		if m.otlp.SeverityTextAsLabel {
			m.recLabels = append(m.recLabels, labels.Label{Name: metaSeverityText, Value: rec.SeverityText})
		}
		m.recMeta = append(m.recMeta, labels.Label{Name: metaSeverityText, Value: rec.SeverityText})
	}
	if rec.DroppedAttributesCount != 0 {
		m.addMeta(metaDroppedAttributes, strconv.AppendUint(m.scratch, uint64(rec.DroppedAttributesCount), 10))
	}
	if rec.Flags != 0 {
		m.addMeta(metaFlags, strconv.AppendUint(m.scratch, uint64(rec.Flags), 10))
	}
	if rec.TraceID != ([16]byte{}) {
		m.addMeta(metaTraceID, hex.AppendEncode(m.scratch, rec.TraceID[:]))
	}
	if rec.SpanID != ([8]byte{}) {
		m.addMeta(metaSpanID, hex.AppendEncode(m.scratch, rec.SpanID[:]))
	}
	if rec.EventName != "" {
		m.recMeta = append(m.recMeta, labels.Label{Name: metaEventName, Value: rec.EventName})
	}
	return nil
}

// addMeta adds name with the value that ends scratch (scratch with the value appended).
func (m *mapper) addMeta(name string, scratch []byte) {
	start := len(m.scratch)
	m.scratch = scratch
	m.recMeta = append(m.recMeta, labels.Label{Name: name, Value: unsafestr.String(m.scratch[start:])})
}

func (m *mapper) logAction(key string) validation.OTLPAction {
	if len(m.otlp.LogAttributes) == 0 {
		return validation.OTLPStructuredMetadata
	}
	if a, ok := m.logActions[key]; ok {
		return a
	}
	a := m.otlp.LogAction(key)
	m.logActions[key] = a
	return a
}

// appendEntry adds rec, with the metadata in m.recMeta and m.shared, to the stream key;
// records is a capacity hint for a new stream.
func (m *mapper) appendEntry(key string, records int, rec *Record) {
	// Order the record's metadata by name through indexes: sorting the labels themselves
	// moved strings, whose write barriers took a third of BenchmarkDecodeParts/map. Stable,
	// so that of a name the last pair comes last; an insertion sort for the usual few pairs.
	o := m.order[:0]
	for i := range m.recMeta {
		o = append(o, int32(i))
	}
	if len(o) <= 32 {
		for i := 1; i < len(o); i++ {
			for j := i; j > 0 && m.recMeta[o[j]].Name < m.recMeta[o[j-1]].Name; j-- {
				o[j], o[j-1] = o[j-1], o[j]
			}
		}
	} else {
		slices.SortStableFunc(o, func(a, b int32) int { return strings.Compare(m.recMeta[a].Name, m.recMeta[b].Name) })
	}
	m.order = o
	// Merge with the shared metadata, sorted already. Of a name, the record's last pair
	// counts, and a shared (resource or scope) pair beats it.
	m.b.Reset()
	add := func(lb labels.Label) {
		if lb.Value != "" {
			m.b.Add(lb.Name, lb.Value)
		}
	}
	i, j := 0, 0
	for i < len(o) || j < len(m.shared) {
		if i+1 < len(o) && m.recMeta[o[i+1]].Name == m.recMeta[o[i]].Name {
			i++ // a later pair of the same name follows
			continue
		}
		switch {
		case j == len(m.shared) || i < len(o) && m.recMeta[o[i]].Name < m.shared[j].Name:
			add(m.recMeta[o[i]])
			i++
		case i == len(o) || m.shared[j].Name < m.recMeta[o[i]].Name:
			add(m.shared[j])
			j++
		default: // the same name
			add(m.shared[j])
			i++
			j++
		}
	}
	meta := m.b.Labels()

	e := logproto.Entry{StructuredMetadata: meta}
	switch {
	case rec.TimeUnixNano != 0:
		e.Timestamp = int64(rec.TimeUnixNano)
	case rec.ObservedTimeUnixNano != 0:
		e.Timestamp = int64(rec.ObservedTimeUnixNano)
	default:
		e.Timestamp = m.cfg.Now
	}
	e.Line = m.l.ValueString(rec.Body)

	idx, ok := m.streams[key]
	if !ok {
		idx = len(m.req.Streams)
		m.req.Streams = append(m.req.Streams, logproto.Stream{Labels: key, Entries: make([]logproto.Entry, 0, records)})
		m.streams[key] = idx
	}
	s := &m.req.Streams[idx]
	s.Entries = append(s.Entries, e)
}

// flatten appends the labels of the attribute key=v under prefix (a normalized name, or ""
// at the top) to dst. With tmp, formatted values live in m.scratch (see addMeta) and are only
// valid until the next record.
func (m *mapper) flatten(dst []labels.Label, prefix, key string, v Value, tmp bool) ([]labels.Label, error) {
	name, err := m.name(prefix, key)
	if err != nil {
		return dst, err
	}
	if v.Kind == KindMap {
		for _, kv := range m.l.Attrs(v.List) {
			if dst, err = m.flatten(dst, name, kv.Key, kv.Value, tmp); err != nil {
				return dst, err
			}
		}
		return dst, nil
	}
	var value string
	switch {
	case v.Kind == KindString:
		value = v.Str
	case tmp:
		start := len(m.scratch)
		m.scratch = m.l.AppendValue(m.scratch, v)
		value = unsafestr.String(m.scratch[start:])
	default:
		value = m.l.ValueString(v)
	}
	return append(dst, labels.Label{Name: name, Value: value}), nil
}

// name returns the normalized name of the attribute key under prefix.
func (m *mapper) name(prefix, key string) (string, error) {
	if prefix == "" {
		if n, ok := m.names[key]; ok {
			return n, nil
		}
		n, err := labelName(key)
		if err != nil {
			return "", err
		}
		m.names[key] = n
		return n, nil
	}
	m.nameBuf = append(append(append(m.nameBuf[:0], prefix...), '_'), key...)
	if n, ok := m.names[string(m.nameBuf)]; ok {
		return n, nil
	}
	path := string(m.nameBuf)
	n, err := labelName(path)
	if err != nil {
		return "", err
	}
	m.names[path] = n
	return n, nil
}

// streamKey returns the label string of a stream: the labels ls, of a name the last (as in
// the model.LabelSet Loki fills), sorted, without empty values (Loki's label parser drops
// them), in Prometheus' form {a="b", c="d"}. It returns false when a value is not valid
// UTF-8, the only check of Loki's model.LabelSet.Validate that normalized names can fail.
func (m *mapper) streamKey(ls []labels.Label) (string, bool) {
	m.keyBuf = sortKeepLast(append(m.keyBuf[:0], ls...))
	m.b.Reset()
	for _, l := range m.keyBuf {
		if !utf8.ValidString(l.Value) {
			return "", false
		}
		if l.Value != "" {
			m.b.Add(l.Name, l.Value)
		}
	}
	return m.b.Labels().String(), true
}

// sortKeepLast sorts ls by name, keeping of each name only the pair that came last.
func sortKeepLast(ls []labels.Label) []labels.Label {
	slices.SortStableFunc(ls, func(a, b labels.Label) int { return strings.Compare(a.Name, b.Name) })
	out := ls[:0]
	for i := range ls {
		if i+1 < len(ls) && ls[i+1].Name == ls[i].Name {
			continue
		}
		out = append(out, ls[i])
	}
	return out
}
