package iter

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/unsafestr"
)

// sliceIterator returns the entries of one stream from a slice. Like the chunk iterators, it
// hands out lines in a buffer it overwrites on the next call, so a caller that keeps a line
// past Next sees it change.
type sliceIterator struct {
	lbls    labels.Labels
	hash    uint64
	entries []logproto.Entry
	i       int
	buf     []byte
	cur     logproto.Entry
	spoil   bool
}

func newSlice(lbls labels.Labels, es []logproto.Entry) *sliceIterator {
	return &sliceIterator{lbls: lbls, hash: lbls.Hash(), entries: es, i: -1, spoil: true}
}

func (s *sliceIterator) Next() bool {
	if s.spoil {
		for i := range s.buf {
			s.buf[i] = '#' // spoil what the last At returned
		}
		s.cur.Timestamp = -1 << 62
	}
	s.i++
	if s.i >= len(s.entries) {
		return false
	}
	s.buf = append(s.buf[:0], s.entries[s.i].Line...)
	s.cur = logproto.Entry{Timestamp: s.entries[s.i].Timestamp, Line: unsafestr.String(s.buf)}
	return true
}

func (s *sliceIterator) At() *logproto.Entry   { return &s.cur }
func (s *sliceIterator) Labels() labels.Labels { return s.lbls }
func (s *sliceIterator) StreamHash() uint64    { return s.hash }
func (s *sliceIterator) Err() error            { return nil }
func (s *sliceIterator) Close() error          { return nil }

type entryOf struct {
	stream string
	ts     int64
	line   string
}

// TestMergeDedupe merges sources that repeat each other's entries (replicas, an ingester and
// the store) and entries that only share a timestamp or a line, in both directions, and checks
// that each distinct (stream, timestamp, line) comes out exactly once, in time order.
func TestMergeDedupe(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	streams := []labels.Labels{labels.FromStrings("app", "a"), labels.FromStrings("app", "b")}
	for round := range 200 {
		// A pool of entries with few timestamps and few lines, so that ties and repeats abound.
		var pool []entryOf
		for range 1 + r.IntN(40) {
			pool = append(pool, entryOf{
				stream: streams[r.IntN(2)].String(),
				ts:     int64(r.IntN(8)),
				line:   []string{"x", "y", "a longer line", ""}[r.IntN(4)],
			})
		}
		want := map[entryOf]bool{}
		var its []EntryIterator
		for range 1 + r.IntN(4) { // sources
			for _, lbls := range streams {
				var es []entryOf
				for _, e := range pool {
					if e.stream == lbls.String() && r.IntN(3) > 0 {
						es = append(es, e)
						want[e] = true
					}
				}
				// A source holds an entry once, in time order.
				slices.SortFunc(es, func(a, b entryOf) int { return int(a.ts - b.ts) })
				es = slices.Compact(es)
				var entries []logproto.Entry
				for _, e := range es {
					entries = append(entries, logproto.Entry{Timestamp: e.ts, Line: e.line})
				}
				its = append(its, newSlice(lbls, entries))
			}
		}
		for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
			if dir == logproto.Backward {
				for _, it := range its {
					s := it.(*sliceIterator)
					slices.Reverse(s.entries)
					s.i = -1
				}
			}
			m := MergeDedupe(slices.Clone(its), dir)
			got := map[entryOf]int{}
			var last int64
			n := 0
			for m.Next() {
				e := m.At()
				if n > 0 && ((dir == logproto.Forward && e.Timestamp < last) || (dir == logproto.Backward && e.Timestamp > last)) {
					t.Fatalf("round %d %v: timestamp %d after %d", round, dir, e.Timestamp, last)
				}
				last = e.Timestamp
				got[entryOf{m.Labels().String(), e.Timestamp, strings.Clone(e.Line)}]++
				n++
			}
			if len(got) != len(want) || n != len(want) {
				t.Fatalf("round %d %v: %d entries (%d distinct), want %d distinct once each: %v", round, dir, n, len(got), len(want), got)
			}
			for e := range want {
				if got[e] != 1 {
					t.Fatalf("round %d %v: %+v came %d times", round, dir, e, got[e])
				}
			}
		}
	}
}

