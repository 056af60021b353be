package distributor

import (
	"strings"
	"unicode/utf8"

	"github.com/sluicelog/sluice/pkg/logfmt"
	"github.com/sluicelog/sluice/pkg/unsafestr"
)

// levelFields are the field names levels are read from (log_level_fields), with what the
// logfmt and JSON readers need to reject other keys quickly. It is built once per push.
type levelFields struct {
	names []string
	ascii bool // every name is ASCII
	// lengths has bit n set when a name is n bytes long (n < 64), or every bit when one is
	// longer: most keys of a line are rejected by their length alone.
	lengths uint64
}

func newLevelFields(names []string) levelFields {
	f := levelFields{names: names, ascii: true}
	for _, n := range names {
		f.ascii = f.ascii && isASCII(n)
		if len(n) < 64 {
			f.lengths |= 1 << len(n)
		} else {
			f.lengths = ^uint64(0)
		}
	}
	return f
}

// mayHave reports whether a name of fields can be len(key) bytes long.
func (f *levelFields) mayHave(key string) bool {
	return len(key) >= 64 && f.lengths == ^uint64(0) || len(key) < 64 && f.lengths&(1<<len(key)) != 0
}

// logfmtLevelField returns the level read from line's logfmt field whose key equals, without
// case, the earliest possible name in fields, in Loki's spelling; ok is false when there is no
// such field or its value is not a level. Scanning stops at the first syntax error, keeping
// what was found before it.
func logfmtLevelField(line string, fields *levelFields) (level string, ok bool) {
	var sc logfmt.Scanner
	sc.Reset(unsafestr.Bytes(line))
	best := len(fields.names)
	for sc.Next() {
		key := unsafestr.String(sc.Key())
		// ASCII strings of different lengths are not equal without case; others may be
		// ("ſeverity", with a long s, folds to "severity"), so they go through EqualFold.
		sameLenOnly := fields.ascii && isASCII(key)
		if sameLenOnly && !fields.mayHave(key) {
			continue
		}
		for x := 0; x < best; x++ {
			name := fields.names[x]
			if sameLenOnly && len(name) != len(key) {
				continue
			}
			if strings.EqualFold(key, name) {
				// The value is read now: an unescaped one lives only until the next pair.
				best = x
				level, ok = canonicalLevel(unsafestr.String(sc.Value()))
				if x == 0 {
					return level, ok
				}
				break
			}
		}
	}
	return level, ok
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
