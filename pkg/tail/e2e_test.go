package tail_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/push"
	"github.com/sluicelog/sluice/pkg/sluice"
	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
)

// These tests run a real server and a real websocket client, as logcli and Grafana do.

type tailMessage struct {
	Streams []struct {
		Stream map[string]string `json:"stream"`
		Values [][]any           `json:"values"`
	} `json:"streams"`
	Dropped []struct {
		Timestamp string            `json:"timestamp"`
		Labels    map[string]string `json:"labels"`
	} `json:"dropped_entries"`
}

func (m *tailMessage) lines() []string {
	var out []string
	for _, s := range m.Streams {
		for _, v := range s.Values {
			out = append(out, v[1].(string))
		}
	}
	return out
}

// tailClient reads a tail's messages on its own goroutine once started.
type tailClient struct {
	conn *websocket.Conn
	msgs chan []byte
	err  chan error
}

func dialTail(tb testing.TB, base, path string, params url.Values, header http.Header, d *websocket.Dialer) (*tailClient, *http.Response, error) {
	tb.Helper()
	if d == nil {
		d = &websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	}
	u := "ws" + strings.TrimPrefix(base, "http") + path + "?" + params.Encode()
	conn, resp, err := d.Dial(u, header)
	if err != nil {
		return nil, resp, err
	}
	c := &tailClient{conn: conn, msgs: make(chan []byte, 1024), err: make(chan error, 1)}
	tb.Cleanup(func() { conn.Close() })
	return c, resp, nil
}

func mustTail(tb testing.TB, base string, params url.Values, header http.Header) *tailClient {
	tb.Helper()
	c, resp, err := dialTail(tb, base, "/loki/api/v1/tail", params, header, nil)
	if err != nil {
		tb.Fatalf("dial tail: %v (%s)", err, respBody(resp))
	}
	c.start()
	return c
}

func (c *tailClient) start() {
	go func() {
		for {
			_, b, err := c.conn.ReadMessage()
			if err != nil {
				c.err <- err
				close(c.msgs)
				return
			}
			c.msgs <- b
		}
	}()
}

func (c *tailClient) next(tb testing.TB, timeout time.Duration) (tailMessage, []byte) {
	tb.Helper()
	select {
	case b, ok := <-c.msgs:
		if !ok {
			tb.Fatalf("tail closed: %v", <-c.err)
		}
		var m tailMessage
		if err := json.Unmarshal(b, &m); err != nil {
			tb.Fatalf("decode %s: %v", b, err)
		}
		return m, b
	case <-time.After(timeout):
		tb.Fatalf("no tail message within %v", timeout)
	}
	panic("not reached")
}

// expectLines reads messages until it has len(want) lines and checks them.
func (c *tailClient) expectLines(tb testing.TB, want ...string) []tailMessage {
	tb.Helper()
	var got []string
	var msgs []tailMessage
	for len(got) < len(want) {
		m, _ := c.next(tb, 5*time.Second)
		msgs = append(msgs, m)
		got = append(got, m.lines()...)
	}
	if !slices.Equal(got, want) {
		tb.Fatalf("tail lines = %q, want %q", got, want)
	}
	return msgs
}

func (c *tailClient) expectNothing(tb testing.TB, d time.Duration) {
	tb.Helper()
	select {
	case b, ok := <-c.msgs:
		if ok {
			tb.Fatalf("unexpected tail message %s", b)
		}
	case <-time.After(d):
	}
}

