package chunk

import (
	"errors"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
)

// TestReadFromTail reads a chunk the way a querier reads an object store: the tail first,
// then only the byte ranges of the blocks a query's time range needs.
func TestReadFromTail(t *testing.T) {
	es := testLines(t, 3000, 31)
	es[100].StructuredMetadata = labels.FromStrings("user", "carol")
	h, accepted := buildHead(t, EncZstd, 16<<10, es)
	obj, err := h.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	size := int64(len(obj))
	fetched := 0
	getRange := func(off, n int64) []byte {
		fetched += int(n)
		return append([]byte(nil), obj[off:off+n]...)
	}

	// A tail too short for the index says where the index starts.
	_, err = ParseIndex(getRange(size-64, 64), size)
	var short *ShortTailError
	if !errors.As(err, &short) || short.Offset <= 0 || short.Offset >= size-64 {
		t.Fatalf("ParseIndex(64-byte tail) = %v, want a ShortTailError", err)
	}
	ix, err := ParseIndex(getRange(short.Offset, size-short.Offset), size)
	if err != nil {
		t.Fatalf("ParseIndex(tail from %d): %v", short.Offset, err)
	}
	if len(ix.Blocks) < 10 {
		t.Fatalf("%d blocks, want many", len(ix.Blocks))
	}

	// A query over a tenth of the time range fetches only its blocks.
	minT, maxT := h.Bounds()
	from, through := minT+(maxT-minT)*4/10, minT+(maxT-minT)*5/10
	need := ix.Overlapping(from, through)
	if len(need) == 0 || len(need) > len(ix.Blocks)/3 {
		t.Fatalf("Overlapping(%d, %d) = %d of %d blocks", from, through, len(need), len(ix.Blocks))
	}
	blocks := make([][]byte, len(ix.Blocks))
	for _, i := range need {
		m := ix.Blocks[i]
		blocks[i] = getRange(int64(m.Offset), int64(m.Length))
	}
	if fetched > len(obj)/2 {
		t.Errorf("fetched %d of %d bytes", fetched, len(obj))
	}
	for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
		got := collect(t, ix.Iterator(blocks, testStream, from, through, dir, nil))
		diffEntries(t, "ranged "+dir.String(), got, expect(accepted, from, through, dir, nil))
	}
	// The whole range needs blocks that were not fetched.
	it := ix.Iterator(blocks, testStream, minInt64, maxInt64, logproto.Forward, nil)
	if it.Next() || !errors.Is(it.Err(), errNotFetched) {
		t.Errorf("iterate unfetched blocks: Err() = %v, want errNotFetched", it.Err())
	}
	// And the whole object as the tail reads everything, metadata included.
	ix, err = ParseIndex(obj, size)
	if err != nil {
		t.Fatal(err)
	}
	all := make([][]byte, len(ix.Blocks))
	for i, m := range ix.Blocks {
		all[i] = obj[m.Offset : m.Offset+m.Length]
	}
	diffEntries(t, "whole", collect(t, ix.Iterator(all, testStream, minInt64, maxInt64, logproto.Forward, nil)),
		expect(accepted, minInt64, maxInt64, logproto.Forward, nil))
}
