package index_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	bolt "go.etcd.io/bbolt"

	"github.com/sluicelog/sluice/pkg/index"
)

func TestMultiDayChunk(t *testing.T) {
	dir := t.TempDir()
	ix := openIndex(t, dir, index.Options{NoSync: true})
	ctx := context.Background()
	ls := labels.FromStrings("app", "api")
	// One chunk from 23:00 on day 0 to 01:00 on day 2, one inside day 1.
	long := ref(day0+23*hour, day0+2*index.DayNanos+hour, 7)
	short := ref(day0+index.DayNanos+hour, day0+index.DayNanos+2*hour, 8)
	mustAdd(t, ix, ls, long, short)

	tables, err := index.ListTables(dir)
	if err != nil {
		t.Fatalf("ListTables = %v", err)
	}
	var days []int64
	for _, tf := range tables {
		if tf.Tenant != tenant {
			t.Errorf("table %+v has tenant %q", tf, tf.Tenant)
		}
		days = append(days, tf.Day)
	}
	d0 := index.DayOf(day0)
	if want := []int64{d0, d0 + 1, d0 + 2}; !slices.Equal(days, want) {
		t.Fatalf("table days = %v, want %v", days, want)
	}

	check := func(from, through int64, want ...index.ChunkRef) {
		t.Helper()
		got, err := ix.ChunkRefs(ctx, tenant, from, through, m(t, labels.MatchEqual, "app", "api"))
		if err != nil {
			t.Fatalf("ChunkRefs = %v", err)
		}
		if len(want) == 0 {
			if len(got) != 0 {
				t.Errorf("ChunkRefs(%d, %d) = %v, want none", from, through, got)
			}
			return
		}
		if len(got) != 1 {
			t.Fatalf("ChunkRefs(%d, %d) = %d series, want 1", from, through, len(got))
		}
		for i := range want {
			want[i].Tenant, want[i].Fingerprint = tenant, ls.Hash()
		}
		if !slices.Equal(got[0].Chunks, want) {
			t.Errorf("ChunkRefs(%d, %d) = %+v, want %+v", from, through, got[0].Chunks, want)
		}
		if got[0].Fingerprint != ls.Hash() || !labels.Equal(got[0].Labels, ls) {
			t.Errorf("ChunkRefs series = %s %x, want %s %x", got[0].Labels, got[0].Fingerprint, ls, ls.Hash())
		}
	}
	check(day0, day0+3*index.DayNanos, long, short)           // all days: long once
	check(day0+2*index.DayNanos, day0+3*index.DayNanos, long) // last day only
	check(day0+index.DayNanos+3*hour, day0+index.DayNanos+4*hour, long)
	check(day0, day0+22*hour)                                  // before both
	check(day0+2*index.DayNanos+2*hour, day0+3*index.DayNanos) // after both

	st, err := ix.Stats(ctx, tenant, day0, day0+3*index.DayNanos, m(t, labels.MatchEqual, "app", "api"))
	if err != nil {
		t.Fatalf("Stats = %v", err)
	}
	if want := (index.Stats{Streams: 1, Chunks: 2, Bytes: 2000, Entries: 20}); st != want {
		t.Errorf("Stats = %+v, want %+v", st, want)
	}
	// Half of the short chunk's span.
	st, err = ix.Stats(ctx, tenant, day0+index.DayNanos+hour, day0+index.DayNanos+hour+30*minute-1, m(t, labels.MatchEqual, "app", "api"))
	if err != nil {
		t.Fatalf("Stats = %v", err)
	}
	if st.Streams != 1 || st.Chunks != 2 || st.Bytes < 500 || st.Bytes > 520 {
		t.Errorf("Stats over half an hour = %+v, want 1 stream, 2 chunks, about 500+ bytes", st)
	}
}

