package otlp

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/sluicelog/sluice/pkg/push"
	"github.com/sluicelog/sluice/pkg/unsafestr"
)

// Field numbers of the OTLP messages decoded here (opentelemetry-proto logs/v1, common/v1,
// resource/v1). Other fields (schema URLs, entity references, string-table indexes) are
// skipped, as are fields this version does not know.
const (
	fieldRequestResourceLogs = 1

	fieldResourceLogsResource  = 1
	fieldResourceLogsScopeLogs = 2

	fieldResourceAttributes = 1

	fieldScopeLogsScope      = 1
	fieldScopeLogsLogRecords = 2

	fieldScopeName                   = 1
	fieldScopeVersion                = 2
	fieldScopeAttributes             = 3
	fieldScopeDroppedAttributesCount = 4

	fieldRecordTimeUnixNano           = 1
	fieldRecordSeverityNumber         = 2
	fieldRecordSeverityText           = 3
	fieldRecordBody                   = 5
	fieldRecordAttributes             = 6
	fieldRecordDroppedAttributesCount = 7
	fieldRecordFlags                  = 8
	fieldRecordTraceID                = 9
	fieldRecordSpanID                 = 10
	fieldRecordObservedTimeUnixNano   = 11
	fieldRecordEventName              = 12

	fieldKeyValueKey   = 1
	fieldKeyValueValue = 2

	fieldValueString = 1
	fieldValueBool   = 2
	fieldValueInt    = 3
	fieldValueDouble = 4
	fieldValueArray  = 5
	fieldValueKvlist = 6
	fieldValueBytes  = 7

	// ArrayValue.values and KeyValueList.values.
	fieldListValues = 1
)

// maxDepth bounds the nesting of maps and arrays in a value. Loki sets no bound, but the
// name of a nested attribute repeats the names of its parents, so a body of a few hundred
// kilobytes nested ten thousand deep would make gigabytes of names; real attributes nest a
// few levels.
const maxDepth = 100

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: OTLP logs: %s", push.ErrMalformed, fmt.Sprintf(format, args...))
}

// UnmarshalProto decodes an uncompressed protobuf ExportLogsServiceRequest into l, replacing
// its content. The strings of l alias b: b must not be modified while l is in use.
//
// Unknown fields are skipped. A known field with the wrong wire type, a truncated field or a
// trace or span ID of the wrong length is an error wrapping push.ErrMalformed, as Loki (its
// OpenTelemetry decoder) refuses such bodies; so are values nested deeper than 100 levels,
// which is Sluice's own limit (maxDepth).
func UnmarshalProto(b []byte, l *Logs) error {
	l.Reset()
	d := protoDecoder{l: l}
	return d.request(b)
}

// protoDecoder decodes into l. A list (of attributes, map entries or array elements) is
// decoded onto a stack, l.kvStack or l.valStack, and moved to l.KeyValues or l.Values when it
// ends: the lists nested in its items are pushed above it and moved first, so that every list
// ends up contiguous without counting its items beforehand.
type protoDecoder struct {
	l *Logs
}

// popKeyValues moves the stack above base to l.KeyValues and returns its span there.
func (d *protoDecoder) popKeyValues(base int) Span {
	l := d.l
	span := Span{Off: int32(len(l.KeyValues)), Len: int32(len(l.kvStack) - base)}
	l.KeyValues = append(l.KeyValues, l.kvStack[base:]...)
	l.kvStack = l.kvStack[:base]
	return span
}

// popValues moves the stack above base to l.Values and returns its span there.
func (d *protoDecoder) popValues(base int) Span {
	l := d.l
	span := Span{Off: int32(len(l.Values)), Len: int32(len(l.valStack) - base)}
	l.Values = append(l.Values, l.valStack[base:]...)
	l.valStack = l.valStack[:base]
	return span
}

// field is one field of a message: a length-delimited value in b, any other in v.
type field struct {
	num protowire.Number
	typ protowire.Type
	v   uint64
	b   []byte
}

