package s3_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/flagext"
	"github.com/sluicelog/sluice/pkg/storage"
	"github.com/sluicelog/sluice/pkg/storage/s3"
	"github.com/sluicelog/sluice/pkg/storage/s3/s3test"
)

// TestServerRestart stops the server under a client: every call fails while it is down (and
// not with ErrNotFound), and the same client works again once it is back, data intact.
func TestServerRestart(t *testing.T) {
	srv := s3test.Start(t)
	cfg := srv.Config(srv.CreateBucket(t))
	cfg.Backoff.MaxRetries = 1
	c := newClient(t, cfg)
	ctx := testCtx(t)
	if err := c.Put(ctx, "restart/before", strings.NewReader("kept")); err != nil {
		t.Fatalf("Put = %v", err)
	}

	srv.Stop(t)
	start := time.Now()
	if err := c.Put(ctx, "restart/down", strings.NewReader("x")); err == nil {
		t.Error("Put while the server is down = nil, want an error")
	}
	if _, err := c.Get(ctx, "restart/before"); err == nil || errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Get while the server is down = %v, want a connection error", err)
	}
	if _, err := c.GetRange(ctx, "restart/before", 0, 1); err == nil || errors.Is(err, storage.ErrNotFound) {
		t.Errorf("GetRange while the server is down = %v, want a connection error", err)
	}
	if _, err := c.List(ctx, "restart/"); err == nil {
		t.Error("List while the server is down = nil, want an error")
	}
	if err := c.Delete(ctx, "restart/before"); err == nil {
		t.Error("Delete while the server is down = nil, want an error")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("five calls against a stopped server took %s, want fast failures", d)
	}

	srv.Restart(t)
	if got := read(t)(c.Get(ctx, "restart/before")); string(got) != "kept" {
		t.Fatalf("Get after restart = %q, want kept", got)
	}
	if err := c.Put(ctx, "restart/after", strings.NewReader("new")); err != nil {
		t.Fatalf("Put after restart = %v", err)
	}
	keys, err := c.List(ctx, "restart/")
	if err != nil || strings.Join(keys, " ") != "restart/after restart/before" {
		t.Fatalf("List after restart = %q, %v", keys, err)
	}
}

// TestRetryAcrossRestart starts calls while the server is down; it comes back within the
// retry budget, so they succeed.
func TestRetryAcrossRestart(t *testing.T) {
	srv := s3test.Start(t)
	cfg := srv.Config(srv.CreateBucket(t))
	// Attempts at 0, 0.1, 0.3, 0.7, 1.2, 1.7s and every 0.5s after: about 14s of patience, ample
	// for a restart on a loaded machine; the calls finish as soon as the server is back.
	cfg.Backoff = s3.BackoffConfig{
		MinPeriod:  flagext.Duration(100 * time.Millisecond),
		MaxPeriod:  flagext.Duration(500 * time.Millisecond),
		MaxRetries: 30,
	}
	c := newClient(t, cfg)
	ctx := testCtx(t)
	data := bytes.Repeat([]byte("retry me "), 10000)
	if err := c.Put(ctx, "retry/existing", bytes.NewReader(data)); err != nil {
		t.Fatalf("Put = %v", err)
	}

	srv.Stop(t)
	type result struct {
		got []byte
		err error
	}
	putDone := make(chan error, 1)
	getDone := make(chan result, 1)
	go func() { putDone <- c.Put(ctx, "retry/new", bytes.NewReader(data)) }()
	go func() {
		rc, err := c.Get(ctx, "retry/existing")
		if err != nil {
			getDone <- result{err: err}
			return
		}
		defer rc.Close()
		var buf bytes.Buffer
		_, err = buf.ReadFrom(rc)
		getDone <- result{buf.Bytes(), err}
	}()
	time.Sleep(400 * time.Millisecond)
	select {
	case err := <-putDone:
		t.Fatalf("Put returned %v while the server was down, want it still retrying", err)
	default:
	}
	srv.Restart(t)

	if err := <-putDone; err != nil {
		t.Fatalf("Put started while the server was down = %v, want success after the restart", err)
	}
	r := <-getDone
	if r.err != nil || !bytes.Equal(r.got, data) {
		t.Fatalf("Get started while the server was down = %d bytes, %v; want %d bytes", len(r.got), r.err, len(data))
	}
	if got := read(t)(c.Get(ctx, "retry/new")); !bytes.Equal(got, data) {
		t.Fatalf("Get of the retried Put = %d bytes, want %d", len(got), len(data))
	}
}