func tailParams(query string, extra ...string) url.Values {
	v := url.Values{"query": {query}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return v
}

func pushStreams(tb testing.TB, base, tenant string, streams ...logproto.Stream) time.Duration {
	tb.Helper()
	body := push.Encode(&logproto.PushRequest{Streams: streams})
	req, _ := http.NewRequest(http.MethodPost, base+"/loki/api/v1/push", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/x-protobuf")
	if tenant != "" {
		req.Header.Set("X-Scope-OrgID", tenant)
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	took := time.Since(start)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		tb.Fatalf("push: %s: %s", resp.Status, respBody(resp))
	}
	return took
}

func entries(labels string, ts time.Time, lines ...string) logproto.Stream {
	s := logproto.Stream{Labels: labels}
	for i, l := range lines {
		s.Entries = append(s.Entries, logproto.Entry{Timestamp: ts.UnixNano() + int64(i), Line: l})
	}
	return s
}

func respBody(resp *http.Response) string {
	if resp == nil {
		return "no response"
	}
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
}

// waitTails waits until the server reports n open tails.
func waitTails(tb testing.TB, base string, n int) {
	tb.Helper()
	want := fmt.Sprintf("loki_querier_tail_active %d\n", n)
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			tb.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), want) {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("metrics never showed %q", strings.TrimSpace(want))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTailLiveWithFilters(t *testing.T) {
	srv := sluicetest.Start(t)
	contains := mustTail(t, srv.URL, tailParams(`{app="api"} |= "x"`), nil)
	jsonErr := mustTail(t, srv.URL, tailParams(`{app="api"} | json | level="error"`), nil)
	waitTails(t, srv.URL, 2)

	now := time.Now()
	pushStreams(t, srv.URL, "",
		entries(`{app="api", pod="p1"}`, now, "x first", `{"level":"error","msg":"boom"}`, "nothing"),
		entries(`{app="web"}`, now, "x other app"))
	pushStreams(t, srv.URL, "", entries(`{app="api", pod="p1"}`, now.Add(time.Millisecond), `{"level":"info","msg":"x fine"}`))

	contains.expectLines(t, "x first", `{"level":"info","msg":"x fine"}`)
	msgs := jsonErr.expectLines(t, `{"level":"error","msg":"boom"}`)
	// With the stream's labels, the server's service_name and detected_level (as in Loki 3)
	// and the parsed labels, all merged since the client did not ask for categorized labels.
	want := map[string]string{"app": "api", "pod": "p1", "service_name": "api", "detected_level": "error", "level": "error", "msg": "boom"}
	if got := msgs[0].Streams[0].Stream; !mapsEqual(got, want) {
		t.Errorf("parsed stream labels = %v, want %v", got, want)
	}
	contains.expectNothing(t, 100*time.Millisecond)
	jsonErr.expectNothing(t, 0)
}

func TestTailSendsHistoryFirst(t *testing.T) {
	srv := sluicetest.Start(t)
	now := time.Now()
	pushStreams(t, srv.URL, "", entries(`{app="api", v="old"}`, now.Add(-2*time.Hour), "too old"))
	pushStreams(t, srv.URL, "", entries(`{app="api"}`, now.Add(-5*time.Second), "h1", "h2", "h3", "h4", "h5"))

	c := mustTail(t, srv.URL, tailParams(`{app="api"}`, "limit", "3"), nil)
	m, raw := c.next(t, 5*time.Second)
	if got := m.lines(); !slices.Equal(got, []string{"h3", "h4", "h5"}) {
		t.Fatalf("history = %q, want the newest 3 oldest first (%s)", got, raw)
	}
	pushStreams(t, srv.URL, "", entries(`{app="api"}`, time.Now(), "live"))
	c.expectLines(t, "live")

	// start moves the history window.
	c2 := mustTail(t, srv.URL, tailParams(`{app="api"}`, "start", strconv.FormatInt(now.Add(-3*time.Hour).UnixNano(), 10), "limit", "2"), nil)
	m, _ = c2.next(t, 5*time.Second)
	if got := m.lines(); !slices.Equal(got, []string{"h5", "live"}) {
		t.Fatalf("history from start-3h with limit 2 = %q", got)
	}
	c3 := mustTail(t, srv.URL, tailParams(`{app="api"}`, "start", strconv.FormatInt(now.Add(-3*time.Hour).UnixNano(), 10)), nil)
	m, _ = c3.next(t, 5*time.Second)
	if got := m.lines(); !slices.Equal(got, []string{"too old", "h1", "h2", "h3", "h4", "h5", "live"}) {
		t.Fatalf("history from start-3h = %q", got)
	}
}

func TestTailTenantsAreIsolated(t *testing.T) {
	srv := sluicetest.Start(t, sluicetest.WithAuth())
	a := mustTail(t, srv.URL, tailParams(`{app="x"}`), http.Header{"X-Scope-OrgID": {"tenant-a"}})
	b := mustTail(t, srv.URL, tailParams(`{app="x"}`), http.Header{"X-Scope-OrgID": {"tenant-b"}})
	waitTails(t, srv.URL, 2)
	pushStreams(t, srv.URL, "tenant-a", entries(`{app="x"}`, time.Now(), "secret of a"))
	a.expectLines(t, "secret of a")
	b.expectNothing(t, 200*time.Millisecond)
	pushStreams(t, srv.URL, "tenant-b", entries(`{app="x"}`, time.Now(), "for b"))
	b.expectLines(t, "for b")
	a.expectNothing(t, 100*time.Millisecond)

	_, resp, err := dialTail(t, srv.URL, "/loki/api/v1/tail", tailParams(`{app="x"}`), nil, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("tail without org id: err=%v, %s; want 401", err, respBody(resp))
	}
}

func TestTailRejectsBadRequests(t *testing.T) {
	srv := sluicetest.Start(t)
	for _, tc := range []struct {
		name   string
		params url.Values
		want   string
	}{
		{"no query", url.Values{}, "query"},
		{"parse error", tailParams(`{app="x"`), "parse error"},
		{"metric query", tailParams(`count_over_time({app="x"}[1m])`), "log queries"},
		{"delay too long", tailParams(`{app="x"}`, "delay_for", "6"), "delay_for can't be greater than 5"},
		{"delay not a number", tailParams(`{app="x"}`, "delay_for", "1s"), "delay_for"},
		{"zero limit", tailParams(`{app="x"}`, "limit", "0"), "limit must be a positive value"},
		{"bad start", tailParams(`{app="x"}`, "start", "yesterday"), "start"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, resp, err := dialTail(t, srv.URL, "/loki/api/v1/tail", tc.params, nil, nil)
			if err == nil {
				t.Fatal("handshake succeeded")
			}
			body := respBody(resp)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, tc.want) {
				t.Fatalf("got %s, want 400 mentioning %q", body, tc.want)
			}
		})
	}
	// A limit over max_entries_limit_per_query fails the history: the server closes with 1011.
	c, _, err := dialTail(t, srv.URL, "/loki/api/v1/tail", tailParams(`{app="x"}`, "limit", "100000"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.conn.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseInternalServerErr || !strings.Contains(ce.Text, "max entries limit") {
		t.Fatalf("read = %v, want close 1011 with the limit error", err)
	}
}

func TestTailLegacyEndpoint(t *testing.T) {
	// Push-time enrichment off: this test is about the legacy message shape, not the labels.
	srv := sluicetest.Start(t, sluicetest.WithConfig(func(c *sluice.Config) {
		c.Limits.DiscoverServiceName, c.Limits.DiscoverLogLevels = nil, false
	}))
	c, resp, err := dialTail(t, srv.URL, "/api/prom/tail", tailParams(`{app="x"}`), nil, nil)
	if err != nil {
		t.Fatalf("dial: %v (%s)", err, respBody(resp))
	}
	c.start()
	waitTails(t, srv.URL, 1)
	ts := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	if ts.After(time.Now()) {
		t.Fatal("test timestamp in the future")
	}
	// Old timestamps are accepted by a fresh stream; the tail passes them on at once.
	pushStreams(t, srv.URL, "", entries(`{app="x"}`, time.Now(), `say "hi"`))
	select {
	case b := <-c.msgs:
		var m struct {
			Streams []struct {
				Labels  string `json:"labels"`
				Entries []struct {
					TS   time.Time `json:"ts"`
					Line string    `json:"line"`
				} `json:"entries"`
			} `json:"streams"`
			Dropped *[]any `json:"dropped_entries"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		if len(m.Streams) != 1 || m.Streams[0].Labels != `{app="x"}` || m.Streams[0].Entries[0].Line != `say "hi"` ||
			m.Dropped != nil || !strings.Contains(string(b), `"dropped_entries":null`) {
			t.Fatalf("legacy message = %s", b)
		}
		if d := time.Since(m.Streams[0].Entries[0].TS); d < 0 || d > time.Minute {
			t.Fatalf("legacy ts = %v", m.Streams[0].Entries[0].TS)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no message")
	}
}

func TestTailLegacyRegexp(t *testing.T) {
	srv := sluicetest.Start(t)
	c, resp, err := dialTail(t, srv.URL, "/api/prom/tail", tailParams(`{app="x"}`, "regexp", "^keep"), nil, nil)
	if err != nil {
		t.Fatalf("dial: %v (%s)", err, respBody(resp))
	}
	c.start()
	waitTails(t, srv.URL, 1)
	pushStreams(t, srv.URL, "", entries(`{app="x"}`, time.Now(), "drop me", "keep me"))
	select {
	case b := <-c.msgs:
		if !strings.Contains(string(b), `"line":"keep me"`) || strings.Contains(string(b), "drop me") {
			t.Fatalf("legacy message with regexp = %s", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no message")
	}
}

func TestTailCategorizedLabels(t *testing.T) {
	srv := sluicetest.Start(t)
	c := mustTail(t, srv.URL, tailParams(`{app="x"} | logfmt`), http.Header{"X-Loki-Response-Encoding-Flags": {"categorize-labels"}})
	waitTails(t, srv.URL, 1)
	pushStreams(t, srv.URL, "", entries(`{app="x"}`, time.Now(), "level=warn"))
	m, raw := c.next(t, 5*time.Second)
	// The stream has the service_name the server adds; the detected_level it adds (as Loki 3
	// does) is structured metadata, apart from the parsed labels.
	if len(m.Streams) != 1 || !mapsEqual(m.Streams[0].Stream, map[string]string{"app": "x", "service_name": "x"}) || len(m.Streams[0].Values[0]) != 3 {
		t.Fatalf("categorized message = %s", raw)
	}
	if !strings.Contains(string(raw), `{"structuredMetadata":{"detected_level":"warn"},"parsed":{"level":"warn"}}`) {
		t.Fatalf("categorized message lacks the structured metadata or the parsed labels: %s", raw)
	}
}

func TestSlowClientGetsDroppedEntriesWithoutSlowingPushes(t *testing.T) {
	srv := sluicetest.Start(t)
	// The slow client shrinks its receive buffer and does not read at all for a while.
	d := &websocket.Dialer{HandshakeTimeout: 5 * time.Second, NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(64 << 10)
		}
		return c, err
	}}
	slow, resp, err := dialTail(t, srv.URL, "/loki/api/v1/tail", tailParams(`{app="x"}`), nil, d)
	if err != nil {
		t.Fatalf("dial: %v (%s)", err, respBody(resp))
	}
	fast := mustTail(t, srv.URL, tailParams(`{app="x", n="0"}`), nil)
	waitTails(t, srv.URL, 2)

	line := strings.Repeat("x", 1000)
	const pushes, perPush = 30, 100
	var latencies []time.Duration
	for i := range pushes {
		ls := make([]string, perPush)
		for j := range ls {
			ls[j] = fmt.Sprintf("%04d-%03d %s", i, j, line)
		}
		latencies = append(latencies, pushStreams(t, srv.URL, "", entries(fmt.Sprintf(`{app="x", n="%d"}`, i%3), time.Now(), ls...)))
	}
	slices.Sort(latencies)
	t.Logf("push of %d lines of 1 KB with a stalled tail: median %v, max %v", perPush, latencies[len(latencies)/2], latencies[len(latencies)-1])
	if worst := latencies[len(latencies)-1]; worst > 2*time.Second {
		t.Errorf("slowest push took %v with a stalled tail", worst)
	}
	// The reading tail is not held back by the stalled one.
	var fastLines int
	for fastLines < pushes/3*perPush {
		m, _ := fast.next(t, 5*time.Second)
		fastLines += len(m.lines())
		if len(m.Dropped) > 0 {
			t.Fatalf("the reading tail dropped %d entries", len(m.Dropped))
		}
	}

	// Now the slow client reads: it gets what fit in the buffers, then the drops.
	slow.start()
	var got, dropped int
	for got+dropped < pushes*perPush && dropped == 0 {
		m, _ := slow.next(t, 5*time.Second)
		got += len(m.lines())
		dropped += len(m.Dropped)
		if len(m.Dropped) > 0 {
			d := m.Dropped[0]
			if d.Labels["app"] != "x" || d.Timestamp == "" {
				t.Fatalf("dropped entry %+v lacks labels or timestamp", d)
			}
		}
	}
	t.Logf("slow tail: %d entries delivered, %d reported dropped of %d", got, dropped, pushes*perPush)
	if dropped == 0 || got == 0 {
		t.Fatalf("slow tail got %d entries and %d drops; want both", got, dropped)
	}
	// Caught up, it takes new entries again.
	pushStreams(t, srv.URL, "", entries(`{app="x", n="9"}`, time.Now(), "after"))
	for {
		m, _ := slow.next(t, 5*time.Second)
		if ls := m.lines(); len(ls) > 0 && ls[len(ls)-1] == "after" {
			break
		}
	}
}

func TestTailDisconnectCleansUp(t *testing.T) {
	srv := sluicetest.Start(t)
	pushStreams(t, srv.URL, "", entries(`{app="x"}`, time.Now(), "warm up"))
	waitTails(t, srv.URL, 0)
	before := runtime.NumGoroutine()

	var clients []*tailClient
	for range 5 {
		clients = append(clients, mustTail(t, srv.URL, tailParams(`{app="x"} |= "live"`), nil))
	}
	waitTails(t, srv.URL, 5)
	pushStreams(t, srv.URL, "", entries(`{app="x"}`, time.Now(), "live"))
	for _, c := range clients {
		c.expectLines(t, "live")
	}
	// Some say goodbye, some just drop the connection.
	for i, c := range clients {
		if i%2 == 0 {
			_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		}
		c.conn.Close()
	}
	waitTails(t, srv.URL, 0)
	pushStreams(t, srv.URL, "", entries(`{app="x"}`, time.Now(), "live after"))
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines = %d, want at most %d\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServerShutdownClosesTails(t *testing.T) {
	srv := sluicetest.Start(t)
	c, _, err := dialTail(t, srv.URL, "/loki/api/v1/tail", tailParams(`{app="x"}`), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.start()
	waitTails(t, srv.URL, 1)
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-c.err:
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
			t.Fatalf("read = %v, want close 1001", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("tail still open after the server stopped")
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestTailLimitsConfig: Loki's limits_config.max_concurrent_tail_requests bounds each tenant's
// tails, and a tenant's runtime override replaces it; the tail past the limit is refused with
// 400 and Loki's message before the websocket opens.
func TestTailLimitsConfig(t *testing.T) {
	overrides := t.TempDir() + "/overrides.yaml"
	if err := os.WriteFile(overrides, []byte("overrides:\n  tenant-b:\n    max_concurrent_tail_requests: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := sluicetest.Start(t, sluicetest.WithAuth(), sluicetest.WithConfig(func(c *sluice.Config) {
		c.Limits.MaxConcurrentTailRequests = 1
		c.RuntimeConfig.File = overrides
	}))
	for tenant, limit := range map[string]int{"tenant-a": 1, "tenant-b": 2} {
		h := http.Header{"X-Scope-OrgID": {tenant}}
		for range limit {
			mustTail(t, srv.URL, tailParams(`{app="x"}`), h)
		}
		_, resp, err := dialTail(t, srv.URL, "/loki/api/v1/tail", tailParams(`{app="x"}`), h, nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("%s: tail %d: err=%v, %s; want 400", tenant, limit+1, err, respBody(resp))
		}
		if body := respBody(resp); !strings.Contains(body, fmt.Sprintf("max concurrent tail requests limit exceeded, count > limit (%d > %d)", limit+1, limit)) {
			t.Fatalf("%s: tail %d answered %s", tenant, limit+1, body)
		}
	}
}
