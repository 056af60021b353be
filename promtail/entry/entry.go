// Package entry defines the log entry that flows from a target through the pipeline stages
// to the clients: the line with its timestamp and structured metadata, its label set, and the
// Ack that reports back to the file it came from once the server has stored it.
package entry

import (
	"github.com/prometheus/common/model"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/promtail/ack"
)

// ReservedLabelTenantID is the label a pipeline sets to send an entry to another tenant;
// clients remove it before sending.
const ReservedLabelTenantID = "__tenant_id__"

// Entry is one log entry on its way to the server.
type Entry struct {
	logproto.Entry
	// Ack reports the entry's fate to the file it was read from.
	Ack ack.Ack

	labels model.LabelSet
	owned  bool   // labels is this entry's own map (copy on write).
	key    string // cached labels.String(); "" when stale.
}

// New returns an entry with the given labels. The map is shared, not copied: the entry copies
// it on its first change. key, if not empty, must be labels.String().
func New(labels model.LabelSet, key string, line string, ts int64, a ack.Ack) Entry {
	return Entry{Entry: logproto.Entry{Timestamp: ts, Line: line}, Ack: a, labels: labels, key: key}
}

// Labels returns the label set; do not modify it (use SetLabel and DeleteLabel).
func (e *Entry) Labels() model.LabelSet { return e.labels }

// Label returns the value of one label.
func (e *Entry) Label(name string) (string, bool) {
	v, ok := e.labels[model.LabelName(name)]
	return string(v), ok
}

func (e *Entry) own() {
	if !e.owned {
		l := make(model.LabelSet, len(e.labels)+2)
		for k, v := range e.labels {
			l[k] = v
		}
		e.labels, e.owned = l, true
	}
	e.key = ""
}

// SetLabel sets a label.
func (e *Entry) SetLabel(name, value string) {
	if v, ok := e.labels[model.LabelName(name)]; ok && string(v) == value {
		return
	}
	e.own()
	e.labels[model.LabelName(name)] = model.LabelValue(value)
}

// LabelMemo remembers label sets that SetLabelMemo derived, so a stage that sets the same
// label on entries with the same labels (the cri stage's stream="stdout" on every line of a
// file) shares one map and one key among them, instead of copying the map and rendering the
// key for every entry. The zero value is ready; it is not safe for concurrent use.
type LabelMemo struct {
	m map[memoKey]derived
}

type memoKey struct{ base, tenant, name, value string }

type derived struct {
	labels model.LabelSet
	key    string
}

// memoSize bounds a LabelMemo: past it, the memo starts again empty.
const memoSize = 1024

// SetLabelMemo is SetLabel through memo: an entry whose labels (tenant label included) and
// change were seen before gets the label set made then, shared (a later change copies it).
func (e *Entry) SetLabelMemo(name, value string, memo *LabelMemo) {
	if v, ok := e.labels[model.LabelName(name)]; ok && string(v) == value {
		return
	}
	tenant, _ := e.Label(ReservedLabelTenantID)
	k := memoKey{e.Key(), tenant, name, value}
	if d, ok := memo.m[k]; ok {
		e.labels, e.owned, e.key = d.labels, false, d.key
		return
	}
	e.SetLabel(name, value)
	if memo.m == nil || len(memo.m) >= memoSize {
		memo.m = make(map[memoKey]derived)
	}
	memo.m[k] = derived{e.labels, e.Key()}
	e.owned = false // the memo shares the map now
}

// DeleteLabel removes a label.
func (e *Entry) DeleteLabel(name string) {
	if _, ok := e.labels[model.LabelName(name)]; !ok {
		return
	}
	e.own()
	delete(e.labels, model.LabelName(name))
}

// SetLabels replaces the whole label set with l, which the entry then owns.
func (e *Entry) SetLabels(l model.LabelSet) {
	e.labels, e.owned, e.key = l, true, ""
}

// Key returns the label set in selector syntax, {a="b", c="d"}, without the reserved tenant
// label, cached until the labels change.
func (e *Entry) Key() string {
	if e.key == "" {
		if _, ok := e.labels[ReservedLabelTenantID]; ok {
			l := e.labels.Clone()
			delete(l, ReservedLabelTenantID)
			e.key = l.String()
		} else {
			e.key = e.labels.String()
		}
	}
	return e.key
}

// Clone returns a copy that owns its own labels and structured metadata slice.
func (e *Entry) Clone() Entry {
	c := *e
	c.owned = false
	c.own()
	c.key = e.key
	c.StructuredMetadata = e.StructuredMetadata.Copy()
	return c
}
