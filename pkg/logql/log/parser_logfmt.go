package log

import (
	"fmt"

	"github.com/sluicelog/sluice/pkg/logfmt"
)

// LogfmtParser is `| logfmt [--strict] [--keep-empty]`: every key=value pair of the line
// becomes a label (keys sanitised, `_extracted` added on a clash with a stream label).
//
// Without --strict, malformed pairs are skipped and the rest of the line is still parsed;
// with it, parsing stops at the first malformed pair and sets __error__=LogfmtParserErr.
// Keys without a value (`key` or `key=`) are skipped unless --keep-empty is given, in which
// case they become labels with an empty value.
type LogfmtParser struct {
	strict, keepEmpty bool
	dec               logfmt.Scanner
	names             labelNames
	buf               []byte
}

// NewLogfmtParser returns the `| logfmt` stage.
func NewLogfmtParser(strict, keepEmpty bool) *LogfmtParser {
	return &LogfmtParser{strict: strict, keepEmpty: keepEmpty}
}

func (l *LogfmtParser) Process(_ int64, line []byte, lbs *LabelsBuilder) ([]byte, bool) {
	d := &l.dec
	d.Reset(line)
	fc := lbs.fieldCache(l)
	for {
		if !d.Next() {
			if !d.Failed() {
				break
			}
			if l.strict {
				lbs.SetErr(ErrLogfmt)
				lbs.SetErrorDetails(d.Err().Error())
				return line, true
			}
			d.SkipToken()
			continue
		}
		if d.Value() == nil && !l.keepEmpty {
			continue
		}
		sl := fc.lookup(d.Key(), false, nil)
		if sl == nil {
			l.buf = sanitizeBytesInto(l.buf[:0], trimSpaceBytes(d.Key()), true)
			var name string
			if len(l.buf) > 0 {
				name = l.names.forBuilder(l.names.get(l.buf), lbs)
			}
			sl = fc.fill(d.Key(), false, 0, l.buf, name, name != "" && lbs.wants(name))
			if sl == nil { // past maxCachedFields
				if name != "" && lbs.wants(name) {
					lbs.Set(ParsedLabel, name, l.names.text(d.Value()))
				}
				continue
			}
		}
		if sl.want {
			lbs.Set(ParsedLabel, sl.name, sl.value(d.Value(), &l.names))
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
	dec               logfmt.Scanner
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
	d.Reset(line)
	for {
		if !d.Next() {
			if !d.Failed() {
				break
			}
			if p.strict {
				lbs.SetErr(ErrLogfmt)
				lbs.SetErrorDetails(d.Err().Error())
				return line, true
			}
			d.SkipToken()
			continue
		}
		ids, ok := p.keys[string(d.Key())]
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
				v, converted = p.names.text(d.Value()), true
			}
			lbs.Set(ParsedLabel, name, v)
		}
	}
	return line, true
}
