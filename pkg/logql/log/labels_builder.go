package log

import (
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
)

// catLabel is a label with the category it belongs to.
type catLabel struct {
	name, value string
	cat         LabelCategory
}

// LabelsBuilder is the mutable label set the stages of a stream pipeline share while they
// process one entry. It starts each entry from the stream's labels and the entry's structured
// metadata and records changes as a small overlay (added and deleted names), so an entry that
// no stage touches costs no allocation and yields the stream's cached LabelsResult.
//
// A LabelsBuilder belongs to one StreamPipeline and is not safe for concurrent use.
type LabelsBuilder struct {
	stream []labels.Label // the stream's labels, sorted
	sm     []labels.Label // the current entry's structured metadata
	add    []catLabel     // labels set by stages; names unique; wins over stream and sm
	del    []string       // stream or sm names deleted by stages
	err    string
	errDet string

	base    *labelsResult            // the stream's labels alone
	cache   map[uint64]*cachedResult // results seen for this stream, by stateHash
	last    *cachedResult            // the result of the last LabelsResult call that built or found one
	scratch []catLabel
	keyBuf  []byte
	// The builders of a new result's label sets, kept so their buffers are reused.
	sbAll, sbStream, sbSM, sbParsed labels.ScratchBuilder

	// required, when not nil, names the only labels (besides the error labels) the pipeline's
	// consumer uses; parsers and structured metadata skip the others (see WithRequiredLabels).
	required requiredLabels

	fields []*fieldCache // the parsers' caches of this stream's keys (parser_fields.go)

	// smNames and smActs remember what setStructuredMetadata did with each name of the last
	// entry's metadata. What happens to a label depends on its name alone (and on the stream
	// and the required labels, fixed for the builder), and consecutive entries mostly carry the
	// same names (a detected_level, say), so the next entry replays the actions.
	smNames []string
	smActs  []smAction
}

// smAction is what setStructuredMetadata does with one metadata label: keep it under name,
// drop it, or set an error label from its value.
type smAction struct {
	name string
	act  uint8
}

const (
	smKeep = iota
	smDrop
	smErr
	smErrDetails
)

// NewLabelsBuilder returns a builder for the entries of the stream with labels lbls.
func NewLabelsBuilder(lbls labels.Labels) *LabelsBuilder {
	b := &LabelsBuilder{
		cache: map[uint64]*cachedResult{},
	}
	lbls.Range(func(l labels.Label) { b.stream = append(b.stream, l) })
	b.base = newLabelsResult(lbls, labels.EmptyLabels(), labels.EmptyLabels())
	return b
}

// Reset forgets the changes of the previous entry and its structured metadata.
func (b *LabelsBuilder) Reset() {
	b.sm = b.sm[:0]
	b.add = b.add[:0]
	b.del = b.del[:0]
	b.err = ""
	b.errDet = ""
}

// setStructuredMetadata sets the entry's structured metadata. As in Loki, names are normalised
// (characters invalid in a label name become '_'), a name the stream already has gets the
// "_extracted" suffix, and __error__ / __error_details__ set the error labels.
func (b *LabelsBuilder) setStructuredMetadata(sm labels.Labels) {
	if sm.IsEmpty() {
		return
	}
	same, i := sm.Len() == len(b.smNames), 0
	if same {
		sm.Range(func(l labels.Label) {
			same = same && l.Name == b.smNames[i]
			i++
		})
	}
	if !same {
		b.smNames, b.smActs = b.smNames[:0], b.smActs[:0]
		sm.Range(func(l labels.Label) {
			b.smNames = append(b.smNames, l.Name)
			b.smActs = append(b.smActs, b.smActionOf(l.Name))
		})
	}
	i = 0
	sm.Range(func(l labels.Label) {
		a := b.smActs[i]
		i++
		switch a.act {
		case smKeep:
			b.sm = append(b.sm, labels.Label{Name: a.name, Value: l.Value})
		case smErr:
			b.err = l.Value
		case smErrDetails:
			b.errDet = l.Value
		}
	})
}

