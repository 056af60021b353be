package s3test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFindBinaryMissing checks that a missing server is an error telling how to install it.
func TestFindBinaryMissing(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("PATH", empty)
	t.Setenv("GOBIN", empty)
	_, err := FindBinary()
	if err == nil || !strings.Contains(err.Error(), "make s3-server") {
		t.Fatalf("FindBinary() with no versitygw = %v, want an error mentioning `make s3-server`", err)
	}
}

// TestFindBinaryGOBIN finds an executable in GOBIN even when PATH does not list it.
func TestFindBinaryGOBIN(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, Binary)
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir())
	t.Setenv("GOBIN", dir)
	if got, err := FindBinary(); err != nil || got != bin {
		t.Fatalf("FindBinary() = %q, %v; want %q", got, err, bin)
	}
}

// TestStartStop checks that the server listens on 127.0.0.1, stops, and restarts on the same
// address with its buckets.
func TestStartStop(t *testing.T) {
	s := Start(t)
	if host, _, err := net.SplitHostPort(s.Addr()); err != nil || host != "127.0.0.1" {
		t.Fatalf("Addr() = %q, want 127.0.0.1:port", s.Addr())
	}
	bucket := s.CreateBucket(t)
	if st, err := os.Stat(filepath.Join(s.Dir(), bucket)); err != nil || !st.IsDir() {
		t.Fatalf("bucket %s has no directory under %s: %v", bucket, s.Dir(), err)
	}
	s.Stop(t)
	if c, err := net.Dial("tcp", s.Addr()); err == nil {
		c.Close()
		t.Fatalf("server still accepts connections on %s after Stop", s.Addr())
	}
	s.Stop(t) // a second Stop is a no-op
	s.Restart(t)
	if c, err := net.Dial("tcp", s.Addr()); err != nil {
		t.Fatalf("dial %s after Restart: %v", s.Addr(), err)
	} else {
		c.Close()
	}
	if got := s.CreateBucket(t); got == bucket {
		t.Fatalf("CreateBucket returned %s twice", got)
	}
}
