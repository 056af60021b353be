package sluice_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/sluicelog/sluice/pkg/sluice"
	"github.com/sluicelog/sluice/pkg/storage/s3/s3test"
)

// TestShortRetainPeriodWarns: a write process whose chunk_retain_period is shorter than the
// index's upload plus resync intervals logs a warning at start, as read processes would miss the
// lines of a flushed chunk for a while; the default period, and a process that runs its own
// querier, log none.
func TestShortRetainPeriodWarns(t *testing.T) {
	cases := []struct {
		name string
		args []string
		warn bool
	}{
		{"write, 1m", []string{"-target=write", "-ingester.chunks-retain-period=1m"}, true},
		{"write, 10m upload", []string{"-target=write", "-boltdb.shipper.upload-interval=10m"}, true},
		{"write, default", []string{"-target=write"}, false},
		{"all, 1m", []string{"-target=all", "-ingester.chunks-retain-period=1m"}, false},
	}
	s3srv := s3test.Start(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// A write process needs the shared object store.
			s3 := s3srv.Config(s3srv.CreateBucket(t))
			args := append([]string{"-server.http-listen-address=127.0.0.1", "-server.http-listen-port=0",
				"-common.path-prefix=" + t.TempDir(), "-s3.endpoint=" + s3.Endpoint, "-s3.insecure",
				"-s3.region=" + s3.Region, "-s3.buckets=" + s3.BucketNames,
				"-s3.access-key-id=" + s3.AccessKeyID, "-s3.secret-access-key=" + string(s3.SecretAccessKey)}, c.args...)
			cfg, err := sluice.LoadConfig(args)
			if err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			s, err := sluice.New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Contains(logs.String(), "chunk_retain_period is shorter than")
			// Run and stop it, which releases the data directory and the port.
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			if got != c.warn {
				t.Errorf("warning logged: %v, want %v; log:\n%s", got, c.warn, logs.String())
			}
		})
	}
}