func TestCollision(t *testing.T) {
	opts := index.Options{NoSync: true}
	index.SetHashForTest(&opts, func(labels.Labels) uint64 { return 42 })
	dir := t.TempDir()
	ix := openIndex(t, dir, opts)
	ctx := context.Background()
	a := labels.FromStrings("app", "a")
	b := labels.FromStrings("app", "b")
	c := labels.FromStrings("app", "a", "x", "y")
	mustAdd(t, ix, a, ref(day0, day0+10, 1))
	mustAdd(t, ix, b, ref(day0, day0+10, 2))
	mustAdd(t, ix, c, ref(day0, day0+10, 3))
	mustAdd(t, ix, a, ref(day0+20, day0+30, 4)) // finds the existing series, not b or c

	got, err := ix.ChunkRefs(ctx, tenant, day0, day0+hour)
	if err != nil {
		t.Fatalf("ChunkRefs = %v", err)
	}
	want := map[string][]uint32{a.String(): {1, 4}, c.String(): {3}, b.String(): {2}}
	if len(got) != len(want) {
		t.Fatalf("ChunkRefs = %d series, want %d: %+v", len(got), len(want), got)
	}
	for _, s := range got {
		var sums []uint32
		for _, c := range s.Chunks {
			sums = append(sums, c.Checksum)
		}
		if !slices.Equal(sums, want[s.Labels.String()]) || s.Fingerprint != 42 {
			t.Errorf("series %s fp %d has chunks %v, want %v fp 42", s.Labels, s.Fingerprint, sums, want[s.Labels.String()])
		}
	}
	ss, err := ix.Series(ctx, tenant, day0, day0+hour, m(t, labels.MatchEqual, "app", "a"))
	if err != nil {
		t.Fatalf("Series = %v", err)
	}
	if s := seriesStrings(ss); !slices.Equal(s, []string{a.String(), c.String()}) {
		t.Errorf("Series(app=a) = %q", s)
	}
	// A ref whose fingerprint is not the labels' hash is refused.
	bad := ref(day0, day0+1, 9)
	bad.Fingerprint = 7
	if err := ix.Add(ctx, tenant, a, bad); err == nil {
		t.Errorf("Add with wrong fingerprint succeeded")
	}
}

