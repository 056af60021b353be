package querier_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/chunk"
	"github.com/sluicelog/sluice/pkg/index"
	"github.com/sluicelog/sluice/pkg/iter"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql"
	"github.com/sluicelog/sluice/pkg/querier"
	"github.com/sluicelog/sluice/pkg/storage"
)

// remoteOnly hides fakeIngester's Series signature behind the Ingesters interface.
type remoteOnly struct{ f *fakeIngester }

func (r remoteOnly) SelectLogs(ctx context.Context, id string, p logql.SelectLogParams) (iter.EntryIterator, error) {
	return r.f.SelectLogs(ctx, id, p)
}

func (r remoteOnly) Series(ctx context.Context, id string, from, through int64, ms []*labels.Matcher) ([]labels.Labels, error) {
	return r.f.Series(ctx, id, from, through, ms), nil
}

// TestNoLinesBeforeIngesters: with ingesters that are not this process's (a read process), a
// caller that reads no line gets the store's entries older than the ingesters' oldest without
// their lines, and the rest with them, compared with the ingesters' where they overlap (a chunk
// the ingester flushed and still holds): every entry once, entries of one timestamp all
// counted. Backward, nothing is left out.
func TestNoLinesBeforeIngesters(t *testing.T) {
	ix, err := index.Open(t.TempDir(), index.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	store := storage.NewStore(storage.NewMemory(), ix)
	lbls := labels.FromStrings("app", "a")
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second).UnixNano()
	entry := func(sec, i int) logproto.Entry {
		return logproto.Entry{Timestamp: t0 + int64(sec)*1e9, Line: fmt.Sprintf("line %d at %d", i, sec)}
	}
	put := func(es []logproto.Entry) {
		h, err := chunk.NewHead(chunk.EncZstd, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := range es {
			if err := h.Append(&es[i]); err != nil {
				t.Fatal(err)
			}
		}
		b, err := h.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		minT, maxT := h.Bounds()
		if err := store.PutChunk(context.Background(), &storage.Chunk{Tenant: testTenant, Labels: lbls, Data: b, From: minT, Through: maxT,
			Entries: len(es), UncompressedSize: h.UncompressedSize()}); err != nil {
			t.Fatal(err)
		}
	}
	var old, flushed []logproto.Entry
	for i := range 10 {
		old = append(old, entry(i/4, i)) // four entries a second
		flushed = append(flushed, entry(100+i, i))
	}
	put(old)
	put(flushed)
	f := &fakeIngester{tenant: testTenant}
	for _, e := range flushed { // still held after its flush
		f.entries = append(f.entries, memEntry{lbls, e})
	}
	for i := range 10 {
		f.entries = append(f.entries, memEntry{lbls, entry(200+i, i)})
	}
	q := querier.New(remoteOnly{f}, store)
	for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
		p := logql.SelectLogParams{Matchers: []*labels.Matcher{mustMatcher(t, labels.MatchEqual, "app", "a")},
			Start: t0, End: t0 + 1000e9, Direction: dir}
		p.NoLinesBefore = p.End
		it, err := q.SelectLogs(ctx(), p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := collect(t, it)
		if err != nil {
			t.Fatal(err)
		}
		var empty int
		for _, g := range got {
			if strings.HasSuffix(g, " ") {
				empty++
			}
		}
		wantEmpty := 10
		if dir == logproto.Backward {
			wantEmpty = 0
		}
		if len(got) != 30 || empty != wantEmpty {
			t.Errorf("%v: %d entries, %d without lines; want 30, %d:\n%s", dir, len(got), empty, wantEmpty, strings.Join(got, "\n"))
		}
	}
}
