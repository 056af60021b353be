// Package s3test runs a real S3-compatible server for tests: versitygw over a temporary
// directory, listening on 127.0.0.1 with a free port and checking every request's SigV4
// signature. `make s3-server` (scripts/s3server/install.sh) installs the binary; a test that
// needs it fails, never skips, when it is missing.
//
//	srv := s3test.Start(t)            // stopped and removed at test cleanup
//	cfg := srv.Config(srv.CreateBucket(t))
//	client, err := s3.New(ctx, cfg)
package s3test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicelog/sluice/pkg/flagext"
	"github.com/sluicelog/sluice/pkg/storage/s3"
)

// Credentials of the server's single root account.
const (
	AccessKey = "sluice-test-access"
	SecretKey = "sluice-test-secret-key-0123456789"
	Region    = "us-east-1"
)

// Binary is the server's executable name, looked up on PATH and in $(go env GOPATH)/bin.
const Binary = "versitygw"

// Server is one running versitygw process. Start registers its Stop as a test cleanup.
type Server struct {
	bin  string
	dir  string // bucket root
	addr string // 127.0.0.1:port, kept across restarts

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	output  *syncBuffer
	buckets atomic.Int32
}

// Start finds the versitygw binary, starts it over a fresh temporary directory and waits until
// it answers HTTP. It fails the test, with a hint to run `make s3-server`, if it cannot.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := FindBinary()
	if err != nil {
		t.Fatalf("s3test: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("s3test: find a free port: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("s3test: release port %s: %v", addr, err)
	}
	s := &Server{bin: bin, dir: filepath.Join(t.TempDir(), "buckets"), addr: addr}
	if err := os.Mkdir(s.dir, 0o755); err != nil {
		t.Fatalf("s3test: %v", err)
	}
	t.Cleanup(func() { s.Stop(t) })
	s.start(t)
	return s
}

// FindBinary returns the path of the versitygw binary, or an error saying how to install it.
func FindBinary() (string, error) {
	if p, err := exec.LookPath(Binary); err == nil {
		return p, nil
	}
	var tried []string
	for _, dir := range gopathBins() {
		p := filepath.Join(dir, Binary)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
		tried = append(tried, p)
	}
	return "", fmt.Errorf("the S3 test server %s is not installed (not on PATH, not at %s): run `make s3-server` to install it",
		Binary, strings.Join(tried, ", "))
}

// gopathBins lists the directories `go install` writes to.
func gopathBins() []string {
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		return []string{gobin}
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	if gopath == "" {
		if home, err := os.UserHomeDir(); err == nil {
			gopath = filepath.Join(home, "go")
		}
	}
	var dirs []string
	for _, p := range filepath.SplitList(gopath) {
		dirs = append(dirs, filepath.Join(p, "bin"))
	}
	return dirs
}

func (s *Server) start(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		t.Fatalf("s3test: server on %s is already running", s.addr)
	}
	cmd := exec.Command(s.bin,
		"--access", AccessKey, "--secret", SecretKey, "--region", Region,
		"--port", s.addr, "--quiet",
		"posix", s.dir)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID=", "ROOT_SECRET_ACCESS_KEY=", "ROOT_ACCESS_KEY=", "ROOT_SECRET_KEY=")
	s.output = &syncBuffer{}
	cmd.Stdout, cmd.Stderr = s.output, s.output
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		t.Fatalf("s3test: start %s: %v (run `make s3-server` to reinstall it)", s.bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the exit status is reported through exited and the output
		close(exited)
	}()
	s.cmd, s.exited = cmd, exited

	deadline := time.Now().Add(20 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-exited:
			s.cmd = nil
			t.Fatalf("s3test: %s exited during startup on %s: %s\n(run `make s3-server` to reinstall it)", s.bin, s.addr, s.output.String())
		default:
		}
		resp, err := client.Get(s.Endpoint() + "/")
		if err == nil {
			resp.Body.Close() // any answer, 403 included, means it is serving
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("s3test: %s did not answer on %s within 20s: %v\n%s", s.bin, s.addr, err, s.output.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop terminates the server and waits for it to exit; its data stays for Restart. Stopping a
// stopped server does nothing.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM) // it may have exited already
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
	// Wait until the port is free again, so a Restart can bind it.
	for i := 0; i < 100; i++ {
		c, err := net.DialTimeout("tcp", s.addr, 100*time.Millisecond)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(20 * time.Millisecond)
	}
}

// Restart starts a stopped server again on the same address and directory.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.start(t)
}

// Addr is the server's host:port on 127.0.0.1.
func (s *Server) Addr() string { return s.addr }

// Endpoint is the server's base URL.
func (s *Server) Endpoint() string { return "http://" + s.addr }

// Dir is the directory holding the buckets, one subdirectory each.
func (s *Server) Dir() string { return s.dir }

// CreateBucket creates a new empty bucket with a unique name and returns the name.
func (s *Server) CreateBucket(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("sluice-test-%d", s.buckets.Add(1))
	api := awss3.New(awss3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint()),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := api.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("s3test: create bucket %s on %s: %v", name, s.addr, err)
	}
	return name
}

// Config returns a client configuration for bucket on this server: its endpoint over plain
// HTTP, the root credentials and short backoffs (3 attempts, 10ms to 100ms).
func (s *Server) Config(bucket string) s3.Config {
	return s3.Config{
		Endpoint:        s.addr,
		Insecure:        true,
		Region:          Region,
		BucketNames:     bucket,
		AccessKeyID:     AccessKey,
		SecretAccessKey: SecretKey,
		HTTP: s3.HTTPConfig{
			IdleConnTimeout:       flagext.Duration(90 * time.Second),
			ResponseHeaderTimeout: flagext.Duration(30 * time.Second),
		},
		Backoff: s3.BackoffConfig{
			MinPeriod:  flagext.Duration(10 * time.Millisecond),
			MaxPeriod:  flagext.Duration(100 * time.Millisecond),
			MaxRetries: 3,
		},
	}
}

// syncBuffer collects the server's output for failure messages.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 1<<20 {
		return len(p), nil // enough to explain a failure
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
