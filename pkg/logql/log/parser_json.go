package log

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// labelNames interns label names derived from keys found in lines: the same few keys come back
// on every line, so after the first line looking a name up costs no allocation.
type labelNames struct {
	names  map[string]string // sanitised name -> name
	dup    map[string]string // name -> name + DuplicateSuffix
	values map[string]string // short values
}

// maxInternedNames bounds the intern table against lines with unbounded key sets.
const maxInternedNames = 4096

func (n *labelNames) get(b []byte) string {
	if s, ok := n.names[string(b)]; ok {
		return s
	}
	if n.names == nil || len(n.names) >= maxInternedNames {
		n.names = map[string]string{}
	}
	s := string(b)
	n.names[s] = s
	return s
}

// Values of parsed labels are interned too when short: levels, methods, status codes and the
// like repeat on every line, and a map lookup keyed by the line's bytes costs no allocation.
// Long values (messages, ids) are copied as usual; the table stops growing when full, so
// high-cardinality values cost one failed lookup each.
const (
	maxInternedValueLen = 24
	maxInternedValues   = 1024
)

// value returns b as a string, interned when short.
func (n *labelNames) value(b []byte) string {
	if len(b) > maxInternedValueLen {
		return string(b)
	}
	if s, ok := n.values[string(b)]; ok {
		return s
	}
	s := string(b)
	if n.values == nil {
		n.values = map[string]string{}
	}
	if len(n.values) < maxInternedValues {
		n.values[s] = s
	}
	return s
}

// forBuilder returns name, or name+"_extracted" when the stream already has a label name.
func (n *labelNames) forBuilder(name string, lbs *LabelsBuilder) string {
	if !lbs.BaseHas(name) {
		return name
	}
	if s, ok := n.dup[name]; ok {
		return s
	}
	if n.dup == nil || len(n.dup) >= maxInternedNames {
		n.dup = map[string]string{}
	}
	s := name + DuplicateSuffix
	n.dup[name] = s
	return s
}

// JSONParser is `| json` without parameters: every field of the line's JSON object becomes a
// label, nested objects flattened with '_' between keys (`{"a":{"b":1}}` gives a_b="1");
// arrays are skipped. Strings are unescaped, numbers and booleans kept as written, null is "".
// A line that is not a JSON object sets __error__=JSONParserErr.
type JSONParser struct {
	key   []byte
	value []byte
	names labelNames
}

// NewJSONParser returns the `| json` stage.
func NewJSONParser() *JSONParser { return &JSONParser{} }

func (j *JSONParser) Process(_ int64, line []byte, lbs *LabelsBuilder) ([]byte, bool) {
	s := jsonScanner{data: line}
	j.key = j.key[:0]
	if err := j.object(&s, lbs, lbs.fieldCache(j), 0); err != nil {
		lbs.SetErr(ErrJSON)
		lbs.SetErrorDetails(err.Error())
	}
	return line, true
}

func (j *JSONParser) object(s *jsonScanner, lbs *LabelsBuilder, fc *fieldCache, depth int) error {
	if depth > maxJSONDepth {
		return errors.New("JSON nested too deeply")
	}
	prefixLen := len(j.key)
	return s.eachField(func(rawKey []byte, escaped bool) error {
		sl := fc.lookup(rawKey, escaped, j.key[:prefixLen])
		var name string
		var want bool
		if sl != nil {
			j.key = append(j.key[:prefixLen], sl.key[prefixLen:]...)
			name, want = sl.name, sl.want
		} else {
			j.key = j.key[:prefixLen]
			if prefixLen > 0 {
				j.key = append(j.key, '_')
			}
			k := rawKey
			if escaped {
				j.value = appendUnescaped(j.value[:0], rawKey)
				k = j.value
			}
			j.key = sanitizeBytesInto(j.key, trimSpaceBytes(k), prefixLen == 0)
			if len(j.key) > 0 {
				name = j.names.forBuilder(j.names.get(j.key), lbs)
				want = lbs.wants(name)
			}
			sl = fc.fill(rawKey, escaped, prefixLen, j.key, name, want)
		}
		switch k := s.peekKind(); k {
		case jsonObject:
			err := j.object(s, lbs, fc, depth+1)
			j.key = j.key[:prefixLen]
			return err
		case jsonArray, jsonNull:
			// Loki's json parser extracts only strings, numbers and booleans.
			_, err := s.skipValue(depth + 1)
			return err
		default:
			if name == "" || !want {
				// Skipping checks the value exactly as reading it would, with the same errors.
				_, err := s.skipValue(depth + 1)
				return err
			}
			v, err := j.readValue(s, k, sl)
			if err != nil {
				return err
			}
			lbs.Set(ParsedLabel, name, v)
			return nil
		}
	})
}

