package main_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/push"
)

var crashRounds = 3

// TestCrashLosesNothingAcknowledged pushes continuously from several goroutines, flushes and
// SIGKILLs the server at random moments (several times), restarts it on the same data
// directory, and checks that every line that got a 204 is returned exactly once.
func TestCrashLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	port := freePort(t)
	from := time.Now().Add(-20 * time.Minute).UnixNano()
	rng := rand.New(rand.NewPCG(1, 2))

	var (
		mu    sync.Mutex
		acked []string // "stream ts line" of every acknowledged entry
		seq   int64
	)
	next := func() int64 {
		mu.Lock()
		defer mu.Unlock()
		seq++
		return seq
	}
	const pushers = 4
	for round := 0; round < crashRounds; round++ {
		s := start(t, bin, dir, port)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for p := 0; p < pushers; p++ {
			wg.Add(1)
			go func(p int) {
				defer wg.Done()
				client := &http.Client{Timeout: 5 * time.Second}
				for {
					select {
					case <-stop:
						return
					default:
					}
					st := logproto.Stream{Labels: fmt.Sprintf(`{job="crash", stream="%d"}`, p)}
					var keys []string
					for i := 0; i < 50; i++ {
						n := next()
						line := fmt.Sprintf("round=%d seq=%d", round, n)
						ts := from + n*int64(time.Microsecond)
						st.Entries = append(st.Entries, logproto.Entry{Timestamp: ts, Line: line})
						keys = append(keys, fmt.Sprintf("%d %d %s", p, ts, line))
					}
					body := push.Encode(&logproto.PushRequest{Streams: []logproto.Stream{st}})
					resp, err := client.Post(s.url+"/loki/api/v1/push", push.ContentTypeProto, bytes.NewReader(body))
					if err != nil {
						return // the server is gone
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusNoContent {
						mu.Lock()
						acked = append(acked, keys...)
						mu.Unlock()
					}
				}
			}(p)
		}
		// Most rounds also flush at some point: a kill right after a flush, before the next
		// checkpoint, leaves entries both in the store and in the WAL.
		flushAt := time.Duration(rng.IntN(500)) * time.Millisecond
		killAt := time.Duration(200+rng.IntN(600)) * time.Millisecond
		if round%4 != 3 && flushAt < killAt {
			time.Sleep(flushAt)
			if resp, err := http.Post(s.url+"/flush", "", nil); err == nil {
				resp.Body.Close()
			}
			killAt -= flushAt
		}
		time.Sleep(killAt)
		s.signal(t, syscall.SIGKILL)
		close(stop)
		wg.Wait()
	}

	s := start(t, bin, dir, port)
	defer s.signal(t, syscall.SIGTERM)
	got := map[string]int{}
	for p := 0; p < pushers; p++ {
		for _, l := range queryLines(t, s.url, fmt.Sprintf(`{job="crash", stream="%d"}`, p), from) {
			got[l]++
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(acked) == 0 {
		t.Fatal("no push was acknowledged")
	}
	var missing []string
	for _, k := range acked {
		if got[k] == 0 {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("%d of %d acknowledged lines missing after crashes, e.g. %v", len(missing), len(acked), missing[:min(3, len(missing))])
	}
	for k, n := range got {
		if n > 1 {
			t.Fatalf("line %q returned %d times", k, n)
		}
	}
	t.Logf("%d acknowledged lines survived 3 SIGKILLs", len(acked))
}
