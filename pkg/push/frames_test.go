package push_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/push"
)

// TestFrames: frames round-trip with structured metadata, the end carries the writer's error,
// and a sequence cut anywhere before its end is an error, never a clean end.
func TestFrames(t *testing.T) {
	reqs := []*logproto.PushRequest{
		{Streams: []logproto.Stream{{Labels: `{app="a"}`, Entries: []logproto.Entry{
			{Timestamp: 1, Line: "one", StructuredMetadata: labels.FromStrings("trace_id", "t1")},
			{Timestamp: 2, Line: "two"}}}}},
		{Streams: []logproto.Stream{{Labels: `{app="b"}`, Entries: []logproto.Entry{{Timestamp: 3, Line: "three"}}}}},
	}
	for _, failure := range []error{nil, errors.New("iterator failed")} {
		var buf bytes.Buffer
		w := push.NewFrameWriter(&buf)
		for _, r := range reqs {
			if err := w.Write(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Write(&logproto.PushRequest{}); err != nil { // writes nothing
			t.Fatal(err)
		}
		if err := w.End(failure); err != nil {
			t.Fatal(err)
		}
		whole := buf.Bytes()
		r := push.NewFrameReader(bytes.NewReader(whole))
		for i, want := range reqs {
			got, err := r.Next()
			if err != nil {
				t.Fatalf("frame %d: %v", i, err)
			}
			if len(got.Streams) != 1 || got.Streams[0].Labels != want.Streams[0].Labels || len(got.Streams[0].Entries) != len(want.Streams[0].Entries) {
				t.Fatalf("frame %d = %+v, want %+v", i, got, want)
			}
			for j, e := range got.Streams[0].Entries {
				w := want.Streams[0].Entries[j]
				if e.Timestamp != w.Timestamp || e.Line != w.Line || !labels.Equal(e.StructuredMetadata, w.StructuredMetadata) {
					t.Fatalf("frame %d entry %d = %+v, want %+v", i, j, e, w)
				}
			}
		}
		_, err := r.Next()
		if failure == nil && err != io.EOF {
			t.Fatalf("end of a complete sequence: %v, want io.EOF", err)
		}
		if failure != nil && (err == nil || err.Error() != failure.Error()) {
			t.Fatalf("end of a failed sequence: %v, want %v", err, failure)
		}
		for cut := 0; cut < len(whole); cut++ {
			r := push.NewFrameReader(bytes.NewReader(whole[:cut]))
			var err error
			for err == nil {
				_, err = r.Next()
			}
			if err == io.EOF {
				t.Fatalf("sequence cut at byte %d of %d reads as complete", cut, len(whole))
			}
		}
	}
}