// TestMergeDedupeAfter merges a source that may repeat entries (several replicas merged
// without de-duplication, the worst an ingester could answer) with one that holds no
// duplicate of its own (a store's answer), and checks that it gives what MergeDedupe gives:
// each distinct entry once, in time order, also where the first source ends, and whichever
// source ends first.
func TestMergeDedupeAfter(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	streams := []labels.Labels{labels.FromStrings("app", "a"), labels.FromStrings("app", "b")}
	for round := range 300 {
		type source struct {
			lbls    labels.Labels
			entries []logproto.Entry
		}
		// sources draws n sources per stream from a pool of few timestamps and lines; a
		// source holds an entry once, in time order.
		pool := func(maxTS int) []entryOf {
			var p []entryOf
			for range 1 + r.IntN(30) {
				p = append(p, entryOf{streams[r.IntN(2)].String(), int64(r.IntN(maxTS)), []string{"x", "y", ""}[r.IntN(3)]})
			}
			return p
		}
		sources := func(p []entryOf, n int) []source {
			var out []source
			for range n {
				for _, lbls := range streams {
					var es []entryOf
					for _, e := range p {
						if e.stream == lbls.String() && r.IntN(3) > 0 {
							es = append(es, e)
						}
					}
					slices.SortFunc(es, func(a, b entryOf) int { return int(a.ts - b.ts) })
					es = slices.Compact(es)
					src := source{lbls: lbls}
					for _, e := range es {
						src.entries = append(src.entries, logproto.Entry{Timestamp: e.ts, Line: e.line})
					}
					out = append(out, src)
				}
			}
			return out
		}
		// The sources overlap in time, or the repeating one ends earlier, or later.
		shared := pool(8)
		ing, store := sources(shared, 1+r.IntN(3)), sources(shared, 1+r.IntN(3))
		if r.IntN(3) == 0 {
			ing = sources(pool(3), 1+r.IntN(3))
		}
		iters := func(ss []source, dir logproto.Direction) []EntryIterator {
			var its []EntryIterator
			for _, s := range ss {
				es := slices.Clone(s.entries)
				if dir == logproto.Backward {
					slices.Reverse(es)
				}
				its = append(its, newSlice(s.lbls, es))
			}
			return its
		}
		drain := func(it EntryIterator) []string {
			var out []string
			for it.Next() {
				out = append(out, fmt.Sprintf("%d %s %q", it.At().Timestamp, it.Labels(), it.At().Line))
			}
			return out
		}
		for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
			want := drain(MergeDedupe(append(iters(ing, dir), iters(store, dir)...), dir))
			fromStore := MergeDedupe(iters(store, dir), dir)
			got := drain(MergeDedupeAfter([]EntryIterator{Merge(iters(ing, dir), dir), fromStore}, dir, 1))
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("round %d %v: got %q, want %q", round, dir, got, want)
			}
		}
	}
}

