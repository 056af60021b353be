package chunk

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
)

var update = flag.Bool("update", false, "rewrite the chunks in testdata/")

// goldenChunks are the chunks kept in testdata/: one per encoding, with out-of-order blocks
// and structured metadata. They pin the format (a layout change must bump Version) and seed
// FuzzDecode.
func goldenChunks(tb testing.TB) map[string][]logproto.Entry {
	tb.Helper()
	out := map[string][]logproto.Entry{}
	for _, enc := range Encodings() {
		es := testLines(tb, 16, 100+uint64(enc))
		es[5], es[12] = es[12], es[5]
		es[7].StructuredMetadata = labels.FromStrings("user", "bob")
		out[enc.String()] = es
	}
	return out
}

func TestGoldenChunks(t *testing.T) {
	for name, es := range goldenChunks(t) {
		enc, err := ParseEncoding(name)
		if err != nil {
			t.Fatal(err)
		}
		h, accepted := buildHead(t, enc, 1<<10, es)
		path := filepath.Join("testdata", name+".chunk")
		b, err := h.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if *update {
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		golden, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("read golden chunk (rewrite with -update): %v", err)
		}
		if !bytes.Equal(b, golden) {
			t.Errorf("%s: the head encodes these entries differently now; a layout change must bump Version (and keep reading the old one: move these to testdata/v<old version>), then rewrite with -update (a new level of a codec changes the bytes but not the layout: rewrite only)", path)
		}
		// The current version, and every older one kept in testdata/v<N>, read back the same
		// (lz4 came with version 2).
		paths := []string{path, filepath.Join("testdata", "v5", name+".chunk"), filepath.Join("testdata", "v4", name+".chunk"), filepath.Join("testdata", "v3", name+".chunk"),
			filepath.Join("testdata", "v2", name+".chunk")}
		if enc != EncLZ4 {
			paths = append(paths, filepath.Join("testdata", "v1", name+".chunk"))
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode(%s): %v", p, err)
			}
			for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
				diffEntries(t, p, collect(t, c.Iterator(testStream, minInt64, maxInt64, dir, nil)),
					expect(accepted, minInt64, maxInt64, dir, nil))
			}
		}
	}
}

// FuzzDecode checks that no input makes Decode or an iterator panic, that every error wraps
// ErrCorrupt, and that what decodes survives a re-encode unchanged.
func FuzzDecode(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*.chunk"))
	old, _ := filepath.Glob(filepath.Join("testdata", "v*", "*.chunk"))
	paths = append(paths, old...)
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seed chunks in testdata (%v)", err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decode error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		// Without lines, only the blocks' other columns are decoded: damage to the lines goes
		// unseen there, anything else must be an error, never a panic.
		var headOnly []logproto.Entry
		for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
			it := c.Iterator(testStream, minInt64, maxInt64, dir, nil).WithoutLines()
			var got []logproto.Entry
			for it.Next() {
				e := it.At()
				got = append(got, logproto.Entry{Timestamp: e.Timestamp, Line: e.Line, StructuredMetadata: e.StructuredMetadata.Copy()})
			}
			if err := it.Err(); err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("iterate %v without lines: %v does not wrap ErrCorrupt", dir, err)
			}
			if dir == logproto.Forward && it.Err() == nil {
				headOnly = got
			}
		}
		var forward []logproto.Entry
		for _, dir := range []logproto.Direction{logproto.Forward, logproto.Backward} {
			it := c.Iterator(testStream, minInt64, maxInt64, dir, nil)
			var got []logproto.Entry
			for it.Next() {
				e := it.At()
				got = append(got, logproto.Entry{Timestamp: e.Timestamp, Line: string([]byte(e.Line)), StructuredMetadata: e.StructuredMetadata.Copy()})
			}
			if err := it.Err(); err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("iterate %v: %v does not wrap ErrCorrupt", dir, err)
				}
				return
			}
			if dir == logproto.Forward {
				forward = got
			}
		}
		// The chunk reads whole: without lines, the same entries with empty lines.
		want := make([]logproto.Entry, len(forward))
		for i, e := range forward {
			want[i] = logproto.Entry{Timestamp: e.Timestamp, StructuredMetadata: e.StructuredMetadata}
		}
		diffEntries(t, "without lines", headOnly, want)
		h, accepted := buildHead(t, c.Encoding(), 4<<10, forward)
		c2 := encodeDecode(t, h)
		diffEntries(t, "re-encoded", collect(t, c2.Iterator(testStream, minInt64, maxInt64, logproto.Forward, nil)), accepted)
	})
}
