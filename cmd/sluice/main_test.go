package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/push"
)

// buildBinary compiles cmd/sluice once per test binary.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sluice")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type server struct {
	cmd  *exec.Cmd
	url  string
	logs *bytes.Buffer
}

func start(t *testing.T, bin, dir string, port int) *server {
	t.Helper()
	var logs bytes.Buffer
	cmd := exec.Command(bin, "-server.http-listen-address=127.0.0.1", "-server.http-listen-port="+strconv.Itoa(port),
		"-common.path-prefix="+dir, "-validation.max-entries-limit=200000", "-log.level=warn")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, url: fmt.Sprintf("http://127.0.0.1:%d", port), logs: &logs}
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(s.url + "/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("server not ready: %s", logs.String())
	return nil
}

func (s *server) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	s.cmd.Process.Signal(sig)
	err := s.cmd.Wait()
	if sig == syscall.SIGTERM && err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, s.logs.String())
	}
}

const (
	numStreams = 20
	numLines   = 100_000
)

// pushAll pushes numLines lines over numStreams streams as protobuf, 5,000 lines a request.
func pushAll(t *testing.T, base string, from int64) {
	t.Helper()
	per := numLines / numStreams
	for batch := 0; batch < per; batch += 250 {
		req := &logproto.PushRequest{}
		for s := 0; s < numStreams; s++ {
			st := logproto.Stream{Labels: fmt.Sprintf(`{job="load", stream="s%02d"}`, s)}
			for i := batch; i < batch+250; i++ {
				status := 200
				if i%20 == 0 {
					status = 500
				}
				st.Entries = append(st.Entries, logproto.Entry{
					Timestamp: from + int64(i)*int64(time.Millisecond) + int64(s),
					Line:      fmt.Sprintf("ts=%d stream=s%02d method=GET path=/api/%d status=%d", i, s, i%97, status),
				})
			}
			req.Streams = append(req.Streams, st)
		}
		resp, err := http.Post(base+"/loki/api/v1/push", push.ContentTypeProto, bytes.NewReader(push.Encode(req)))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("push: %d %s", resp.StatusCode, body)
		}
	}
}

// queryLines returns "stream ts line" for every entry the query returns.
func queryLines(t *testing.T, base, query string, from int64) []string {
	t.Helper()
	v := url.Values{"query": {query}, "limit": {"200000"}, "direction": {"forward"},
		"start": {strconv.FormatInt(from, 10)}, "end": {strconv.FormatInt(from+int64(5*time.Minute), 10)}}
	resp, err := http.Get(base + "/loki/api/v1/query_range?" + v.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("query %s: %d %s", query, resp.StatusCode, body)
	}
	var qr struct {
		Data struct {
			Result []struct {
				Stream map[string]string `json:"stream"`
				Values [][]string        `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &qr); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range qr.Data.Result {
		for _, e := range s.Values {
			out = append(out, s.Stream["stream"]+" "+e[0]+" "+e[1])
		}
	}
	sort.Strings(out)
	return out
}

func checkAll(t *testing.T, stage, base string, from int64) []string {
	t.Helper()
	all := queryLines(t, base, `{job="load"}`, from)
	if len(all) != numLines {
		t.Fatalf("%s: selector returned %d lines, want %d", stage, len(all), numLines)
	}
	for i := 1; i < len(all); i++ {
		if all[i] == all[i-1] {
			t.Fatalf("%s: duplicate line %q", stage, all[i])
		}
	}
	errs := queryLines(t, base, `{job="load"} |= "status=500"`, from)
	if len(errs) != numLines/20 {
		t.Fatalf("%s: |= status=500 returned %d lines, want %d", stage, len(errs), numLines/20)
	}
	one := queryLines(t, base, `{job="load", stream="s07"} |~ "path=/api/(1|2)\\b" != "status=500"`, from)
	want := 0
	for i := 0; i < numLines/numStreams; i++ {
		if (i%97 == 1 || i%97 == 2) && i%20 != 0 {
			want++
		}
	}
	if len(one) != want {
		t.Fatalf("%s: narrowed query returned %d lines, want %d", stage, len(one), want)
	}
	return all
}

// TestRestartKeepsEveryLine is the foundation's acceptance test: 100,000 lines pushed as
// protobuf over 20 streams all come back, filters narrow them, and after SIGTERM and a restart
// on the same data directory every line is there exactly once. A SIGKILL (no flush) followed by
// a restart brings everything back from the write-ahead log.
func TestRestartKeepsEveryLine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	port := freePort(t)
	from := time.Now().Add(-30 * time.Minute).UnixNano()

	s := start(t, bin, dir, port)
	pushAll(t, s.url, from)
	before := checkAll(t, "before restart", s.url, from)

	s.signal(t, syscall.SIGTERM)
	s = start(t, bin, dir, port)
	after := checkAll(t, "after SIGTERM", s.url, from)
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Fatal("lines differ after SIGTERM and restart")
	}

	// Push more, then SIGKILL: only the WAL has them.
	from2 := from + int64(10*time.Minute)
	pushAll(t, s.url, from2)
	s.signal(t, syscall.SIGKILL)
	s = start(t, bin, dir, port)
	checkAll(t, "after SIGKILL", s.url, from2)
	again := checkAll(t, "first batch after SIGKILL", s.url, from)
	if fmt.Sprint(before) != fmt.Sprint(again) {
		t.Fatal("first batch differs after SIGKILL and restart")
	}
	s.signal(t, syscall.SIGTERM)
}