// next reads the field at the start of b and returns it with the rest of b.
func next(b []byte) (field, []byte, error) {
	var f field
	var n int
	if len(b) > 0 && b[0] < 0x80 && b[0]>>3 != 0 {
		// A one-byte tag: field numbers 1 to 15, all OTLP uses.
		f.num, f.typ = protowire.Number(b[0]>>3), protowire.Type(b[0]&7)
		b = b[1:]
	} else {
		f.num, f.typ, n = protowire.ConsumeTag(b)
		if n < 0 {
			return field{}, nil, protowire.ParseError(n)
		}
		b = b[n:]
	}
	switch f.typ {
	case protowire.VarintType:
		if len(b) > 0 && b[0] < 0x80 {
			f.v, n = uint64(b[0]), 1
		} else {
			f.v, n = protowire.ConsumeVarint(b)
		}
	case protowire.Fixed32Type:
		var v uint32
		v, n = protowire.ConsumeFixed32(b)
		f.v = uint64(v)
	case protowire.Fixed64Type:
		f.v, n = protowire.ConsumeFixed64(b)
	case protowire.BytesType:
		if len(b) > 0 && b[0] < 0x80 && int(b[0]) < len(b) {
			f.b, n = b[1:1+b[0]:1+b[0]], 1+int(b[0])
		} else {
			f.b, n = protowire.ConsumeBytes(b)
		}
	default:
		// Groups, deprecated but valid wire types; nothing here uses them.
		n = protowire.ConsumeFieldValue(f.num, f.typ, b)
	}
	if n < 0 {
		return field{}, nil, protowire.ParseError(n)
	}
	return f, b[n:], nil
}

// want checks the wire type of a known field; Loki's decoder refuses a mismatch.
func (f *field) want(typ protowire.Type, msg string) error {
	if f.typ != typ {
		return malformed("%s field %d has wire type %d, want %d", msg, f.num, f.typ, typ)
	}
	return nil
}

func (d *protoDecoder) request(b []byte) error {
	for i := 0; len(b) > 0; {
		f, rest, err := next(b)
		if err != nil {
			return malformed("request: %v", err)
		}
		b = rest
		if f.num != fieldRequestResourceLogs {
			continue
		}
		if err := f.want(protowire.BytesType, "request"); err != nil {
			return err
		}
		if err := d.resourceLogs(f.b); err != nil {
			return fmt.Errorf("resource_logs[%d]: %w", i, err)
		}
		i++
	}
	return nil
}

func (d *protoDecoder) resourceLogs(b []byte) error {
	l := d.l
	ri := len(l.Resources)
	l.Resources = append(l.Resources, Resource{Scopes: Span{Off: int32(len(l.Scopes))}})
	// A message field that occurs more than once is merged: the attributes of every resource
	// field form one list.
	base := len(l.kvStack)
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return malformed("resource_logs: %v", err)
		}
		b = rest
		switch f.num {
		case fieldResourceLogsResource:
			if err := f.want(protowire.BytesType, "resource_logs"); err != nil {
				return err
			}
			if err := d.attributeList(f.b, fieldResourceAttributes, "resource"); err != nil {
				return err
			}
		case fieldResourceLogsScopeLogs:
			if err := f.want(protowire.BytesType, "resource_logs"); err != nil {
				return err
			}
			if err := d.scopeLogs(f.b); err != nil {
				return fmt.Errorf("scope_logs[%d]: %w", len(l.Scopes)-int(l.Resources[ri].Scopes.Off), err)
			}
			l.Resources[ri].Scopes.Len++
		}
	}
	l.Resources[ri].Attributes = d.popKeyValues(base)
	return nil
}

// attributeList pushes the KeyValue fields numbered num of message b (a Resource or an
// InstrumentationScope) onto the stack. Other fields of the message are skipped: what Loki
// keeps of them is read elsewhere.
func (d *protoDecoder) attributeList(b []byte, num protowire.Number, msg string) error {
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return malformed("%s: %v", msg, err)
		}
		b = rest
		if f.num != num {
			continue
		}
		if err := f.want(protowire.BytesType, msg); err != nil {
			return err
		}
		if err := d.keyValue(f.b, 0); err != nil {
			return fmt.Errorf("%s attribute: %w", msg, err)
		}
	}
	return nil
}

