// Command pprofsluice is cmd/sluice with profiling endpoints, for the storage benchmark
// (scripts/bench/run.sh). The server itself has no /debug/pprof; this variant runs the same
// assembly (pkg/sluice) and serves, on a second listener, net/http/pprof's handlers plus
//
//	POST /bench/cpuprofile/start?path=FILE   start a CPU profile written to FILE
//	POST /bench/cpuprofile/stop              stop it (the file is complete when this returns)
//
// so the benchmark can profile exactly its ingest and its queries. The listener's address is
// taken from SLUICE_PPROF_ADDR (default 127.0.0.1:0, a free port) and printed on stderr as
// "pprof listening on ADDR". Every argument is the server's own.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	rpprof "runtime/pprof"
	"sync"
	"syscall"

	"github.com/sluicelog/sluice/pkg/sluice"
)

func main() {
	cfg, err := sluice.LoadConfig(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pprofsluice:", err)
		os.Exit(1)
	}
	addr := os.Getenv("SLUICE_PPROF_ADDR")
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pprofsluice: listen for pprof:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "pprof listening on", l.Addr())
	runtime.SetMutexProfileFraction(100)
	runtime.SetBlockProfileRate(100_000) // one sample per 100µs blocked
	go func() { _ = http.Serve(l, profileMux()) }()

	logger := sluice.NewLogger(cfg.Server.LogLevel)
	sluice.SetMemoryLimit(logger) // as cmd/sluice does, so the profiles are of the server as it runs
	s, err := sluice.New(cfg, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pprofsluice:", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := s.Run(ctx); err != nil {
		logger.Error("shutdown", "err", err)
		os.Exit(1)
	}
}

// profileMux serves net/http/pprof and the start/stop CPU profile endpoints.
func profileMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)

	var mu sync.Mutex
	var f *os.File
	mux.HandleFunc("POST /bench/cpuprofile/start", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if f != nil {
			http.Error(w, "a CPU profile is already running", http.StatusConflict)
			return
		}
		path := r.URL.Query().Get("path")
		if path == "" {
			http.Error(w, "path is required", http.StatusBadRequest)
			return
		}
		out, err := os.Create(path)
		if err != nil {
			http.Error(w, "create profile: "+err.Error(), http.StatusInternalServerError)
			return
		}
		if err := rpprof.StartCPUProfile(out); err != nil {
			out.Close()
			http.Error(w, "start CPU profile: "+err.Error(), http.StatusInternalServerError)
			return
		}
		f = out
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /bench/cpuprofile/stop", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if f == nil {
			http.Error(w, "no CPU profile is running", http.StatusConflict)
			return
		}
		rpprof.StopCPUProfile()
		err := f.Close()
		f = nil
		if err != nil {
			http.Error(w, "write profile: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}