// readValue reads the string, number or boolean at s as a label value, through the slot of
// its key when there is one.
func (j *JSONParser) readValue(s *jsonScanner, k jsonKind, sl *fieldSlot) (string, error) {
	var b []byte
	switch k {
	case jsonString:
		raw, esc, err := s.readString()
		if err != nil {
			return "", err
		}
		b = raw
		if esc {
			j.value = appendUnescaped(j.value[:0], raw)
			b = j.value
		}
	case jsonNumber, jsonBool:
		raw, err := s.readScalar(k)
		if err != nil {
			return "", err
		}
		// Numbers and booleans are ASCII, so text keeps them as written.
		b = raw
	default:
		return "", s.errAt("read value")
	}
	if sl != nil {
		return sl.value(b, &j.names), nil
	}
	return j.names.text(b), nil
}

// jsonPathPart is one step of a json parameter expression: a field name or an array index.
type jsonPathPart struct {
	field string
	index int
	isIdx bool
}

// parseJSONPath parses `a.b[0]`, `a["b.c"]` or `["a"][1].b`.
func parseJSONPath(expr string) ([]jsonPathPart, error) {
	var parts []jsonPathPart
	i := 0
	for i < len(expr) {
		switch c := expr[i]; c {
		case '.':
			if i == 0 || i+1 >= len(expr) || expr[i+1] == '.' || expr[i+1] == '[' {
				return nil, fmt.Errorf("json expression %q: unexpected '.' at %d", expr, i)
			}
			i++
		case '[':
			end := strings.IndexByte(expr[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("json expression %q: missing ']'", expr)
			}
			inner := expr[i+1 : i+end]
			if len(inner) >= 2 && inner[0] == '"' {
				// A quoted key may contain ']' itself: find the closing quote first.
				q, err := strconv.QuotedPrefix(expr[i+1:])
				if err != nil {
					return nil, fmt.Errorf("json expression %q: %w", expr, err)
				}
				name, _ := strconv.Unquote(q)
				j := i + 1 + len(q)
				if j >= len(expr) || expr[j] != ']' {
					return nil, fmt.Errorf("json expression %q: missing ']'", expr)
				}
				parts = append(parts, jsonPathPart{field: name})
				i = j + 1
				continue
			}
			n, err := strconv.Atoi(inner)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("json expression %q: invalid index %q", expr, inner)
			}
			parts = append(parts, jsonPathPart{index: n, isIdx: true})
			i += end + 1
		default:
			j := i
			for j < len(expr) && expr[j] != '.' && expr[j] != '[' {
				if expr[j] == ']' || expr[j] == '"' {
					return nil, fmt.Errorf("json expression %q: unexpected %q at %d", expr, expr[j], j)
				}
				j++
			}
			parts = append(parts, jsonPathPart{field: expr[i:j]})
			i = j
		}
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("json expression %q: empty", expr)
	}
	return parts, nil
}

// JSONExpressionParser is `| json name="path", ...`: each parameter's path is looked up in the
// line's JSON and its value becomes label name; objects and arrays are kept as JSON text, a
// missing path gives "". A line that is not valid JSON sets __error__=JSONParserErr.
type JSONExpressionParser struct {
	ids   []string
	paths [][]jsonPathPart
	value []byte
	names labelNames
}

// NewJSONExpressionParser returns `| json` with parameters.
func NewJSONExpressionParser(exprs []LabelExtractionExpr) (*JSONExpressionParser, error) {
	p := &JSONExpressionParser{}
	for _, e := range exprs {
		if !isValidLabelName(e.Identifier) {
			return nil, fmt.Errorf("json: invalid extracted label name %q", e.Identifier)
		}
		expr := e.Expression
		if expr == "" {
			expr = e.Identifier
		}
		path, err := parseJSONPath(expr)
		if err != nil {
			return nil, err
		}
		p.ids = append(p.ids, e.Identifier)
		p.paths = append(p.paths, path)
	}
	return p, nil
}

var errJSONFound = errors.New("found")

func (p *JSONExpressionParser) Process(_ int64, line []byte, lbs *LabelsBuilder) ([]byte, bool) {
	if len(line) == 0 {
		return line, true // as Loki: an empty line is not an error
	}
	s := jsonScanner{data: line}
	if k := s.peekKind(); k != jsonObject && k != jsonArray && k != jsonString {
		lbs.SetErr(ErrJSON) // Loki gives no details here
		return line, true
	}
	if _, err := s.skipValue(0); err != nil {
		lbs.SetErr(ErrJSON)
		lbs.SetErrorDetails(err.Error())
		return line, true
	}
	for i, path := range p.paths {
		name := p.names.forBuilder(p.ids[i], lbs)
		if lbs.wants(name) {
			lbs.Set(ParsedLabel, name, p.lookup(line, path))
		}
	}
	return line, true
}

