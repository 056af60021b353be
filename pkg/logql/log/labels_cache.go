package log

import (
	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/prometheus/model/labels"
)

// builderState is a copy of a LabelsBuilder's overlay: everything besides the stream's labels
// that decides its LabelsResult.
type builderState struct {
	add         []catLabel
	sm          []labels.Label
	del         []string
	err, errDet string
}

// cachedResult is a result together with the overlay it was built from.
type cachedResult struct {
	state builderState
	r     *labelsResult
}

// equals reports whether st is b's current overlay, order included. Label strings are
// immutable, so holding them in st is safe; comparing two references to one interned string
// stops at the pointer.
func (st *builderState) equals(b *LabelsBuilder) bool {
	if st.err != b.err || st.errDet != b.errDet ||
		len(st.add) != len(b.add) || len(st.sm) != len(b.sm) || len(st.del) != len(b.del) {
		return false
	}
	for i := range st.add {
		if st.add[i] != b.add[i] {
			return false
		}
	}
	for i := range st.sm {
		if st.sm[i] != b.sm[i] {
			return false
		}
	}
	for i := range st.del {
		if st.del[i] != b.del[i] {
			return false
		}
	}
	return true
}

func (st *builderState) copyFrom(b *LabelsBuilder) {
	st.add = append(st.add[:0], b.add...)
	st.sm = append(st.sm[:0], b.sm...)
	st.del = append(st.del[:0], b.del...)
	st.err, st.errDet = b.err, b.errDet
}

// stateHash hashes b's overlay as equals compares it. Collisions only cost a rebuild: a cache
// entry is used only when its state equals the overlay.
func (b *LabelsBuilder) stateHash() uint64 {
	k := b.keyBuf[:0]
	for _, l := range b.add {
		k = append(k, l.name...)
		k = append(k, 0xff, byte(l.cat))
		k = append(k, l.value...)
		k = append(k, 0xfe)
	}
	k = append(k, 0xfd)
	for _, l := range b.sm {
		k = append(k, l.Name...)
		k = append(k, 0xff)
		k = append(k, l.Value...)
		k = append(k, 0xfe)
	}
	k = append(k, 0xfd)
	for _, n := range b.del {
		k = append(k, n...)
		k = append(k, 0xfe)
	}
	k = append(k, 0xfd)
	k = append(k, b.err...)
	k = append(k, 0xfe)
	k = append(k, b.errDet...)
	b.keyBuf = k
	return xxhash.Sum64(k)
}
