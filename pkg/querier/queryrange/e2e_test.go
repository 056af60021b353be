package queryrange_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/sluice"
	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
)

// pushLines pushes n lines per stream for apps, evenly over [from, to), in Loki's JSON push
// format, in batches.
func pushLines(tb testing.TB, base string, apps []string, from, to time.Time, n int) {
	tb.Helper()
	every := to.Sub(from) / time.Duration(n)
	const batch = 5000
	for lo := 0; lo < n; lo += batch {
		var b bytes.Buffer
		b.WriteString(`{"streams":[`)
		for ai, app := range apps {
			if ai > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"stream":{"job":"e2e","app":%q},"values":[`, app)
			for i := lo; i < min(lo+batch, n); i++ {
				if i > lo {
					b.WriteByte(',')
				}
				ts := from.Add(time.Duration(i) * every).Add(time.Duration(ai) * time.Millisecond)
				level := [...]string{"info", "warn", "error"}[(i+ai)%3]
				fmt.Fprintf(&b, `["%d","level=%s app=%s n=%d latency=%d"]`, ts.UnixNano(), level, app, i, i%97)
			}
			b.WriteString(`]}`)
		}
		b.WriteString(`]}`)
		resp, err := http.Post(base+"/loki/api/v1/push", "application/json", &b)
		if err != nil {
			tb.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			tb.Fatalf("push: %d %s", resp.StatusCode, body)
		}
	}
}

type rangeResponse struct {
	Status string `json:"status"`
	Data   struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
		Stats      struct {
			Summary struct {
				Splits               int64 `json:"splits"`
				TotalEntriesReturned int64 `json:"totalEntriesReturned"`
			} `json:"summary"`
		} `json:"stats"`
	} `json:"data"`
}

func queryRange(tb testing.TB, base string, params url.Values) rangeResponse {
	tb.Helper()
	resp, err := http.Get(base + "/loki/api/v1/query_range?" + params.Encode())
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("query_range %v: %d %s", params, resp.StatusCode, body)
	}
	var r rangeResponse
	if err := json.Unmarshal(body, &r); err != nil {
		tb.Fatalf("decode %s: %v", body, err)
	}
	return r
}

func unixNano(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) }

// TestSplitMatchesUnsplitEndToEnd pushes the same 20 hours of data into a server that splits
// queries by hour (the default) and one that does not, and wants the same answers to 24h
// metric and log queries.
func TestSplitMatchesUnsplitEndToEnd(t *testing.T) {
	split := sluicetest.Start(t)
	whole := sluicetest.Start(t, func(c *sluice.Config) { c.Limits.SplitQueriesByInterval = 0 })
	// A split query is aligned to its step (as Loki aligns it); an unsplit one is not. Ends on
	// a whole hour are aligned to every step below, so both servers evaluate the same times.
	end := time.Now().Truncate(time.Hour)
	start := end.Add(-24 * time.Hour)
	apps := []string{"api", "web", "worker"}
	for _, s := range []*sluicetest.Server{split, whole} {
		pushLines(t, s.URL, apps, end.Add(-20*time.Hour), end.Add(-time.Minute), 2000)
	}

	for _, tc := range []url.Values{
		{"query": {`sum by (app) (count_over_time({job="e2e"}[10m]))`}, "step": {"300"}},
		{"query": {`topk(2, sum by (app) (rate({job="e2e"} |= "error" [30m])))`}, "step": {"900"}},
		{"query": {`avg_over_time({job="e2e"} | logfmt | unwrap latency [1h]) by (app)`}, "step": {"3600"}},
		{"query": {`{job="e2e"} |= "level=warn"`}, "limit": {"700"}, "direction": {"backward"}},
		{"query": {`{job="e2e", app="web"}`}, "limit": {"1500"}, "direction": {"forward"}},
	} {
		tc.Set("start", unixNano(start))
		tc.Set("end", unixNano(end))
		a, b := queryRange(t, split.URL, tc), queryRange(t, whole.URL, tc)
		if !bytes.Equal(a.Data.Result, b.Data.Result) {
			t.Errorf("%s: split and unsplit answers differ:\nsplit %.300s\nwhole %.300s", tc.Get("query"), a.Data.Result, b.Data.Result)
		}
		if a.Data.Stats.Summary.TotalEntriesReturned == 0 || a.Data.Stats.Summary.TotalEntriesReturned != b.Data.Stats.Summary.TotalEntriesReturned {
			t.Errorf("%s: entries returned %d split, %d whole", tc.Get("query"), a.Data.Stats.Summary.TotalEntriesReturned, b.Data.Stats.Summary.TotalEntriesReturned)
		}
		if !strings.HasPrefix(tc.Get("query"), "{") && a.Data.Stats.Summary.Splits < 20 {
			t.Errorf("%s: %d splits, want one per hour", tc.Get("query"), a.Data.Stats.Summary.Splits)
		}
	}
}