func (d *protoDecoder) scopeLogs(b []byte) error {
	l := d.l
	si := len(l.Scopes)
	l.Scopes = append(l.Scopes, Scope{Records: Span{Off: int32(len(l.Records))}})
	base := len(l.kvStack)
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return malformed("scope_logs: %v", err)
		}
		b = rest
		switch f.num {
		case fieldScopeLogsScope:
			if err := f.want(protowire.BytesType, "scope_logs"); err != nil {
				return err
			}
			if err := d.scope(f.b, si); err != nil {
				return err
			}
		case fieldScopeLogsLogRecords:
			if err := f.want(protowire.BytesType, "scope_logs"); err != nil {
				return err
			}
			ri := len(l.Records)
			l.Records = append(l.Records, Record{})
			if err := d.record(f.b, ri); err != nil {
				return fmt.Errorf("log_records[%d]: %w", l.Scopes[si].Records.Len, err)
			}
			l.Scopes[si].Records.Len++
		}
	}
	l.Scopes[si].Attributes = d.popKeyValues(base)
	return nil
}

// scope decodes an InstrumentationScope into Scopes[si], pushing its attributes.
func (d *protoDecoder) scope(b []byte, si int) error {
	s := &d.l.Scopes[si]
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return malformed("scope: %v", err)
		}
		b = rest
		switch f.num {
		case fieldScopeName, fieldScopeVersion:
			if err := f.want(protowire.BytesType, "scope"); err != nil {
				return err
			}
			if f.num == fieldScopeName {
				s.Name = unsafestr.String(f.b)
			} else {
				s.Version = unsafestr.String(f.b)
			}
		case fieldScopeAttributes:
			if err := f.want(protowire.BytesType, "scope"); err != nil {
				return err
			}
			// keyValue may grow Logs.KeyValues but never Scopes, so s stays valid.
			if err := d.keyValue(f.b, 0); err != nil {
				return fmt.Errorf("scope attribute: %w", err)
			}
		case fieldScopeDroppedAttributesCount:
			if err := f.want(protowire.VarintType, "scope"); err != nil {
				return err
			}
			s.DroppedAttributesCount = uint32(f.v)
		}
	}
	return nil
}

func (d *protoDecoder) record(b []byte, ri int) error {
	l := d.l
	base := len(l.kvStack)
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return malformed("log record: %v", err)
		}
		b = rest
		// Decoding the body or an attribute may grow Logs.KeyValues and Logs.Values, never
		// Logs.Records: r stays valid.
		r := &l.Records[ri]
		switch f.num {
		case fieldRecordTimeUnixNano, fieldRecordObservedTimeUnixNano:
			if err := f.want(protowire.Fixed64Type, "log record"); err != nil {
				return err
			}
			if f.num == fieldRecordTimeUnixNano {
				r.TimeUnixNano = f.v
			} else {
				r.ObservedTimeUnixNano = f.v
			}
		case fieldRecordSeverityNumber:
			if err := f.want(protowire.VarintType, "log record"); err != nil {
				return err
			}
			r.SeverityNumber = int32(f.v) // an enum is an int32 on the wire
		case fieldRecordSeverityText, fieldRecordEventName:
			if err := f.want(protowire.BytesType, "log record"); err != nil {
				return err
			}
			if f.num == fieldRecordSeverityText {
				r.SeverityText = unsafestr.String(f.b)
			} else {
				r.EventName = unsafestr.String(f.b)
			}
		case fieldRecordBody:
			if err := f.want(protowire.BytesType, "log record"); err != nil {
				return err
			}
			// A repeated body merges into the first: a later one that sets a value replaces it.
			v := r.Body
			if err := d.value(f.b, &v, 0); err != nil {
				return fmt.Errorf("body: %w", err)
			}
			l.Records[ri].Body = v
		case fieldRecordAttributes:
			if err := f.want(protowire.BytesType, "log record"); err != nil {
				return err
			}
			if err := d.keyValue(f.b, 0); err != nil {
				return fmt.Errorf("attribute %d: %w", len(l.kvStack)-base, err)
			}
		case fieldRecordDroppedAttributesCount:
			if err := f.want(protowire.VarintType, "log record"); err != nil {
				return err
			}
			r.DroppedAttributesCount = uint32(f.v)
		case fieldRecordFlags:
			if err := f.want(protowire.Fixed32Type, "log record"); err != nil {
				return err
			}
			r.Flags = uint32(f.v)
		case fieldRecordTraceID:
			if err := f.want(protowire.BytesType, "log record"); err != nil {
				return err
			}
			if err := setID(r.TraceID[:], f.b, "trace_id"); err != nil {
				return err
			}
		case fieldRecordSpanID:
			if err := f.want(protowire.BytesType, "log record"); err != nil {
				return err
			}
			if err := setID(r.SpanID[:], f.b, "span_id"); err != nil {
				return err
			}
		}
	}
	l.Records[ri].Attributes = d.popKeyValues(base)
	return nil
}

