package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
)

// pushed is one line to push at an exact time.
type pushed struct {
	labels map[string]string
	ts     time.Time
	line   string
}

// pushAll sends entries to a real Sluice server as one Loki JSON push, grouped by stream, as
// tenant org (none when empty).
func pushAll(t testing.TB, url, org string, entries []pushed) {
	t.Helper()
	type stream struct {
		Stream map[string]string `json:"stream"`
		Values [][]string        `json:"values"`
	}
	var streams []*stream
	byKey := map[string]*stream{}
	for _, e := range entries {
		key := fmt.Sprint(e.labels)
		s := byKey[key]
		if s == nil {
			s = &stream{Stream: e.labels}
			byKey[key] = s
			streams = append(streams, s)
		}
		s.Values = append(s.Values, []string{fmt.Sprint(e.ts.UnixNano()), e.line})
	}
	body, err := json.Marshal(map[string]any{"streams": streams})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url+"/loki/api/v1/push", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if org != "" {
		req.Header.Set("X-Scope-OrgID", org)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		var msg bytes.Buffer
		msg.ReadFrom(resp.Body)
		t.Fatalf("push: %s: %s", resp.Status, msg.String())
	}
}

// fixture is a real server holding a small, fully known data set:
//
//	{app="api", env="prod", pod="p0"}  6 lines, level=info,  at base+0s, 2s, 4s … 10s
//	{app="api", env="prod", pod="p1"}  6 lines, level=error, at base+1s, 3s, 5s … 11s
//	{app="web", env="dev"}             3 lines "GET /page/N 200" at base+20s, 21s, 22s
//
// As in Loki 3, the server stores each stream with a service_name label (its app) and each
// line with a detected_level structured metadata: info or error for the api lines (their
// level=), unknown for the web lines.
type fixture struct {
	srv  *sluicetest.Server
	base time.Time
	api  []pushed // the 12 api lines, oldest first
	web  []pushed
	addr string
	// from and to are --from and --to flags around all of the data.
	from, to string
}

func apiLine(i int) pushed {
	pod, level, status := "p0", "info", 200
	if i%2 == 1 {
		pod, level, status = "p1", "error", 500
	}
	return pushed{
		labels: map[string]string{"app": "api", "env": "prod", "pod": pod},
		line:   fmt.Sprintf(`level=%s msg="req %d" status=%d duration=%dms`, level, i/2, status, 10+i),
	}
}

func startFixture(t *testing.T, opts ...sluicetest.Option) *fixture {
	t.Helper()
	srv := sluicetest.Start(t, opts...)
	f := &fixture{srv: srv, base: time.Now().Add(-30 * time.Minute).Truncate(time.Second).UTC(), addr: "--addr=" + srv.URL}
	for i := range 12 {
		e := apiLine(i)
		e.ts = f.base.Add(time.Duration(i) * time.Second)
		f.api = append(f.api, e)
	}
	for i := range 3 {
		f.web = append(f.web, pushed{
			labels: map[string]string{"app": "web", "env": "dev"},
			ts:     f.base.Add(time.Duration(20+i) * time.Second),
			line:   fmt.Sprintf("GET /page/%d 200", i),
		})
	}
	org := ""
	if srv.Config.AuthEnabled {
		org = "tenant-a"
	}
	pushAll(t, srv.URL, org, append(append([]pushed(nil), f.api...), f.web...))
	f.from = "--from=" + f.base.Add(-time.Minute).Format(time.RFC3339)
	f.to = "--to=" + f.base.Add(time.Minute).Format(time.RFC3339)
	return f
}

// run runs logcli against the fixture's server, over its whole time range for the commands that
// take one.
func (f *fixture) run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	args = append(args, f.addr)
	for i, a := range args {
		if strings.HasPrefix(a, "-") {
			continue
		}
		if a != "instant-query" && (a != "delete" || slices.Contains(args[i:], "create")) {
			args = append(args, f.from, f.to)
		}
		break
	}
	return runCLI(t, "", args...)
}

// mustRun is run that fails the test on a non-zero exit.
func (f *fixture) mustRun(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	code, out, errOut := f.run(t, args...)
	if code != 0 {
		t.Fatalf("logcli %s: exit %d, stderr %q", strings.Join(args, " "), code, errOut)
	}
	return out, errOut
}

// lines splits output into lines, without the last newline.
func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// syncBuffer is a bytes.Buffer safe for one writer and a polling reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor polls cond every 10ms until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