// smActionOf decides what setStructuredMetadata does with a metadata label called name.
func (b *LabelsBuilder) smActionOf(name string) smAction {
	if !validLabelName(name) {
		name = SanitizeLabelName(name, true)
	}
	switch {
	case name == ErrorLabel:
		return smAction{act: smErr}
	case name == ErrorDetailsLabel:
		return smAction{act: smErrDetails}
	case b.BaseHas(name):
		name += DuplicateSuffix
	}
	if !b.required.has(name) {
		return smAction{act: smDrop}
	}
	return smAction{name: name, act: smKeep}
}

// wants reports whether a label called name may be part of the result. Parsers ask before
// they extract a label: false only under WithRequiredLabels, for a name the consumer drops.
func (b *LabelsBuilder) wants(name string) bool { return b.required.has(name) }

// BaseHas reports whether the stream (not the entry) has a label called name.
func (b *LabelsBuilder) BaseHas(name string) bool {
	for _, l := range b.stream {
		if l.Name == name {
			return true
		}
	}
	return false
}

// Get returns the current value of label name. __error__ and __error_details__ are labels too.
func (b *LabelsBuilder) Get(name string) (string, bool) {
	v, _, ok := b.GetWithCategory(name)
	return v, ok
}

// GetWithCategory is Get that also says where the label comes from.
func (b *LabelsBuilder) GetWithCategory(name string) (string, LabelCategory, bool) {
	switch name {
	case ErrorLabel:
		return b.err, ParsedLabel, b.err != ""
	case ErrorDetailsLabel:
		return b.errDet, ParsedLabel, b.errDet != ""
	}
	for i := range b.add {
		if b.add[i].name == name {
			return b.add[i].value, b.add[i].cat, true
		}
	}
	if b.deleted(name) {
		return "", 0, false
	}
	for _, l := range b.sm {
		if l.Name == name {
			return l.Value, StructuredMetadataLabel, true
		}
	}
	for _, l := range b.stream {
		if l.Name == name {
			return l.Value, StreamLabel, true
		}
	}
	return "", 0, false
}

func (b *LabelsBuilder) deleted(name string) bool {
	for _, d := range b.del {
		if d == name {
			return true
		}
	}
	return false
}

// Has reports whether label name is present.
func (b *LabelsBuilder) Has(name string) bool {
	_, ok := b.Get(name)
	return ok
}

// Set sets label name to value in category cat, replacing any label of that name.
// Setting __error__ or __error_details__ is SetErr or SetErrorDetails.
func (b *LabelsBuilder) Set(cat LabelCategory, name, value string) {
	switch name {
	case ErrorLabel:
		b.err = value
		return
	case ErrorDetailsLabel:
		b.errDet = value
		return
	}
	for i := range b.add {
		if b.add[i].name == name {
			b.add[i].value = value
			b.add[i].cat = cat
			return
		}
	}
	b.add = append(b.add, catLabel{name: name, value: value, cat: cat})
}

// Del removes the labels called names.
func (b *LabelsBuilder) Del(names ...string) {
	for _, name := range names {
		switch name {
		case ErrorLabel:
			b.err = ""
			continue
		case ErrorDetailsLabel:
			b.errDet = ""
			continue
		}
		for i := range b.add {
			if b.add[i].name == name {
				b.add = slices.Delete(b.add, i, i+1)
				break
			}
		}
		if !b.deleted(name) && b.inBase(name) {
			b.del = append(b.del, name)
		}
	}
}

func (b *LabelsBuilder) inBase(name string) bool {
	for _, l := range b.sm {
		if l.Name == name {
			return true
		}
	}
	return b.BaseHas(name)
}

// SetErr sets __error__.
func (b *LabelsBuilder) SetErr(kind string) { b.err = kind }

// GetErr returns __error__, empty when there is none.
func (b *LabelsBuilder) GetErr() string { return b.err }

// HasErr reports whether __error__ is set.
func (b *LabelsBuilder) HasErr() bool { return b.err != "" }

// SetErrorDetails sets __error_details__.
func (b *LabelsBuilder) SetErrorDetails(d string) { b.errDet = d }

// ResetError clears __error__ and __error_details__.
func (b *LabelsBuilder) ResetError() { b.err, b.errDet = "", "" }

