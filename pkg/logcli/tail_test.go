package logcli_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sluicelog/sluice/pkg/logcli"
	"github.com/sluicelog/sluice/pkg/logcli/logclitest"
)

func TestTail(t *testing.T) {
	srv := logclitest.Start(t)
	srv.Add(sampleEntries()...)
	cp := newCapture(t, "raw", logcli.OutputOptions{Timezone: time.UTC})
	q := &logcli.Query{QueryString: `{app="api"}`, Start: base, Limit: 30, DelayFor: 2 * time.Second}
	if err := q.Tail(ctx(t), newClient(t, srv.URL), &cp.p); err != nil {
		t.Fatal(err)
	}
	want := "level=info msg=\"started\" port=8080\n  level=warn msg=slow took=2s  \nlevel=error msg=\"db down\"\ttab\n"
	if got := cp.stdout.String(); got != want {
		t.Errorf("tail printed %q, want %q", got, want)
	}
	r := srv.Requests()[0]
	if r.Path != "/loki/api/v1/tail" || r.Query["delay_for"][0] != "2" || r.Query["limit"][0] != "30" {
		t.Errorf("tail request = %s %v", r.Path, r.Query)
	}
}

func TestTailReconnectsWithoutDuplicates(t *testing.T) {
	srv := logclitest.Start(t)
	all := tiedEntries(40, 4)
	srv.Add(all...)
	srv.TailBreakAfter = 10 // the first connection drops in the middle of a timestamp
	cp := newCapture(t, "jsonl", logcli.OutputOptions{Timezone: time.UTC})
	q := &logcli.Query{QueryString: `{}`, Start: base, Quiet: true}
	if err := q.Tail(ctx(t), newClient(t, srv.URL), &cp.p); err != nil {
		t.Fatal(err)
	}
	got := parseJSONL(t, cp.stdout.String())
	checkPaged(t, got, all, 0, true)
	if !strings.Contains(cp.stderr.String(), "Connecting again") {
		t.Errorf("stderr = %q, want a reconnect notice", cp.stderr.String())
	}
}

func TestTailRefused(t *testing.T) {
	srv := logclitest.Start(t)
	srv.Intercept = func(w http.ResponseWriter, r *http.Request, n int) bool {
		http.Error(w, "tail disabled for tenant", http.StatusForbidden)
		return true
	}
	cp := newCapture(t, "raw", logcli.OutputOptions{})
	q := &logcli.Query{QueryString: `{}`, Start: base}
	err := q.Tail(ctx(t), newClient(t, srv.URL), &cp.p)
	if err == nil || !strings.Contains(err.Error(), "403 Forbidden: tail disabled for tenant") {
		t.Fatalf("Tail = %v, want the server's reason", err)
	}
}

func TestTailStopsOnCancel(t *testing.T) {
	srv := logclitest.Start(t)
	release := make(chan struct{})
	defer close(release)
	srv.Intercept = func(w http.ResponseWriter, r *http.Request, n int) bool {
		up := websocket.Upgrader{}
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return true
		}
		defer conn.Close()
		<-release // send nothing until the test ends
		return true
	}
	c, cancel := context.WithCancel(ctx(t))
	done := make(chan error, 1)
	cp := newCapture(t, "raw", logcli.OutputOptions{})
	go func() { done <- (&logcli.Query{QueryString: `{}`, Start: base}).Tail(c, newClient(t, srv.URL), &cp.p) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Tail after cancel = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Tail did not return after its context was cancelled")
	}
}
