package index

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/sluicelog/sluice/pkg/race"
)

func TestSeriesRecordRoundTrip(t *testing.T) {
	ls := labels.FromStrings("app", "api", "namespace", "prod", "pod", "api-7f9c")
	rec := seriesRecord{fp: ls.Hash(), minFrom: -5, maxThrough: math.MaxInt64, lbls: appendLabels(nil, ls)}
	got, err := decodeSeriesRecord(appendSeriesRecord(nil, rec))
	if err != nil {
		t.Fatalf("decodeSeriesRecord = %v", err)
	}
	if got.fp != rec.fp || got.minFrom != rec.minFrom || got.maxThrough != rec.maxThrough || !bytes.Equal(got.lbls, rec.lbls) {
		t.Errorf("decodeSeriesRecord = %+v, want %+v", got, rec)
	}
	var sb labels.ScratchBuilder
	back, err := decodeLabels(got.lbls, &sb)
	if err != nil || !labels.Equal(back, ls) {
		t.Errorf("decodeLabels = %s, %v; want %s", back, err, ls)
	}
	v, ok, err := labelValue(got.lbls, "namespace")
	if err != nil || !ok || string(v) != "prod" {
		t.Errorf("labelValue(namespace) = %q, %v, %v", v, ok, err)
	}
	if _, ok, _ := labelValue(got.lbls, "nope"); ok {
		t.Errorf("labelValue(nope) found a value")
	}
}

func TestDecodeLabelsRejects(t *testing.T) {
	enc := func(pairs ...string) []byte {
		b := []byte{byte(len(pairs) / 2)}
		for _, p := range pairs {
			b = append(b, byte(len(p)))
			b = append(b, p...)
		}
		return b
	}
	cases := map[string][]byte{
		"unsorted":      enc("b", "1", "a", "2"),
		"duplicate":     enc("a", "1", "a", "2"),
		"empty value":   enc("a", ""),
		"empty name":    enc("", "x"),
		"bad UTF-8":     enc("a", "\xff"),
		"trailing":      append(enc("a", "1"), 0),
		"short":         enc("a", "1")[:4],
		"huge count":    {0xff, 0xff, 0x03},
		"length beyond": {1, 5, 'a'},
	}
	var sb labels.ScratchBuilder
	for name, b := range cases {
		if _, err := decodeLabels(b, &sb); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: decodeLabels(%x) = %v, want ErrCorrupt", name, b, err)
		}
	}
}

func TestPostingsRoundTrip(t *testing.T) {
	ids := []uint64{1, 2, 130, 1 << 20, 1<<40 + 3}
	b := appendPostings(nil, 0, ids)
	got, err := decodePostings(nil, 0, b)
	if err != nil || !slices.Equal(got, ids) {
		t.Errorf("decodePostings = %v, %v; want %v", got, err, ids)
	}
	if last, err := lastPosting(b); err != nil || last != ids[len(ids)-1] {
		t.Errorf("lastPosting = %d, %v", last, err)
	}
	if _, err := decodePostings(nil, 130, b); !errors.Is(err, ErrCorrupt) {
		t.Errorf("decodePostings after 130 = %v, want ErrCorrupt", err)
	}
	if _, err := decodePostings(nil, 0, []byte{1, 0}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("decodePostings with a zero delta = %v, want ErrCorrupt", err)
	}
}

func TestPostingsKey(t *testing.T) {
	k := postingsKey(nil, "prod", 7)
	v, seg, err := splitPostingsKey(k)
	if err != nil || string(v) != "prod" || seg != 7 {
		t.Errorf("splitPostingsKey(%x) = %q, %d, %v", k, v, seg, err)
	}
	if _, _, err := splitPostingsKey([]byte("prod\x00\x00\x00\x00\x07")); !errors.Is(err, ErrCorrupt) {
		t.Errorf("splitPostingsKey without separator = %v", err)
	}
}

func TestChunkKeyOrder(t *testing.T) {
	a := ChunkRef{From: -10, Through: 5, Checksum: 1}
	b := ChunkRef{From: 3, Through: 4, Checksum: 0}
	if bytes.Compare(chunkKey(nil, 1, &a), chunkKey(nil, 1, &b)) >= 0 {
		t.Errorf("chunk key of from=-10 does not sort before from=3")
	}
	var got ChunkRef
	id, err := decodeChunkKey(chunkKey(nil, 9, &a), &got)
	if err != nil || id != 9 || got.From != a.From || got.Through != a.Through || got.Checksum != a.Checksum {
		t.Errorf("decodeChunkKey = %d %+v %v", id, got, err)
	}
}