// Range calls f for every current label (stream, structured metadata, parsed, then the error
// labels), in no particular order.
func (b *LabelsBuilder) Range(f func(name, value string, cat LabelCategory)) {
	for _, l := range b.stream {
		if !b.hidden(l.Name) {
			f(l.Name, l.Value, StreamLabel)
		}
	}
	for _, l := range b.sm {
		if !b.hidden(l.Name) {
			f(l.Name, l.Value, StructuredMetadataLabel)
		}
	}
	for _, l := range b.add {
		f(l.name, l.value, l.cat)
	}
	if b.err != "" {
		f(ErrorLabel, b.err, ParsedLabel)
	}
	if b.errDet != "" {
		f(ErrorDetailsLabel, b.errDet, ParsedLabel)
	}
}

// hidden reports whether a stream or structured-metadata label is deleted or overridden.
func (b *LabelsBuilder) hidden(name string) bool {
	if b.deleted(name) {
		return true
	}
	for i := range b.add {
		if b.add[i].name == name {
			return true
		}
	}
	return false
}

// unchanged reports whether the current labels are exactly the stream's.
func (b *LabelsBuilder) unchanged() bool {
	return len(b.add) == 0 && len(b.del) == 0 && len(b.sm) == 0 && b.err == "" && b.errDet == ""
}

// LabelsResult returns the current labels. Results are cached per stream by content, so entries
// with the same labels share one value and allocate nothing after the first.
//
// The cache is keyed by the overlay itself (the labels stages added, the structured metadata,
// the deleted names and the error labels, in the order they were set), which together with the
// stream's labels determines the result: a line whose overlay equals the previous line's (the
// common case once a query keeps only a few labels) costs one comparison, and any other known
// overlay one hash and one comparison, without sorting or encoding anything.
func (b *LabelsBuilder) LabelsResult() LabelsResult {
	if b.unchanged() {
		return b.base
	}
	if b.last != nil && b.last.state.equals(b) {
		return b.last.r
	}
	key := b.stateHash()
	if c, ok := b.cache[key]; ok && c.state.equals(b) {
		b.last = c
		return c.r
	}
	s := b.scratch[:0]
	for _, l := range b.stream {
		if !b.hidden(l.Name) {
			s = append(s, catLabel{l.Name, l.Value, StreamLabel})
		}
	}
	keptStream := len(s)
	for _, l := range b.sm {
		if !b.hidden(l.Name) {
			s = append(s, catLabel{l.Name, l.Value, StructuredMetadataLabel})
		}
	}
	s = append(s, b.add...)
	if b.err != "" {
		s = append(s, catLabel{ErrorLabel, b.err, ParsedLabel})
	}
	if b.errDet != "" {
		s = append(s, catLabel{ErrorDetailsLabel, b.errDet, ParsedLabel})
	}
	slices.SortFunc(s, func(x, y catLabel) int { return strings.Compare(x.name, y.name) })
	b.scratch = s

	c := &cachedResult{r: b.build(s, keptStream == len(b.stream))}
	c.state.copyFrom(b)
	// Bound the cache: a stream with a high-cardinality parsed label (a request id) would
	// otherwise keep every distinct set alive for the whole query.
	if len(b.cache) >= 4096 {
		clear(b.cache)
	}
	b.cache[key] = c
	b.last = c
	return c.r
}

// build makes the result holding s, which is sorted by name. The label sets are encoded with
// the builder's reused scratch builders. allStream says that s holds every label of the
// stream; then, unless a stage added a stream-category label of its own, the stream part is
// the stream's labels, already built.
func (b *LabelsBuilder) build(s []catLabel, allStream bool) *labelsResult {
	all, st, sm, pa := &b.sbAll, &b.sbStream, &b.sbSM, &b.sbParsed
	all.Reset()
	st.Reset()
	sm.Reset()
	pa.Reset()
	nStream := 0
	for _, l := range s {
		all.Add(l.name, l.value)
		switch l.cat {
		case StreamLabel:
			st.Add(l.name, l.value)
			nStream++
		case StructuredMetadataLabel:
			sm.Add(l.name, l.value)
		default:
			pa.Add(l.name, l.value)
		}
	}
	r := &labelsResult{all: all.Labels(), stream: b.base.stream, sm: labels.EmptyLabels(), parsed: labels.EmptyLabels()}
	if !allStream || nStream != len(b.stream) {
		r.stream = st.Labels()
	}
	if nStream != len(s) {
		r.sm = sm.Labels()
		r.parsed = pa.Labels()
	}
	r.hash = r.all.Hash()
	return r
}
