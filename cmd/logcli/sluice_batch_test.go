package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
)

// TestSluiceBatchEqualTimestamps downloads 2,500 lines in which runs of 300 share one timestamp
// with --batch=100, so that every page boundary falls inside a run longer than a page: each line
// must come out exactly once, in time order, whatever the direction and limit.
func TestSluiceBatchEqualTimestamps(t *testing.T) {
	srv := sluicetest.Start(t)
	base := time.Now().Add(-20 * time.Minute).Truncate(time.Second)
	const n, run = 2500, 300
	entries := make([]pushed, n)
	for i := range entries {
		entries[i] = pushed{
			// Two streams share each run, so a run is split between them too.
			labels: map[string]string{"app": "batch", "half": fmt.Sprint(i % 2)},
			ts:     base.Add(time.Duration(i/run) * time.Millisecond),
			line:   fmt.Sprintf("line %04d", i),
		}
	}
	pushAll(t, srv.URL, "", entries)
	from := "--from=" + base.Add(-time.Second).Format(time.RFC3339Nano)
	to := "--to=" + base.Add(time.Second).Format(time.RFC3339Nano)

	for _, tt := range []struct {
		name    string
		forward bool
		limit   int
		batch   int
	}{
		{"backward all", false, 0, 100},
		{"forward all", true, 0, 100},
		{"backward limit inside a run", false, 1234, 100},
		{"forward limit inside a run", true, 1234, 100},
		{"forward batch not dividing the run", true, 0, 70},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"query", "-o", "jsonl", "--addr=" + srv.URL, from, to,
				fmt.Sprintf("--limit=%d", tt.limit), fmt.Sprintf("--batch=%d", tt.batch), `{app="batch"}`}
			if tt.forward {
				args = append(args, "--forward")
			}
			code, out, errOut := runCLI(t, "", args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			want := n
			if tt.limit > 0 {
				want = tt.limit
			}
			// The URL of each request goes to stderr: paging really happened.
			if reqs := strings.Count(errOut, "/loki/api/v1/query_range?"); reqs < want/tt.batch {
				t.Errorf("%d requests for %d lines in batches of %d", reqs, want, tt.batch)
			}
			got := lines(out)
			if len(got) != want {
				t.Errorf("got %d lines, want %d", len(got), want)
			}
			seen := map[string]bool{}
			var last time.Time
			for i, l := range got {
				var e struct {
					Line      string    `json:"line"`
					Timestamp time.Time `json:"timestamp"`
				}
				if err := json.Unmarshal([]byte(l), &e); err != nil {
					t.Fatalf("line %d %q: %v", i, l, err)
				}
				if seen[e.Line] {
					t.Fatalf("line %d: %q printed twice", i, e.Line)
				}
				seen[e.Line] = true
				var idx int
				fmt.Sscanf(e.Line, "line %d", &idx)
				if !e.Timestamp.Equal(entries[idx].ts) {
					t.Fatalf("%q has time %s, pushed at %s", e.Line, e.Timestamp, entries[idx].ts)
				}
				if i > 0 && (tt.forward && e.Timestamp.Before(last) || !tt.forward && e.Timestamp.After(last)) {
					t.Fatalf("line %d %q out of order: %s after %s", i, e.Line, e.Timestamp, last)
				}
				last = e.Timestamp
			}
			// No gap: with a limit, the lines printed are all those of the runs before the
			// last one printed, and part of that run.
			for i, e := range entries {
				inRange := tt.limit == 0 || (tt.forward && !e.ts.After(last)) || (!tt.forward && !e.ts.Before(last))
				whole := tt.limit == 0 || !e.ts.Equal(last)
				if inRange && whole && !seen[e.line] {
					t.Fatalf("line %d (%q at %s) missing", i, e.line, e.ts)
				}
			}
		})
	}
}
