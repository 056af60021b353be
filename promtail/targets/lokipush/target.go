// Package lokipush is promtail's loki_push_api target: an HTTP server that takes Loki pushes
// (another promtail, Alloy, a Docker driver, any Loki client) and runs them through the scrape
// config's relabel_configs and pipeline into promtail's clients, as a relay.
//
// It serves POST /loki/api/v1/push (snappy-compressed protobuf or JSON, optionally gzip or
// deflate, decoded by pkg/push), POST /promtail/api/v1/raw (one entry per line of the body,
// with the configured labels) and GET /ready. A push is answered 204 once every entry has been
// handed to the clients: while the clients are retrying, the answer waits (back-pressure
// reaches the sender) instead of buffering without bound. Each stream's labels, with the
// configured labels added over them, go through relabel_configs; labels starting with "__"
// are dropped afterwards. Structured metadata is kept.
package lokipush

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logql/syntax"
	"github.com/sluicelog/sluice/pkg/push"
	"github.com/sluicelog/sluice/promtail/ack"
	"github.com/sluicelog/sluice/promtail/config"
	"github.com/sluicelog/sluice/promtail/entry"
	"github.com/sluicelog/sluice/promtail/targets"
)

// MaxBodyBytes bounds a push body, compressed and decompressed (Loki's default gRPC message
// limit for pushes is of the same size).
const MaxBodyBytes = 100 << 20

// Target is one loki_push_api scrape config's server.
type Target struct {
	job  string
	cfg  config.PushConfig
	recv *targets.Receiver
	log  *slog.Logger
	now  func() time.Time

	ln  net.Listener
	srv *http.Server
	// hard ends the requests still running when the graceful shutdown timeout is over.
	hard       context.Context
	cancelHard context.CancelFunc
	handlers   sync.WaitGroup
}

// New listens on the server block's HTTP address (defaults applied); nothing is served until
// Run. Close releases the listener of a Target that will not Run.
func New(job string, cfg config.PushConfig, recv *targets.Receiver, log *slog.Logger) (*Target, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	port := config.DefaultPushHTTPPort
	if p := cfg.Server.HTTPListenPort; p != nil {
		port = *p
	}
	addr := net.JoinHostPort(cfg.Server.HTTPListenAddress, fmt.Sprint(port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("loki_push_api listen %s: %w", addr, err)
	}
	t := &Target{job: job, cfg: cfg, recv: recv, log: log.With("job", job), now: time.Now, ln: ln}
	t.hard, t.cancelHard = context.WithCancel(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("POST /loki/api/v1/push", t.handlePush)
	mux.HandleFunc("POST /promtail/api/v1/raw", t.handleRaw)
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ready") })
	// Count running handlers: Close does not wait for them, and Run must.
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.handlers.Add(1)
		defer t.handlers.Done()
		mux.ServeHTTP(w, r)
	})
	t.srv = &http.Server{
		Handler:           counted,
		ReadHeaderTimeout: cfg.Server.HTTPServerReadTimeout.D(),
		ReadTimeout:       cfg.Server.HTTPServerReadTimeout.D(),
		WriteTimeout:      cfg.Server.HTTPServerWriteTimeout.D(),
		IdleTimeout:       cfg.Server.HTTPServerIdleTimeout.D(),
	}
	return t, nil
}

// Addr is the address served.
func (t *Target) Addr() net.Addr { return t.ln.Addr() }

// Close releases the listener; Run does it itself when its context ends.
func (t *Target) Close() error { return t.ln.Close() }

// Run serves until ctx ends, then lets running pushes finish within the server's
// graceful_shutdown_timeout (default 30s), ends the rest, and returns when no handler is left.
func (t *Target) Run(ctx context.Context) {
	t.log.Info("loki push API listening", "address", t.Addr().String())
	done := make(chan error, 1)
	go func() { done <- t.srv.Serve(t.ln) }()
	select {
	case err := <-done:
		if !errors.Is(err, http.ErrServerClosed) {
			t.log.Error("loki push API server", "err", err)
		}
		t.cancelHard()
		return
	case <-ctx.Done():
	}
	grace := t.cfg.Server.GracefulShutdown.D()
	if grace <= 0 {
		grace = 30 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := t.srv.Shutdown(sctx); err != nil {
		t.cancelHard()
		_ = t.srv.Close()
	}
	<-done
	t.cancelHard()
	t.handlers.Wait()
}

// requestContext ends with the request or, at shutdown, when the grace period is over.
func (t *Target) requestContext(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(t.hard, cancel)
	return ctx, func() { stop(); cancel() }
}

func (t *Target) handlePush(w http.ResponseWriter, r *http.Request) {
	req, err := push.DecodeRequest(r, MaxBodyBytes)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, push.ErrTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		t.log.Debug("decode push", "err", err)
		http.Error(w, err.Error(), status)
		return
	}
	ctx, cancel := t.requestContext(r)
	defer cancel()
	var lastErr error
	for _, s := range req.Streams {
		ls, err := syntax.ParseLabels(s.Labels)
		if err != nil {
			lastErr = fmt.Errorf("stream %s: %w", s.Labels, err)
			continue
		}
		b := labels.NewBuilder(ls)
		for k, v := range t.cfg.Labels {
			b.Set(k, v)
		}
		set, keep := t.recv.Labels(b)
		if !keep {
			continue
		}
		key := set.String()
		for _, e := range s.Entries {
			ts := e.Timestamp
			if !t.cfg.UseIncomingTimestamp {
				ts = t.now().UnixNano()
			}
			en := entry.New(set, key, e.Line, ts, ack.Ack{})
			en.StructuredMetadata = e.StructuredMetadata
			if err := t.recv.Send(ctx, en); err != nil {
				http.Error(w, "push not handed to the clients: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
	}
	if lastErr != nil {
		t.log.Warn("push: a stream was refused", "err", lastErr)
		http.Error(w, lastErr.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleRaw takes newline-separated lines (plain text, NDJSON), each an entry with the
// configured labels and the time it arrived, as promtail's /promtail/api/v1/raw does.
func (t *Target) handleRaw(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := t.requestContext(r)
	defer cancel()
	b := labels.NewBuilder(labels.EmptyLabels())
	for k, v := range t.cfg.Labels {
		b.Set(k, v)
	}
	set, keep := t.recv.Labels(b)
	key := set.String()
	sc := bufio.NewScanner(io.LimitReader(r.Body, MaxBodyBytes))
	sc.Buffer(make([]byte, 0, 64<<10), MaxBodyBytes)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" || !keep {
			continue
		}
		if err := t.recv.Send(ctx, entry.New(set, key, line, t.now().UnixNano(), ack.Ack{})); err != nil {
			http.Error(w, "push not handed to the clients: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	if err := sc.Err(); err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
