package distributor

import (
	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/validation"
)

// Loki 3 gives every pushed entry a detected_level structured metadata
// (limits_config.discover_log_levels); Grafana's Logs Drilldown groups by it.
const (
	detectedLevelLabel  = "detected_level"
	severityNumberLabel = "severity_number" // OpenTelemetry's SeverityNumber, as Loki's OTLP endpoint stores it
)

// levelOnly holds the structured metadata {detected_level="<level>"} for each level Loki
// writes. Most entries carry no metadata of their own, so this is all they get, shared and
// without an allocation.
var levelOnly = func() (m [8]labels.Labels) {
	for i, l := range []string{levelTrace, levelDebug, levelInfo, levelWarn, levelError, levelCritical, levelFatal, levelUnknown} {
		m[i] = labels.FromStrings(detectedLevelLabel, l)
	}
	return m
}()

// levelDetector adds detected_level to the entries of one push. Its zero value detects
// nothing; newLevelDetector reads the tenant's limits once per push, forStream once per stream.
type levelDetector struct {
	on       bool
	fields   levelFields
	maxDepth int

	// The stream's level, when one of fields is among its labels: every entry without a
	// detected_level of its own gets it.
	streamLevel    string
	hasStreamLevel bool
	streamMeta     labels.Labels // {detected_level=streamLevel}

	b labels.ScratchBuilder // reused for entries that carry metadata already
}

// newLevelDetector returns the detector for a tenant's limits. As in Loki, discovery needs
// allow_structured_metadata: the level is written as structured metadata.
func newLevelDetector(lim *validation.Limits) levelDetector {
	if !lim.DiscoverLogLevels || !lim.AllowStructuredMetadata {
		return levelDetector{}
	}
	return levelDetector{on: true, fields: newLevelFields(lim.LevelFields()), maxDepth: lim.LogLevelFromJSONMaxDepth}
}

// forStream prepares the detector for the entries of a stream labelled ls.
func (ld *levelDetector) forStream(ls labels.Labels) {
	ld.streamLevel, ld.hasStreamLevel, ld.streamMeta = "", false, labels.EmptyLabels()
	if !ld.on {
		return
	}
	if v, ok := firstLabel(ls, &ld.fields); ok {
		ld.streamLevel, ld.hasStreamLevel = normalizeLevel(v), true
		ld.streamMeta = levelMetadata(ld.streamLevel)
	}
}

// apply gives e its detected_level, in Loki's order of preference: a detected_level e already
// carries (its value normalised), the stream's level label, a level field of e's structured
// metadata, an OpenTelemetry severity_number, and last the line itself (levelFromLine).
func (ld *levelDetector) apply(e *logproto.Entry) {
	if !ld.on {
		return
	}
	sm := e.StructuredMetadata
	if sm.IsEmpty() {
		// The common case, and the cheap one: no metadata to look through or merge with.
		switch {
		case ld.hasStreamLevel:
			if ld.streamLevel != "" {
				e.StructuredMetadata = ld.streamMeta
			}
		default:
			e.StructuredMetadata = levelMetadata(levelFromLine(e.Line, &ld.fields, ld.maxDepth))
		}
		return
	}
	if sm.Has(detectedLevelLabel) {
		if v := sm.Get(detectedLevelLabel); normalizeLevel(v) != v {
			e.StructuredMetadata = ld.with(sm, normalizeLevel(v))
		}
		return
	}
	var level string
	if ld.hasStreamLevel {
		level = ld.streamLevel
	} else if v, ok := firstLabel(sm, &ld.fields); ok {
		level = normalizeLevel(v)
	} else if v := sm.Get(severityNumberLabel); v != "" {
		level = levelFromSeverityNumber(v)
	} else {
		level = levelFromLine(e.Line, &ld.fields, ld.maxDepth)
	}
	if level != "" {
		e.StructuredMetadata = ld.with(sm, level)
	}
}

// with returns sm with detected_level set to level (sm is sorted; so is the result).
func (ld *levelDetector) with(sm labels.Labels, level string) labels.Labels {
	ld.b.Reset()
	added := false
	sm.Range(func(l labels.Label) {
		if l.Name == detectedLevelLabel {
			return
		}
		if !added && l.Name > detectedLevelLabel {
			ld.b.Add(detectedLevelLabel, level)
			added = true
		}
		ld.b.Add(l.Name, l.Value)
	})
	if !added {
		ld.b.Add(detectedLevelLabel, level)
	}
	return ld.b.Labels()
}

// levelMetadata returns {detected_level=level}, shared for the levels Loki writes.
func levelMetadata(level string) labels.Labels {
	switch level {
	case levelTrace:
		return levelOnly[0]
	case levelDebug:
		return levelOnly[1]
	case levelInfo:
		return levelOnly[2]
	case levelWarn:
		return levelOnly[3]
	case levelError:
		return levelOnly[4]
	case levelCritical:
		return levelOnly[5]
	case levelFatal:
		return levelOnly[6]
	case levelUnknown:
		return levelOnly[7]
	}
	return labels.FromStrings(detectedLevelLabel, level)
}

// firstLabel returns the value of the label of ls whose name comes first in fields (names
// compared exactly, as Loki does). It reads ls once: metadata has a few labels, fields many.
func firstLabel(ls labels.Labels, f *levelFields) (string, bool) {
	best, value := len(f.names), ""
	ls.Range(func(l labels.Label) {
		if best == 0 || !f.mayHave(l.Name) {
			return
		}
		for x := 0; x < best; x++ {
			if l.Name == f.names[x] {
				best, value = x, l.Value
				return
			}
		}
	})
	return value, best < len(f.names)
}