func FuzzDecodeSeriesRecord(f *testing.F) {
	f.Add(appendSeriesRecord(nil, seriesRecord{fp: 1, minFrom: 2, maxThrough: 3, lbls: appendLabels(nil, labels.FromStrings("a", "b"))}))
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 20))
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := decodeSeriesRecord(b)
		if err != nil {
			return
		}
		var sb labels.ScratchBuilder
		ls, err := decodeLabels(rec.lbls, &sb)
		if err != nil {
			return
		}
		// decode, encode, decode gives the same value.
		rec2, err := decodeSeriesRecord(appendSeriesRecord(nil, seriesRecord{rec.fp, rec.minFrom, rec.maxThrough, appendLabels(nil, ls)}))
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		ls2, err := decodeLabels(rec2.lbls, &sb)
		if err != nil || !labels.Equal(ls, ls2) || rec2.fp != rec.fp || rec2.minFrom != rec.minFrom || rec2.maxThrough != rec.maxThrough {
			t.Fatalf("round trip changed %+v %s into %+v %s (%v)", rec, ls, rec2, ls2, err)
		}
	})
}

func FuzzDecodePostings(f *testing.F) {
	f.Add(uint64(0), appendPostings(nil, 0, []uint64{1, 5, 300}))
	f.Add(uint64(4), []byte{0x80})
	f.Fuzz(func(t *testing.T, after uint64, b []byte) {
		ids, err := decodePostings(nil, after, b)
		if err != nil {
			return
		}
		if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
			t.Fatalf("decodePostings = %v: not sorted and unique", ids)
		}
		again, err := decodePostings(nil, after, appendPostings(nil, 0, ids))
		if err != nil || !slices.Equal(again, ids) {
			t.Fatalf("round trip of %v = %v, %v", ids, again, err)
		}
		if len(ids) > 0 {
			if last, err := lastPosting(b); err != nil || last != ids[len(ids)-1] {
				t.Fatalf("lastPosting = %d, %v; want %d", last, err, ids[len(ids)-1])
			}
		}
	})
}

func FuzzDecodeChunk(f *testing.F) {
	r := ChunkRef{From: 1, Through: 2, Checksum: 3, Entries: 4, UncompressedBytes: 5}
	f.Add(chunkKey(nil, 1, &r), appendChunkStats(nil, &r))
	f.Add([]byte{}, []byte{0xff})
	f.Fuzz(func(t *testing.T, k, v []byte) {
		var got ChunkRef
		id, err := decodeChunkKey(k, &got)
		if err != nil {
			return
		}
		if err := decodeChunkStats(v, &got); err != nil {
			return
		}
		var again ChunkRef
		id2, err := decodeChunkKey(chunkKey(nil, id, &got), &again)
		if err == nil {
			err = decodeChunkStats(appendChunkStats(nil, &got), &again)
		}
		if err != nil || id2 != id || again != got {
			t.Fatalf("round trip of %d %+v = %d %+v, %v", id, got, id2, again, err)
		}
	})
}

// TestDecodeAllocs keeps the read path's decoders free of allocations.
func TestDecodeAllocs(t *testing.T) {
	race.SkipAllocs(t)
	ls := labels.FromStrings("app", "api", "namespace", "prod", "pod", "api-7f9c")
	rec := appendSeriesRecord(nil, seriesRecord{fp: 1, minFrom: 2, maxThrough: 3, lbls: appendLabels(nil, ls)})
	post := appendPostings(nil, 0, []uint64{1, 5, 9, 300, 70000})
	r := ChunkRef{From: 1, Through: 2, Checksum: 3, Entries: 4, UncompressedBytes: 5}
	ck, cv := chunkKey(nil, 1, &r), appendChunkStats(nil, &r)
	ids := make([]uint64, 0, 16)
	allocs := testing.AllocsPerRun(100, func() {
		d, err := decodeSeriesRecord(rec)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok, err := labelValue(d.lbls, "pod"); !ok || err != nil {
			t.Fatal("pod not found")
		}
		if ids, err = decodePostings(ids[:0], 0, post); err != nil {
			t.Fatal(err)
		}
		var got ChunkRef
		if _, err := decodeChunkKey(ck, &got); err != nil {
			t.Fatal(err)
		}
		if err := decodeChunkStats(cv, &got); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("decoding allocates %.0f times, want 0", allocs)
	}
}

func BenchmarkDecodeSeriesRecord(b *testing.B) {
	ls := labels.FromStrings("app", "api", "container", "api", "namespace", "prod", "pod", "api-7f9c-x2k4", "stream", "stdout")
	rec := appendSeriesRecord(nil, seriesRecord{fp: 1, minFrom: 2, maxThrough: 3, lbls: appendLabels(nil, ls)})
	var sb labels.ScratchBuilder
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		d, err := decodeSeriesRecord(rec)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := decodeLabels(d.lbls, &sb); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePostings(b *testing.B) {
	ids := make([]uint64, 1000)
	for i := range ids {
		ids[i] = uint64(i*3 + 1)
	}
	seg := appendPostings(nil, 0, ids)
	dst := make([]uint64, 0, len(ids))
	b.SetBytes(int64(len(seg)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = decodePostings(dst[:0], 0, seg); err != nil {
			b.Fatal(err)
		}
	}
}
