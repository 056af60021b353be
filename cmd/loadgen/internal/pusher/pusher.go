// Package pusher sends generated log lines to a Loki push endpoint the way promtail does:
// snappy-compressed protobuf batches of about BatchBytes of line text, from several workers in
// parallel, retrying on 429, 5xx and connection errors with exponential backoff.
//
// Each stream belongs to one worker (stream number modulo the number of workers), so the
// entries of a stream reach the server in the order the source produced them.
package pusher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/push"
)

// Source yields the lines to send, in timestamp order per stream.
type Source interface {
	// Next returns the next line's stream number (an index into the labels given to Run),
	// its timestamp in Unix nanoseconds and its text; ok is false at the end.
	Next() (stream int, ts int64, line string, ok bool)
}

// Config says where and how to push.
type Config struct {
	// URL is the push endpoint, e.g. http://127.0.0.1:3100/loki/api/v1/push.
	URL string
	// Tenant is sent as X-Scope-OrgID when not empty.
	Tenant string
	// BatchBytes is the line text a batch collects before it is sent (promtail's batch size).
	BatchBytes int
	// Workers is the number of batches in flight at once.
	Workers int
	// MaxRetries is how many times one batch is retried before the run fails.
	MaxRetries int
	// MinBackoff and MaxBackoff bound the wait between retries; it doubles from one to the other.
	MinBackoff, MaxBackoff time.Duration
	// Client sends the requests; nil means a client with a 2-minute timeout.
	Client *http.Client
	// Prepare builds every request body (generating, encoding and compressing the lines)
	// before the first push, and times only the pushes. A benchmark whose generator shares the
	// server's cores then measures the server alone, as it would run with its clients on other
	// machines; the bodies are held in memory (about a quarter of the raw bytes).
	Prepare bool
}

// Validate checks c.
func (c *Config) Validate() error {
	var errs []error
	if !strings.HasPrefix(c.URL, "http://") && !strings.HasPrefix(c.URL, "https://") {
		errs = append(errs, fmt.Errorf("url: %q is not an http(s) URL", c.URL))
	}
	if c.BatchBytes <= 0 {
		errs = append(errs, fmt.Errorf("batch bytes: must be positive, got %d", c.BatchBytes))
	}
	if c.Workers <= 0 {
		errs = append(errs, fmt.Errorf("workers: must be positive, got %d", c.Workers))
	}
	if c.MaxRetries < 0 {
		errs = append(errs, fmt.Errorf("max retries: must not be negative, got %d", c.MaxRetries))
	}
	if c.MinBackoff <= 0 || c.MaxBackoff < c.MinBackoff {
		errs = append(errs, fmt.Errorf("backoff: want 0 < min (%s) <= max (%s)", c.MinBackoff, c.MaxBackoff))
	}
	return errors.Join(errs...)
}

// Counters are the run's totals so far; Run updates them atomically as batches are accepted,
// so another goroutine may read them for progress reports.
type Counters struct {
	// Lines and RawBytes count the entries and line text the server accepted.
	Lines, RawBytes atomic.Int64
	// WireBytes counts the compressed bodies sent, retries included.
	WireBytes atomic.Int64
	// Requests counts the pushes sent, retries included; Retries only the retries.
	Requests, Retries atomic.Int64
}

// Result is what a finished run did.
type Result struct {
	Lines, RawBytes, WireBytes, Requests, Retries int64
	Elapsed                                       time.Duration
}

// itemsPerHandoff is how many lines the reading goroutine hands a worker at once; handing
// them one by one would cost a channel operation per line.
const itemsPerHandoff = 512

type item struct {
	stream int
	entry  logproto.Entry
}

// Run reads src to the end and pushes every line, labels[stream] naming each line's stream.
// It returns when every batch has been accepted, or with the first batch that failed for
// good (after which the other workers stop too). c may be nil.
func Run(ctx context.Context, cfg Config, labels []string, src Source, c *Counters) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, fmt.Errorf("pusher config: %w", err)
	}
	if c == nil {
		c = &Counters{}
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{
			Timeout:   2 * time.Minute,
			Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Workers, DisableCompression: true},
		}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	start := time.Now()

	var wg sync.WaitGroup
	chans := make([]chan []item, cfg.Workers)
	prepared := make([][]batch, cfg.Workers)
	for w := range chans {
		chans[w] = make(chan []item, 4)
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := func(b batch) error { return b.send(ctx, &cfg, c) }
			if cfg.Prepare {
				out = func(b batch) error { prepared[w] = append(prepared[w], b); return nil }
			}
			if err := work(labels, cfg.BatchBytes, chans[w], out); err != nil {
				cancel(fmt.Errorf("worker %d: %w", w, err))
			}
		}()
	}

	if err := feed(ctx, cfg.Workers, labels, src, chans); err != nil {
		cancel(err) // the workers drop what they hold rather than send part of a bad source
	}
	for _, ch := range chans {
		close(ch)
	}
	wg.Wait()
	if cfg.Prepare && ctx.Err() == nil {
		start = time.Now()
		for w := range prepared {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i, b := range prepared[w] {
					if err := b.send(ctx, &cfg, c); err != nil {
						cancel(fmt.Errorf("worker %d: %w", w, err))
						return
					}
					prepared[w][i] = batch{} // let the sent body go
				}
			}()
		}
		wg.Wait()
	}
	res := Result{
		Lines: c.Lines.Load(), RawBytes: c.RawBytes.Load(), WireBytes: c.WireBytes.Load(),
		Requests: c.Requests.Load(), Retries: c.Retries.Load(), Elapsed: time.Since(start),
	}
	return res, context.Cause(ctx)
}