// TestMergeDedupeAfterAlike gives the distinct source entries that look alike: a store that was
// told the caller reads no line of its older entries leaves their lines empty, so two entries
// of one stream at one timestamp compare equal. They must all come out, whether the other
// source is still going or used up, while an entry of the other source equal to one of the
// distinct source's is still dropped.
func TestMergeDedupeAfterAlike(t *testing.T) {
	a, b := labels.FromStrings("app", "a"), labels.FromStrings("app", "b")
	store := func() EntryIterator {
		return Merge([]EntryIterator{
			newSlice(a, []logproto.Entry{{Timestamp: 1}, {Timestamp: 1}, {Timestamp: 2}, {Timestamp: 5, Line: "x"}, {Timestamp: 7}, {Timestamp: 7}}),
			newSlice(b, []logproto.Entry{{Timestamp: 1}, {Timestamp: 5}, {Timestamp: 5}}),
		}, logproto.Forward)
	}
	ingester := func() EntryIterator {
		return newSlice(a, []logproto.Entry{{Timestamp: 5, Line: "x"}, {Timestamp: 5, Line: "y"}})
	}
	var got []string
	it := MergeDedupeAfter([]EntryIterator{ingester(), store()}, logproto.Forward, 1)
	for it.Next() {
		got = append(got, fmt.Sprintf("%d %s %q", it.At().Timestamp, it.Labels(), it.At().Line))
	}
	want := []string{
		`1 {app="a"} ""`, `1 {app="a"} ""`, `1 {app="b"} ""`, `2 {app="a"} ""`,
		`5 {app="a"} "x"`, `5 {app="a"} "y"`, `5 {app="b"} ""`, `5 {app="b"} ""`,
		`7 {app="a"} ""`, `7 {app="a"} ""`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// BenchmarkMergeDedupe merges two sources of distinct entries (an ingester and a store that do
// not overlap), the common case: nearly every timestamp has one entry.
func BenchmarkMergeDedupe(b *testing.B) {
	lbls := labels.FromStrings("app", "a")
	line := strings.Repeat("level=info msg=\"request served\" ", 7)
	var a, c []logproto.Entry
	for i := range 10000 {
		e := logproto.Entry{Timestamp: int64(i), Line: fmt.Sprint(line, i)}
		if i%2 == 0 {
			a = append(a, e)
		} else {
			c = append(c, e)
		}
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(a)+len(c)) * int64(len(line)+4))
	for b.Loop() {
		sa, sc := newSlice(lbls, a), newSlice(lbls, c)
		sa.spoil, sc.spoil = false, false
		m := MergeDedupe([]EntryIterator{sa, sc}, logproto.Forward)
		for m.Next() {
		}
	}
}

// BenchmarkMerge merges 100 streams whose entries interleave in time, as a metric query over
// many streams reads them: the source of the next entry changes at nearly every entry.
func BenchmarkMerge(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	const streams, perStream = 100, 2000
	src := make([][]logproto.Entry, streams)
	lbls := make([]labels.Labels, streams)
	for s := range src {
		lbls[s] = labels.FromStrings("app", fmt.Sprint("app-", s), "pod", fmt.Sprint("pod-", s))
		ts := int64(r.IntN(1000))
		for range perStream {
			ts += 1 + int64(r.IntN(200_000))
			src[s] = append(src[s], logproto.Entry{Timestamp: ts, Line: "x"})
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		its := make([]EntryIterator, streams)
		for s := range its {
			its[s] = newSlice(lbls[s], src[s])
			its[s].(*sliceIterator).spoil = false
		}
		m := Merge(its, logproto.Forward)
		n, last := 0, int64(-1)
		for m.Next() {
			if ts := m.At().Timestamp; ts < last {
				b.Fatalf("entry %d at %d after %d", n, ts, last)
			} else {
				last = ts
			}
			n++
		}
		if n != streams*perStream {
			b.Fatalf("%d entries, want %d", n, streams*perStream)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*streams*perStream), "ns/entry")
}

// TestMergeOrder merges random sources (empty ones, equal timestamps within and across streams,
// timestamps at the ends of int64) in both directions and checks that every entry comes out
// once, in the direction's time order, streams of one timestamp in label order.
func TestMergeOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for round := range 500 {
		k := 2 + r.IntN(40)
		dir := []logproto.Direction{logproto.Forward, logproto.Backward}[round%2]
		var its []EntryIterator
		var want []string
		for s := range k {
			lbls := labels.FromStrings("s", fmt.Sprint(r.IntN(k))) // several sources may share a stream
			var es []logproto.Entry
			for range r.IntN(30) {
				ts := int64(r.IntN(50))
				switch r.IntN(40) {
				case 0:
					ts = math.MaxInt64
				case 1:
					ts = math.MinInt64
				}
				es = append(es, logproto.Entry{Timestamp: ts, Line: fmt.Sprint("src ", s)})
			}
			slices.SortFunc(es, func(a, b logproto.Entry) int {
				if dir == logproto.Backward {
					a, b = b, a
				}
				return cmp.Compare(a.Timestamp, b.Timestamp)
			})
			for _, e := range es {
				want = append(want, fmt.Sprintf("%d %s %s", e.Timestamp, lbls, e.Line))
			}
			its = append(its, newSlice(lbls, es))
		}
		m := Merge(its, dir)
		var got []string
		var prevTS int64
		var prev labels.Labels
		for i := 0; m.Next(); i++ {
			e := m.At()
			if i > 0 {
				before := e.Timestamp < prevTS // it comes before the last one
				if dir == logproto.Backward {
					before = e.Timestamp > prevTS
				}
				if before || (e.Timestamp == prevTS && labels.Compare(m.Labels(), prev) < 0) {
					t.Fatalf("round %d %v: %d %s after %d %s", round, dir, e.Timestamp, m.Labels(), prevTS, prev)
				}
			}
			prevTS, prev = e.Timestamp, m.Labels()
			got = append(got, fmt.Sprintf("%d %s %s", e.Timestamp, m.Labels(), e.Line))
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d %v: %d entries, want %d", round, dir, len(got), len(want))
		}
	}
}