// setID copies an ID of exactly len(dst) bytes; an empty one means none. Other lengths are
// refused, as OpenTelemetry's decoder (and so Loki) refuses them.
func setID(dst, src []byte, name string) error {
	switch len(src) {
	case 0:
		clear(dst)
	case len(dst):
		copy(dst, src)
	default:
		return malformed("%s has %d bytes, want %d", name, len(src), len(dst))
	}
	return nil
}

// keyValue decodes a KeyValue and pushes it.
func (d *protoDecoder) keyValue(b []byte, depth int) error {
	var kv KeyValue
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return malformed("key-value: %v", err)
		}
		b = rest
		switch f.num {
		case fieldKeyValueKey:
			if err := f.want(protowire.BytesType, "key-value"); err != nil {
				return err
			}
			kv.Key = unsafestr.String(f.b)
		case fieldKeyValueValue:
			if err := f.want(protowire.BytesType, "key-value"); err != nil {
				return err
			}
			if err := d.value(f.b, &kv.Value, depth); err != nil {
				return fmt.Errorf("%q: %w", kv.Key, err)
			}
		}
	}
	d.l.kvStack = append(d.l.kvStack, kv)
	return nil
}

// value decodes an AnyValue into v. The last field of the oneof wins; a message that sets
// none leaves v as it was.
func (d *protoDecoder) value(b []byte, v *Value, depth int) error {
	if depth >= maxDepth {
		return malformed("values nested deeper than %d levels", maxDepth)
	}
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return malformed("value: %v", err)
		}
		b = rest
		switch f.num {
		case fieldValueString, fieldValueBytes:
			if err := f.want(protowire.BytesType, "value"); err != nil {
				return err
			}
			*v = Value{Kind: KindString, Str: unsafestr.String(f.b)}
			if f.num == fieldValueBytes {
				v.Kind = KindBytes
			}
		case fieldValueBool, fieldValueInt:
			if err := f.want(protowire.VarintType, "value"); err != nil {
				return err
			}
			if f.num == fieldValueBool {
				*v = Value{Kind: KindBool}
				if f.v != 0 {
					v.Num = 1
				}
			} else {
				*v = Value{Kind: KindInt, Num: f.v}
			}
		case fieldValueDouble:
			if err := f.want(protowire.Fixed64Type, "value"); err != nil {
				return err
			}
			*v = Value{Kind: KindDouble, Num: f.v}
		case fieldValueArray:
			if err := f.want(protowire.BytesType, "value"); err != nil {
				return err
			}
			span, err := d.array(f.b, depth+1)
			if err != nil {
				return err
			}
			*v = Value{Kind: KindArray, List: span}
		case fieldValueKvlist:
			if err := f.want(protowire.BytesType, "value"); err != nil {
				return err
			}
			span, err := d.kvlist(f.b, depth+1)
			if err != nil {
				return err
			}
			*v = Value{Kind: KindMap, List: span}
		}
	}
	return nil
}

func (d *protoDecoder) array(b []byte, depth int) (Span, error) {
	base := len(d.l.valStack)
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return Span{}, malformed("array: %v", err)
		}
		b = rest
		if f.num != fieldListValues {
			continue
		}
		if err := f.want(protowire.BytesType, "array"); err != nil {
			return Span{}, err
		}
		var v Value
		if err := d.value(f.b, &v, depth); err != nil {
			return Span{}, fmt.Errorf("[%d]: %w", len(d.l.valStack)-base, err)
		}
		d.l.valStack = append(d.l.valStack, v)
	}
	return d.popValues(base), nil
}

func (d *protoDecoder) kvlist(b []byte, depth int) (Span, error) {
	base := len(d.l.kvStack)
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return Span{}, malformed("map: %v", err)
		}
		b = rest
		if f.num != fieldListValues {
			continue
		}
		if err := f.want(protowire.BytesType, "map"); err != nil {
			return Span{}, err
		}
		if err := d.keyValue(f.b, depth); err != nil {
			return Span{}, err
		}
	}
	return d.popKeyValues(base), nil
}
