package sluice_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/sluice"
	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
)

// With increment_duplicate_timestamp, lines a client stamped with one instant come back in the
// order it sent them, a nanosecond apart, and a repeat of a line as stored (here the client's
// retry of the last one with its moved timestamp) is still stored once.
func TestIncrementDuplicateTimestampEndToEnd(t *testing.T) {
	srv := sluicetest.Start(t, sluicetest.WithConfig(func(c *sluice.Config) {
		c.Limits.IncrementDuplicateTimestamp = true
	}))
	at := time.Now().Add(-time.Minute).Truncate(time.Second).UnixNano()
	body := fmt.Sprintf(`{"streams":[{"stream":{"app":"dups"},"values":[
		["%[1]d","zebra"],["%[1]d","apple"],["%[1]d","mango"],["%[2]d","mango"]]}]}`, at, at+2)
	if resp := doPush(t, srv.URL, "application/json", "", []byte(body)); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("push: %d", resp.StatusCode)
	}
	qr := queryRange(t, srv.URL, url.Values{"query": {`{app="dups"}`}, "direction": {"forward"},
		"start": {strconv.FormatInt(at-1, 10)}, "end": {strconv.FormatInt(at+int64(time.Second), 10)}})
	var got []string
	for _, s := range qr.Data.Result {
		for _, v := range s.Values {
			ts, _ := strconv.ParseInt(v[0], 10, 64)
			got = append(got, fmt.Sprintf("+%d %s", ts-at, v[1]))
		}
	}
	want := []string{"+0 zebra", "+1 apple", "+2 mango"}
	if !slices.Equal(got, want) {
		t.Errorf("read back %q, want %q", got, want)
	}
}
