package index

import "github.com/prometheus/prometheus/model/labels"

// SetHashForTest makes the index compute fingerprints with hash, to force collisions.
func SetHashForTest(o *Options, hash func(labels.Labels) uint64) { o.hash = hash }

// SetAlwaysReadPostingsForTest makes queries apply every matcher through postings lists, never by
// checking the labels of a small selection.
func SetAlwaysReadPostingsForTest(o *Options) { o.smallSelection = -1 }
