// Command sluice is the Sluice server: every component in one process, or with -target only
// some of them (a write path, a read path, a standalone compactor) sharing an S3 bucket.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sluicelog/sluice/pkg/build"
	"github.com/sluicelog/sluice/pkg/sluice"
)

func main() {
	cfg, err := sluice.LoadConfig(os.Args[1:])
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, sluice.ErrPrintVersion):
		b := build.Get()
		fmt.Printf("sluice, version %s (revision %s, %s)\n", b.Version, b.Revision, b.GoVersion)
		os.Exit(0)
	case err != nil:
		fmt.Fprintln(os.Stderr, "sluice:", err)
		os.Exit(1)
	}
	logger := sluice.NewLogger(cfg.Server.LogLevel)
	sluice.SetMemoryLimit(logger)
	s, err := sluice.New(cfg, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sluice:", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := s.Run(ctx); err != nil {
		logger.Error("shutdown", "err", err)
		os.Exit(1)
	}
}