func TestLabelNamesAndValues(t *testing.T) {
	ix := openIndex(t, t.TempDir(), index.Options{NoSync: true})
	ctx := context.Background()
	mustAdd(t, ix, labels.FromStrings("app", "api", "env", "prod"), ref(day0+hour, day0+2*hour, 1))
	mustAdd(t, ix, labels.FromStrings("app", "web", "region", "eu"), ref(day0+5*hour, day0+6*hour, 2))
	mustAdd(t, ix, labels.FromStrings("app", "db", "env", "dev"), ref(day0+index.DayNanos, day0+index.DayNanos+hour, 3))
	allTime := func() (int64, int64) { return day0 - index.DayNanos, day0 + 5*index.DayNanos }
	from, through := allTime()

	names := func(from, through int64, ms ...*labels.Matcher) []string {
		t.Helper()
		got, err := ix.LabelNames(ctx, tenant, from, through, ms...)
		if err != nil {
			t.Fatalf("LabelNames = %v", err)
		}
		return got
	}
	values := func(from, through int64, name string, ms ...*labels.Matcher) []string {
		t.Helper()
		got, err := ix.LabelValues(ctx, tenant, from, through, name, ms...)
		if err != nil {
			t.Fatalf("LabelValues = %v", err)
		}
		return got
	}
	cases := []struct {
		name      string
		got, want []string
	}{
		{"names all", names(from, through), []string{"app", "env", "region"}},
		{"names narrowed by time", names(day0+4*hour, day0+7*hour), []string{"app", "region"}},
		{"names narrowed by matcher", names(from, through, m(t, labels.MatchEqual, "env", "dev")), []string{"app", "env"}},
		{"names in a gap", names(day0+3*hour, day0+4*hour), nil},
		{"values all", values(from, through, "app"), []string{"api", "db", "web"}},
		{"values narrowed by time", values(day0, day0+3*hour, "app"), []string{"api"}},
		{"values narrowed by matcher", values(from, through, "app", m(t, labels.MatchRegexp, "env", ".+")), []string{"api", "db"}},
		{"values by matcher without label", values(from, through, "app", m(t, labels.MatchEqual, "env", "")), []string{"web"}},
		{"values of unknown label", values(from, through, "nope"), nil},
		{"values of other tenant", func() []string {
			got, err := ix.LabelValues(ctx, "other", from, through, "app")
			if err != nil {
				t.Fatalf("LabelValues = %v", err)
			}
			return got
		}(), nil},
	}
	for _, tc := range cases {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

func TestVolume(t *testing.T) {
	ix := openIndex(t, t.TempDir(), index.Options{NoSync: true})
	ctx := context.Background()
	add := func(bytes uint64, kv ...string) {
		r := ref(day0+hour, day0+2*hour, uint32(bytes))
		r.UncompressedBytes = bytes
		mustAdd(t, ix, labels.FromStrings(kv...), r)
	}
	add(100, "app", "api", "env", "prod", "pod", "1")
	add(200, "app", "api", "env", "prod", "pod", "2")
	add(50, "app", "web", "env", "prod")
	add(400, "app", "db")
	from, through := day0, day0+index.DayNanos-1
	str := func(vs []index.Volume) []string {
		var out []string
		for _, v := range vs {
			out = append(out, fmt.Sprintf("%s=%d", v.Name, v.Bytes))
		}
		return out
	}
	cases := []struct {
		name string
		req  index.VolumeRequest
		ms   []*labels.Matcher
		want []string
	}{
		{"by matcher labels", index.VolumeRequest{}, []*labels.Matcher{m(t, labels.MatchRegexp, "app", ".+")},
			[]string{`{app="db"}=400`, `{app="api"}=300`, `{app="web"}=50`}},
		{"by target labels", index.VolumeRequest{TargetLabels: []string{"env"}}, []*labels.Matcher{m(t, labels.MatchRegexp, "app", ".+")},
			[]string{`{env="prod"}=350`}},
		{"by target labels and limit", index.VolumeRequest{TargetLabels: []string{"app", "pod"}, Limit: 1}, []*labels.Matcher{m(t, labels.MatchEqual, "app", "api")},
			[]string{`{app="api", pod="2"}=200`}},
		{"aggregate by labels", index.VolumeRequest{AggregateBy: index.AggregateByLabels}, []*labels.Matcher{m(t, labels.MatchRegexp, "app", ".+"), m(t, labels.MatchRegexp, "env", ".+")},
			[]string{`app=350`, `env=350`}},
	}
	for _, tc := range cases {
		got, err := ix.Volume(ctx, tenant, from, through, tc.req, tc.ms...)
		if err != nil {
			t.Fatalf("%s: Volume = %v", tc.name, err)
		}
		if s := str(got); !slices.Equal(s, tc.want) {
			t.Errorf("%s: Volume = %q, want %q", tc.name, s, tc.want)
		}
	}
	if _, err := ix.Volume(ctx, tenant, from, through, index.VolumeRequest{AggregateBy: "pods"}); err == nil {
		t.Errorf("Volume with aggregateBy=pods succeeded")
	}
}

func TestReopenKeepsData(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	ix, err := index.Open(dir, index.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ls := labels.FromStrings("app", "api", "pod", "a")
	mustAdd(t, ix, ls, ref(day0, day0+hour, 1))
	if err := ix.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := ix.Add(ctx, tenant, ls, ref(day0, day0+1, 2)); !errors.Is(err, index.ErrClosed) {
		t.Errorf("Add after Close = %v, want ErrClosed", err)
	}

	ix = openIndex(t, dir, index.Options{})
	mustAdd(t, ix, labels.FromStrings("app", "api", "pod", "b"), ref(day0, day0+hour, 2))
	mustAdd(t, ix, ls, ref(day0+2*hour, day0+3*hour, 3))
	got, err := ix.ChunkRefs(ctx, tenant, day0, day0+index.DayNanos, m(t, labels.MatchEqual, "app", "api"))
	if err != nil {
		t.Fatalf("ChunkRefs = %v", err)
	}
	if len(got) != 2 || len(got[0].Chunks) != 2 || len(got[1].Chunks) != 1 {
		t.Fatalf("ChunkRefs after reopen = %+v, want pod a with 2 chunks and pod b with 1", got)
	}
}

func TestReadOnly(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	w, err := index.Open(dir, index.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ls := labels.FromStrings("app", "api")
	mustAdd(t, w, ls, ref(day0, day0+hour, 1))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	tbl, err := index.OpenTable(index.TablePath(dir, tenant, index.DayOf(day0)))
	if err != nil {
		t.Fatalf("OpenTable = %v", err)
	}
	defer tbl.Close()
	if tbl.Tenant() != tenant || tbl.Day() != index.DayOf(day0) {
		t.Errorf("table tenant, day = %q, %d", tbl.Tenant(), tbl.Day())
	}
	all, err := tbl.All(ctx)
	if err != nil || len(all) != 1 || !labels.Equal(all[0].Labels, ls) || len(all[0].Chunks) != 1 {
		t.Errorf("All = %+v, %v", all, err)
	}

	r := openIndex(t, dir, index.Options{ReadOnly: true})
	if err := r.Add(ctx, tenant, ls, ref(day0, day0+1, 2)); !errors.Is(err, index.ErrReadOnly) {
		t.Errorf("Add on read-only index = %v, want ErrReadOnly", err)
	}
	ss, err := r.Series(ctx, tenant, day0, day0+hour)
	if err != nil || len(ss) != 1 {
		t.Errorf("Series on read-only index = %v, %v", ss, err)
	}
	if _, err := index.Open(filepath.Join(dir, "missing"), index.Options{ReadOnly: true}); err == nil {
		t.Errorf("Open of a missing read-only dir succeeded")
	}
}

func TestIdleTablesClose(t *testing.T) {
	dir := t.TempDir()
	ix := openIndex(t, dir, index.Options{NoSync: true, IdleTimeout: 20 * time.Millisecond})
	ls := labels.FromStrings("app", "api")
	mustAdd(t, ix, ls, ref(day0, day0+hour, 1))
	path := index.TablePath(dir, tenant, index.DayOf(day0))
	// Once the index has closed the idle table, another opener gets the file lock.
	deadline := time.Now().Add(5 * time.Second)
	for {
		tbl, err := index.OpenTable(path)
		if err == nil {
			tbl.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("idle table still locked after 5s: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The index reopens it when needed.
	mustAdd(t, ix, ls, ref(day0+2*hour, day0+3*hour, 2))
	got, err := ix.ChunkRefs(context.Background(), tenant, day0, day0+index.DayNanos)
	if err != nil || len(got) != 1 || len(got[0].Chunks) != 2 {
		t.Errorf("ChunkRefs after idle close = %+v, %v", got, err)
	}
}

func TestAddRejects(t *testing.T) {
	ix := openIndex(t, t.TempDir(), index.Options{NoSync: true})
	ctx := context.Background()
	ok := labels.FromStrings("app", "api")
	otherTenant := ref(day0, day0+1, 1)
	otherTenant.Tenant = "other"
	cases := []struct {
		name   string
		tenant string
		lbls   labels.Labels
		refs   []index.ChunkRef
	}{
		{"empty tenant", "", ok, []index.ChunkRef{ref(day0, day0+1, 1)}},
		{"tenant with slash", "a/b", ok, []index.ChunkRef{ref(day0, day0+1, 1)}},
		{"tenant dot-dot", "..", ok, []index.ChunkRef{ref(day0, day0+1, 1)}},
		{"empty labels", tenant, labels.EmptyLabels(), []index.ChunkRef{ref(day0, day0+1, 1)}},
		{"empty value", tenant, labels.FromStrings("app", ""), []index.ChunkRef{ref(day0, day0+1, 1)}},
		{"invalid UTF-8", tenant, labels.FromStrings("app", "a\xff"), []index.ChunkRef{ref(day0, day0+1, 1)}},
		{"from after through", tenant, ok, []index.ChunkRef{ref(day0+2, day0+1, 1)}},
		{"spans years", tenant, ok, []index.ChunkRef{ref(day0, day0+400*index.DayNanos, 1)}},
		{"other tenant's chunk", tenant, ok, []index.ChunkRef{otherTenant}},
	}
	for _, tc := range cases {
		if err := ix.Add(ctx, tc.tenant, tc.lbls, tc.refs...); err == nil {
			t.Errorf("%s: Add succeeded", tc.name)
		}
	}
	if tables, err := index.ListTables(ix.Dir()); err != nil || len(tables) != 0 {
		t.Errorf("rejected adds left tables %v (%v)", tables, err)
	}
}

// TestConcurrent runs writers and readers together; run it with -race.
func TestConcurrent(t *testing.T) {
	ix := openIndex(t, t.TempDir(), index.Options{NoSync: true})
	ctx := context.Background()
	const writers, perWriter = 4, 50
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				ls := labels.FromStrings("app", fmt.Sprintf("app-%d", w), "pod", fmt.Sprintf("pod-%d", i))
				// 50 hourly chunks: the series spread over three day tables.
				r := ref(day0+int64(i)*hour, day0+int64(i)*hour+hour/2, uint32(i))
				if err := ix.Add(ctx, tenant, ls, r); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	done := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				ss, err := ix.Series(ctx, tenant, day0, day0+3*index.DayNanos, m(t, labels.MatchRegexp, "app", "app-.*"))
				if err != nil {
					errs <- err
					return
				}
				if !slices.IsSortedFunc(ss, func(a, b index.Series) int { return labels.Compare(a.Labels, b.Labels) }) {
					errs <- errors.New("series not sorted")
					return
				}
				if _, err := ix.LabelValues(ctx, tenant, day0, day0+3*index.DayNanos, "pod"); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(done)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	ss, err := ix.Series(ctx, tenant, day0, day0+3*index.DayNanos)
	if err != nil || len(ss) != writers*perWriter {
		t.Fatalf("Series after concurrent adds = %d series, %v; want %d", len(ss), err, writers*perWriter)
	}
	st, err := ix.Stats(ctx, tenant, day0, day0+3*index.DayNanos)
	if err != nil || st.Chunks != writers*perWriter || st.Streams != writers*perWriter {
		t.Errorf("Stats = %+v, %v; want %d chunks and streams", st, err, writers*perWriter)
	}
}

func TestCorruptTable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := index.TablePath(dir, tenant, index.DayOf(day0))
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	garbage := make([]byte, 64<<10)
	for i := range garbage {
		garbage[i] = byte(i*7 + i/13)
	}
	if err := os.WriteFile(path, garbage, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := index.OpenTable(path); err == nil {
		t.Errorf("OpenTable(garbage) succeeded")
	}
	ix := openIndex(t, dir, index.Options{NoSync: true})
	if _, err := ix.Series(ctx, tenant, day0, day0+hour); err == nil {
		t.Errorf("Series on a garbage table succeeded")
	}
	if err := ix.Add(ctx, tenant, labels.FromStrings("a", "b"), ref(day0, day0+1, 1)); err == nil {
		t.Errorf("Add to a garbage table succeeded")
	}
	if err := os.WriteFile(path, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := index.OpenTable(path); err == nil {
		t.Errorf("OpenTable(empty file) succeeded")
	}
}

// TestCorruptPages damages the data pages of a real table in many ways: every query must return
// a result or an error, never panic.
func TestCorruptPages(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	w := openIndex(t, src, index.Options{NoSync: true})
	var batch []index.SeriesRefs
	for i := range 300 {
		batch = append(batch, index.SeriesRefs{
			Labels: labels.FromStrings("app", fmt.Sprintf("app-%d", i%7), "pod", fmt.Sprintf("pod-%d", i)),
			Refs:   []index.ChunkRef{ref(day0+int64(i)*minute, day0+int64(i)*minute+10, uint32(i))},
		})
	}
	if err := w.AddBatch(ctx, tenant, batch); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(index.TablePath(src, tenant, index.DayOf(day0)))
	if err != nil {
		t.Fatal(err)
	}
	const pageSize = 4096
	failed := 0
	for trial := range 40 {
		data := slices.Clone(orig)
		// Leave the two meta pages: bbolt checks their checksums. Damage one data page.
		page := 2 + trial%max(1, len(data)/pageSize-2)
		off := page*pageSize + (trial*389)%pageSize
		for i := 0; i < 16 && off+i < len(data); i++ {
			data[off+i] ^= byte(0x5a + trial + i)
		}
		path := filepath.Join(t.TempDir(), "index.db")
		if err := os.WriteFile(path, data, 0o640); err != nil {
			t.Fatal(err)
		}
		tbl, err := index.OpenTable(path)
		if err != nil {
			continue
		}
		_, err1 := tbl.Series(ctx, day0, day0+index.DayNanos, m(t, labels.MatchRegexp, "app", "app-[1-3]"))
		_, err2 := tbl.ChunkRefs(ctx, day0, day0+hour, m(t, labels.MatchNotEqual, "pod", "pod-3"))
		_, err3 := tbl.LabelValues(ctx, day0, day0+index.DayNanos, "pod")
		_, err4 := tbl.LabelNames(ctx, day0, day0+hour)
		_, err5 := tbl.Stats(ctx, day0, day0+index.DayNanos)
		for _, err := range []error{err1, err2, err3, err4, err5} {
			if err != nil {
				failed++
				if !errors.Is(err, index.ErrCorrupt) {
					t.Errorf("trial %d: error %v does not wrap ErrCorrupt", trial, err)
				}
			}
		}
		if err := tbl.Close(); err != nil {
			t.Errorf("trial %d: Close = %v", trial, err)
		}
	}
	if failed == 0 {
		t.Errorf("no damage was detected; the test damages the wrong bytes")
	}
}

func TestContextCanceled(t *testing.T) {
	ix := openIndex(t, t.TempDir(), index.Options{NoSync: true})
	mustAdd(t, ix, labels.FromStrings("app", "api"), ref(day0, day0+1, 1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ix.Series(ctx, tenant, day0, day0+hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Series with canceled context = %v", err)
	}
	if err := ix.Add(ctx, tenant, labels.FromStrings("app", "x"), ref(day0, day0+1, 1)); !errors.Is(err, context.Canceled) {
		t.Errorf("Add with canceled context = %v", err)
	}
}

func TestUnboundedRange(t *testing.T) {
	ix := openIndex(t, t.TempDir(), index.Options{NoSync: true})
	mustAdd(t, ix, labels.FromStrings("app", "api"), ref(day0, day0+1, 1))
	const minInt, maxInt = -1 << 63, 1<<63 - 1
	ss, err := ix.Series(context.Background(), tenant, minInt, maxInt)
	if err != nil || len(ss) != 1 {
		t.Errorf("Series over all time = %v, %v", ss, err)
	}
}

// A table file grows by a little past the pages it uses, not to the next power of two as
// bbolt would grow it: a day of a thousand chunks took 256 KiB where its pages take about 200.
func TestTableFileTracksItsPages(t *testing.T) {
	dir := t.TempDir()
	ix, err := index.Open(dir, index.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for s := range 100 {
		ls := labels.FromStrings("app", fmt.Sprintf("app-%d", s%10), "pod", fmt.Sprintf("pod-%d", s))
		for c := range 10 {
			from := day0 + int64(c)*2*hour
			mustAdd(t, ix, ls, ref(from, from+hour, uint32(s*10+c)))
		}
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	path := index.TablePath(dir, tenant, index.DayOf(day0))
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var used int64
	if err := db.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil }); err != nil {
		t.Fatal(err)
	}
	if st.Size() > used+36<<10 { // 32 KiB and a page
		t.Errorf("table file of %d bytes holds %d bytes of pages: it grew more than 32 KiB past them", st.Size(), used)
	}
	if used < 64<<10 {
		t.Errorf("%d bytes of pages: the test means to grow the file past bbolt's first sizes", used)
	}
}
