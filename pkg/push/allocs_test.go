//go:build !race

// The race detector makes sync.Pool drop items at random, so allocation counts of pooled
// paths are only meaningful without it.

package push_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/push"
)

// TestDecodeAllocs checks that decoding a request like the previous one allocates nothing.
func TestDecodeAllocs(t *testing.T) {
	plain := push.Encode(&logproto.PushRequest{Streams: []logproto.Stream{{Labels: `{a="b"}`, Entries: []logproto.Entry{{Timestamp: 1, Line: "x"}, {Timestamp: 2, Line: "y"}}}}})
	rd := bytes.NewReader(plain)
	r, _ := http.NewRequest(http.MethodPost, "/", rd)
	r.Header.Set("Content-Type", push.ContentTypeProto)
	allocs := testing.AllocsPerRun(100, func() {
		rd.Reset(plain)
		d, err := push.Decode(r, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		d.Release()
	})
	if allocs > 0 {
		t.Errorf("Decode of a reused body allocates %.1f times, want 0", allocs)
	}
}