// lookup returns the value at path in the (already validated) JSON line, or "".
func (p *JSONExpressionParser) lookup(line []byte, path []jsonPathPart) string {
	s := jsonScanner{data: line}
	for _, part := range path {
		if part.isIdx {
			ok, err := s.nthElement(part.index)
			if !ok || err != nil {
				return ""
			}
			continue
		}
		if s.peekKind() != jsonObject {
			return ""
		}
		err := s.eachField(func(key []byte, escaped bool) error {
			if escaped {
				p.value = appendUnescaped(p.value[:0], key)
				key = p.value
			}
			if string(key) == part.field {
				return errJSONFound
			}
			_, err := s.skipValue(1)
			return err
		})
		if err != errJSONFound {
			return ""
		}
	}
	switch k := s.peekKind(); k {
	case jsonString:
		raw, esc, err := s.readString()
		if err != nil {
			return ""
		}
		if !esc {
			return p.names.text(raw)
		}
		p.value = appendUnescaped(p.value[:0], raw)
		return p.names.text(p.value)
	case jsonNull:
		return ""
	default:
		raw, err := s.skipValue(1)
		if err != nil {
			return ""
		}
		return string(raw)
	}
}

// isValidLabelName reports whether s is a valid Prometheus label name.
func isValidLabelName(s string) bool { return validLabelName(s) }

// PackedEntryKey is the field of a promtail `pack`ed line that holds the original line.
const PackedEntryKey = "_entry"

// UnpackParser is `| unpack`: it reverses promtail's pack stage. When the line's JSON object has
// an `_entry` string field, that field replaces the line and every other string field becomes a
// label; without `_entry` the line and labels are left alone. A line that is not a JSON object
// sets __error__=JSONParserErr; an empty line is left alone.
type UnpackParser struct {
	value []byte
	name  []byte
	line  []byte
	names labelNames
	kv    []string // name, value pairs found, set only once _entry is known
}

// NewUnpackParser returns the `| unpack` stage.
func NewUnpackParser() *UnpackParser { return &UnpackParser{} }

// errUnpackNotObject is Loki's message for a line that does not start with '{'.
var errUnpackNotObject = errors.New("expecting json object(6), but it is not")

func (u *UnpackParser) Process(_ int64, line []byte, lbs *LabelsBuilder) ([]byte, bool) {
	if len(line) == 0 {
		return line, true
	}
	if line[0] != '{' {
		lbs.SetErr(ErrJSON)
		lbs.SetErrorDetails(errUnpackNotObject.Error())
		return line, true
	}
	s := jsonScanner{data: line}
	var entry []byte
	found := false
	u.kv = u.kv[:0]
	err := s.eachField(func(key []byte, escaped bool) error {
		if s.peekKind() != jsonString {
			_, err := s.skipValue(1)
			return err
		}
		raw, esc, err := s.readString()
		if err != nil {
			return err
		}
		if escaped {
			u.value = appendUnescaped(u.value[:0], key)
			key = u.value
		}
		if string(key) == PackedEntryKey {
			found = true
			if esc {
				u.line = appendUnescaped(u.line[:0], raw)
				entry = u.line
			} else {
				entry = raw
			}
			return nil
		}
		u.name = sanitizeBytesInto(u.name[:0], trimSpaceBytes(key), true)
		name := u.names.get(u.name)
		if name == "" {
			return nil
		}
		var v string
		if esc {
			u.value = appendUnescaped(u.value[:0], raw)
			v = u.names.text(u.value)
		} else {
			v = u.names.text(raw)
		}
		u.kv = append(u.kv, name, v)
		return nil
	})
	if err != nil {
		lbs.SetErr(ErrJSON)
		lbs.SetErrorDetails(err.Error())
		return line, true
	}
	if !found {
		return line, true
	}
	for i := 0; i < len(u.kv); i += 2 {
		if name := u.names.forBuilder(u.kv[i], lbs); lbs.wants(name) {
			lbs.Set(ParsedLabel, name, u.kv[i+1])
		}
	}
	return entry, true
}

// text is value for text taken from a line: invalid UTF-8 is replaced as validUTF8String does.
func (n *labelNames) text(b []byte) string {
	if !utf8Clean(b) {
		return replaceInvalidUTF8(b)
	}
	return n.value(b)
}

// utf8Clean reports whether b is valid UTF-8 without U+FFFD.
func utf8Clean(b []byte) bool {
	// ASCII, the usual case, eight bytes at a time.
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&0x8080808080808080 != 0 {
			break
		}
	}
	for i < len(b) {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError {
			return false
		}
		i += n
	}
	return true
}

// validUTF8String converts b to a string, replacing invalid UTF-8 (and U+FFFD) with spaces as
// Loki does, since Prometheus rejects the replacement character in label values.
func validUTF8String(b []byte) string {
	if !utf8Clean(b) {
		return replaceInvalidUTF8(b)
	}
	return string(b)
}

func replaceInvalidUTF8(b []byte) string {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError {
			out = append(out, ' ')
		} else {
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return string(out)
}
