package log

import "fmt"

// LogfmtParser is `| logfmt [--strict] [--keep-empty]`: every key=value pair of the line
// becomes a label (keys sanitised, `_extracted` added on a clash with a stream label).
//
// Without --strict, malformed pairs are skipped and the rest of the line is still parsed;
// with it, parsing stops at the first malformed pair and sets __error__=LogfmtParserErr.
// Keys without a value (`key` or `key=`) are skipped unless --keep-empty is given, in which
// case they become labels with an empty value.
type LogfmtParser struct {
	strict, keepEmpty bool
	dec               logfmtScanner
	names             labelNames
	buf               []byte
}

// NewLogfmtParser returns the `| logfmt` stage.
func NewLogfmtParser(strict, keepEmpty bool) *LogfmtParser {
	return &LogfmtParser{strict: strict, keepEmpty: keepEmpty}
}

func (l *LogfmtParser) Process(_ int64, line []byte, lbs *LabelsBuilder) ([]byte, bool) {
	d := &l.dec
	d.reset(line)
	fc := lbs.fieldCache(l)
	for {
		if !d.next() {
			if d.err == nil {
				break
			}
			if l.strict {
				lbs.SetErr(ErrLogfmt)
				lbs.SetErrorDetails(d.err.Error())
				return line, true
			}
			d.skipToken()
			continue
		}
		if d.value == nil && !l.keepEmpty {
			continue
		}
		sl := fc.lookup(d.key, false, nil)
		if sl == nil {
			l.buf = sanitizeBytesInto(l.buf[:0], trimSpaceBytes(d.key), true)
			var name string
			if len(l.buf) > 0 {
				name = l.names.forBuilder(l.names.get(l.buf), lbs)
			}
			sl = fc.fill(d.key, false, 0, l.buf, name, name != "" && lbs.wants(name))
			if sl == nil { // past maxCachedFields
				if name != "" && lbs.wants(name) {
					lbs.Set(ParsedLabel, name, l.names.text(d.value))
				}
				continue
			}
		}
		if sl.want {
			lbs.Set(ParsedLabel, sl.name, sl.value(d.value, &l.names))
		}
	}
	return line, true
}

func trimSpaceBytes(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// LogfmtExpressionParser is `| logfmt name="key", other`: only the named keys are extracted,
// each into its parameter's label. As in Loki every parameter's label is set, to "" when the key
// is missing (unless the stream has a label of that name), and --keep-empty has no effect.
type LogfmtExpressionParser struct {
	strict, keepEmpty bool
	keys              map[string][]string // key in the line -> label names
	dec               logfmtScanner
	names             labelNames
}

// NewLogfmtExpressionParser returns `| logfmt` with parameters.
func NewLogfmtExpressionParser(exprs []LabelExtractionExpr, strict, keepEmpty bool) (*LogfmtExpressionParser, error) {
	if len(exprs) == 0 {
		return nil, fmt.Errorf("logfmt: no parameters")
	}
	p := &LogfmtExpressionParser{strict: strict, keepEmpty: keepEmpty, keys: map[string][]string{}}
	for _, e := range exprs {
		if !isValidLabelName(e.Identifier) {
			return nil, fmt.Errorf("logfmt: invalid extracted label name %q", e.Identifier)
		}
		key := e.Expression
		if key == "" {
			key = e.Identifier
		}
		p.keys[key] = append(p.keys[key], e.Identifier)
	}
	return p, nil
}

func (p *LogfmtExpressionParser) Process(_ int64, line []byte, lbs *LabelsBuilder) ([]byte, bool) {
	for _, ids := range p.keys {
		for _, id := range ids {
			if !lbs.BaseHas(id) && lbs.wants(id) {
				lbs.Set(ParsedLabel, id, "")
			}
		}
	}
	d := &p.dec
	d.reset(line)
	for {
		if !d.next() {
			if d.err == nil {
				break
			}
			if p.strict {
				lbs.SetErr(ErrLogfmt)
				lbs.SetErrorDetails(d.err.Error())
				return line, true
			}
			d.skipToken()
			continue
		}
		ids, ok := p.keys[string(d.key)]
		if !ok {
			continue
		}
		var v string
		converted := false
		for _, id := range ids {
			name := p.names.forBuilder(id, lbs)
			if !lbs.wants(name) {
				continue
			}
			if !converted {
				v, converted = p.names.text(d.value), true
			}
			lbs.Set(ParsedLabel, name, v)
		}
	}
	return line, true
}