// feed reads src and hands its lines to the workers that own their streams.
func feed(ctx context.Context, workers int, labels []string, src Source, chans []chan []item) error {
	pending := make([][]item, workers)
	send := func(w int) bool {
		select {
		case chans[w] <- pending[w]:
			pending[w] = nil
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		stream, ts, line, ok := src.Next()
		if !ok {
			break
		}
		if stream < 0 || stream >= len(labels) {
			return fmt.Errorf("source gave stream %d, but only %d streams have labels", stream, len(labels))
		}
		w := stream % workers
		if pending[w] == nil {
			pending[w] = make([]item, 0, itemsPerHandoff)
		}
		pending[w] = append(pending[w], item{stream, logproto.Entry{Timestamp: ts, Line: line}})
		if len(pending[w]) == itemsPerHandoff && !send(w) {
			return nil
		}
	}
	for w := range pending {
		if len(pending[w]) > 0 && !send(w) {
			return nil
		}
	}
	return nil
}

// batch is one encoded push request and what it holds.
type batch struct {
	body       []byte
	lines, raw int
}

// send pushes b and counts it once the server accepted it.
func (b batch) send(ctx context.Context, cfg *Config, c *Counters) error {
	if err := send(ctx, cfg, b.body, c); err != nil {
		return err
	}
	c.Lines.Add(int64(b.lines))
	c.RawBytes.Add(int64(b.raw))
	return nil
}

// work batches the lines of one worker's streams, batchBytes of line text to a batch, and
// hands each encoded batch to out.
func work(labels []string, batchBytes int, in <-chan []item, out func(batch) error) error {
	entries := make([][]logproto.Entry, len(labels))
	var raw, lines int
	flush := func() error {
		if lines == 0 {
			return nil
		}
		req := &logproto.PushRequest{}
		for s, es := range entries {
			if len(es) > 0 {
				req.Streams = append(req.Streams, logproto.Stream{Labels: labels[s], Entries: es})
			}
		}
		if err := out(batch{body: push.Encode(req), lines: lines, raw: raw}); err != nil {
			return err
		}
		for s := range entries {
			entries[s] = entries[s][:0]
		}
		raw, lines = 0, 0
		return nil
	}
	for items := range in {
		for _, it := range items {
			entries[it.stream] = append(entries[it.stream], it.entry)
			raw += len(it.entry.Line)
			lines++
			if raw >= batchBytes {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// send posts one batch, retrying what may succeed later.
func send(ctx context.Context, cfg *Config, body []byte, c *Counters) error {
	backoff := cfg.MinBackoff
	for attempt := 0; ; attempt++ {
		retry, err := post(ctx, cfg, body, c)
		if err == nil {
			return nil
		}
		if !retry || attempt >= cfg.MaxRetries {
			if retry {
				return fmt.Errorf("push failed %d times, last: %w", attempt+1, err)
			}
			return err
		}
		c.Retries.Add(1)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		backoff = min(2*backoff, cfg.MaxBackoff)
	}
}

// post sends body once. retry says whether a later attempt may succeed.
func post(ctx context.Context, cfg *Config, body []byte, c *Counters) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.URL, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("build push request: %w", err)
	}
	req.Header.Set("Content-Type", push.ContentTypeProto)
	req.Header.Set("User-Agent", "sluice-loadgen")
	if cfg.Tenant != "" {
		req.Header.Set("X-Scope-OrgID", cfg.Tenant)
	}
	c.Requests.Add(1)
	c.WireBytes.Add(int64(len(body)))
	resp, err := cfg.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return false, context.Cause(ctx)
		}
		return true, fmt.Errorf("push to %s: %w", cfg.URL, err)
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, resp.Body) // drain, so the connection is reused
	resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return false, nil
	}
	err = fmt.Errorf("push to %s: %s: %s", cfg.URL, resp.Status, strings.TrimSpace(string(msg)))
	return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode/100 == 5, err
}
