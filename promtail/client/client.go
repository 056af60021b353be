// Package client batches entries and pushes them to a Loki-compatible server as promtail does:
// snappy-compressed protobuf to POST <url>, one batch per tenant, sent when it reaches
// batchsize bytes or is batchwait old.
//
// A batch is retried with exponential backoff on connection errors, 429 and 5xx answers, and
// given up (counted as dropped) on any other 4xx or after max_retries attempts. The send runs
// inside the client's only goroutine, so while a batch is being retried the client stops
// taking entries and the readers feeding it block: memory stays bounded by one batch per tenant
// plus the channel buffer. Each entry's Ack is finished once its batch was answered 2xx or
// given up, never before, so read positions only advance over stored lines.
package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"

	"github.com/sluicelog/sluice/pkg/push"
	"github.com/sluicelog/sluice/promtail/config"
	"github.com/sluicelog/sluice/promtail/entry"
)

// UserAgent is sent with every push.
const UserAgent = "promtail/3.5.0 (sluice)"

// Client sends to one URL.
type Client struct {
	cfg      config.ClientConfig
	log      *slog.Logger
	m        *Metrics
	host     string
	http     *http.Client
	external model.LabelSet
	entries  chan entry.Entry

	sendCtx    context.Context
	sendCancel context.CancelFunc
	done       chan struct{}
	stopOnce   sync.Once

	keys map[string]string // entry key → key with external labels.

	// The run goroutine sends one batch at a time, so it reuses the encoder's buffers and the
	// batches it has sent (free).
	enc  push.Encoder
	free []*batch

	afterBatch func()
}

// AfterBatch sets f to run after each batch's Acks were finished (before the next batch is
// sent); the agent saves the positions file there, so a crash re-sends at most the batch in
// flight. Set it before the first entry.
func (c *Client) AfterBatch(f func()) { c.afterBatch = f }

// New builds a client and starts its goroutine; Stop ends it.
func New(cfg config.ClientConfig, m *Metrics, log *slog.Logger) (*Client, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("client url %q: not an absolute URL", cfg.URL)
	}
	tr, err := transport(cfg)
	if err != nil {
		return nil, fmt.Errorf("client %s: %w", u.Host, err)
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = config.DefaultBatchSize
	}
	if cfg.BatchWait <= 0 {
		cfg.BatchWait = config.Duration(config.DefaultBatchWait)
	}
	if cfg.Backoff.MaxRetries <= 0 {
		cfg.Backoff.MaxRetries = config.DefaultMaxRetries
	}
	if cfg.Backoff.MinPeriod <= 0 {
		cfg.Backoff.MinPeriod = config.Duration(config.DefaultMinBackoff)
	}
	if cfg.Backoff.MaxPeriod < cfg.Backoff.MinPeriod {
		cfg.Backoff.MaxPeriod = cfg.Backoff.MinPeriod
	}
	c := &Client{
		cfg:     cfg,
		log:     log.With("client", u.Host),
		m:       m,
		host:    u.Host,
		http:    &http.Client{Transport: tr, Timeout: cfg.Timeout.D()},
		entries: make(chan entry.Entry, 1024),
		done:    make(chan struct{}),
		keys:    map[string]string{},
	}
	if len(cfg.ExternalLabels) > 0 {
		c.external = model.LabelSet{}
		for k, v := range cfg.ExternalLabels {
			c.external[model.LabelName(k)] = model.LabelValue(v)
		}
	}
	c.sendCtx, c.sendCancel = context.WithCancel(context.Background())
	go c.run()
	return c, nil
}

// Chan is where entries are handed to the client; a send blocks while the client is busy
// retrying a batch. Do not send after Stop.
func (c *Client) Chan() chan<- entry.Entry { return c.entries }

// Name identifies the client in logs and metrics.
func (c *Client) Name() string { return c.host }

// Stop flushes the pending batches and returns once they are sent or ctx ends; batches that
// could not be sent by then are abandoned without finishing their Acks, so their lines are
// read again on the next start. No entry may be sent on Chan after Stop was called.
func (c *Client) Stop(ctx context.Context) {
	c.stopOnce.Do(func() { close(c.entries) })
	select {
	case <-c.done:
	case <-ctx.Done():
		c.sendCancel()
		<-c.done
	}
	c.sendCancel()
}

func (c *Client) run() {
	defer close(c.done)
	batches := map[string]*batch{}
	wait := c.cfg.BatchWait.D()
	check := wait / 10
	if check < 10*time.Millisecond {
		check = 10 * time.Millisecond
	}
	tick := time.NewTicker(check)
	defer tick.Stop()
	for {
		select {
		case e, ok := <-c.entries:
			if !ok {
				for tenant, b := range batches {
					c.send(tenant, b)
				}
				return
			}
			tenant := c.cfg.TenantID
			if t, ok := e.Label(entry.ReservedLabelTenantID); ok && t != "" {
				tenant = t
			}
			b := batches[tenant]
			if b != nil && b.entries > 0 && b.bytes+entrySize(&e) > c.cfg.BatchSize {
				c.send(tenant, b)
				c.free = append(c.free, b)
				b = nil
			}
			if b == nil {
				b = c.newBatch(time.Now())
				batches[tenant] = b
			}
			b.add(&e, c.key(&e))
		case now := <-tick.C:
			for tenant, b := range batches {
				if now.Sub(b.created) >= wait {
					c.send(tenant, b)
					delete(batches, tenant)
					c.free = append(c.free, b)
				}
			}
		}
	}
}

// newBatch returns an empty batch, reusing one already sent when there is one.
func (c *Client) newBatch(now time.Time) *batch {
	if n := len(c.free); n > 0 {
		b := c.free[n-1]
		c.free = c.free[:n-1]
		b.reset(now)
		return b
	}
	return newBatch(now)
}

// key returns the stream labels with the client's external labels (entry labels win).
func (c *Client) key(e *entry.Entry) string {
	k := e.Key()
	if c.external == nil {
		return k
	}
	if v, ok := c.keys[k]; ok {
		return v
	}
	l := c.external.Clone()
	for n, v := range e.Labels() {
		if n != entry.ReservedLabelTenantID {
			l[n] = v
		}
	}
	v := l.String()
	if len(c.keys) > 10000 {
		clear(c.keys)
	}
	c.keys[k] = v
	return v
}

// send pushes one batch, retrying as configured, then finishes its Acks; when the client is
// stopped mid-retry it returns without finishing them.
func (c *Client) send(tenant string, b *batch) {
	body := c.enc.Encode(b.request())
	c.m.EncodedBytes.WithLabelValues(c.host).Add(float64(len(body)))
	backoff := c.cfg.Backoff.MinPeriod.D()
	for attempt := 1; ; attempt++ {
		status, err := c.post(tenant, body)
		switch {
		case err == nil && status/100 == 2:
			c.m.SentBytes.WithLabelValues(c.host).Add(float64(b.bytes))
			c.m.SentEntries.WithLabelValues(c.host).Add(float64(b.entries))
			b.done()
			if c.afterBatch != nil {
				c.afterBatch()
			}
			return
		case errors.Is(err, context.Canceled) || c.sendCtx.Err() != nil:
			c.log.Warn("batch abandoned at shutdown; its lines will be read again", "tenant", tenant, "entries", b.entries)
			return
		}
		// status 0 is a connection error or timeout: the server may not have seen the batch.
		retryable := status == 0 || status == http.StatusTooManyRequests || status/100 == 5
		if status == http.StatusTooManyRequests && c.cfg.DropRateLimitedBatches {
			retryable = false
		}
		if !retryable || attempt >= c.cfg.Backoff.MaxRetries {
			reason := "max_retries"
			if !retryable {
				reason = "ingester_error"
				if status == http.StatusTooManyRequests {
					reason = "rate_limited"
				}
			}
			c.log.Error("dropping batch", "tenant", tenant, "entries", b.entries, "status", status, "err", err, "attempts", attempt)
			c.m.DroppedBytes.WithLabelValues(c.host, reason).Add(float64(b.bytes))
			c.m.DroppedEntries.WithLabelValues(c.host, reason).Add(float64(b.entries))
			b.done()
			if c.afterBatch != nil {
				c.afterBatch()
			}
			return
		}
		c.m.Retries.WithLabelValues(c.host).Inc()
		c.log.Warn("retrying batch", "tenant", tenant, "status", status, "err", err, "attempt", attempt, "backoff", backoff)
		// Sleep between half and all of the current backoff, so many agents hitting one
		// recovering server do not retry in lockstep.
		d := backoff/2 + time.Duration(rand.Int64N(int64(backoff/2)+1))
		select {
		case <-time.After(d):
		case <-c.sendCtx.Done():
			c.log.Warn("batch abandoned at shutdown; its lines will be read again", "tenant", tenant, "entries", b.entries)
			return
		}
		backoff *= 2
		if max := c.cfg.Backoff.MaxPeriod.D(); backoff > max {
			backoff = max
		}
	}
}

// post makes one push request and returns its status code.
func (c *Client) post(tenant string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(c.sendCtx, http.MethodPost, c.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("build push request: %w", err)
	}
	req.Header.Set("Content-Type", push.ContentTypeProto)
	req.Header.Set("User-Agent", UserAgent)
	if tenant != "" {
		req.Header.Set("X-Scope-OrgID", tenant)
	}
	for k, v := range c.cfg.Headers {
		req.Header.Set(k, v)
	}
	if err := c.authorize(req); err != nil {
		return 0, err
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.m.RequestSeconds.WithLabelValues("error", c.host).Observe(time.Since(start).Seconds())
		return 0, fmt.Errorf("push to %s: %w", c.host, err)
	}
	c.m.RequestSeconds.WithLabelValues(strconv.Itoa(resp.StatusCode), c.host).Observe(time.Since(start).Seconds())
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("server returned %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	return resp.StatusCode, nil
}

// authorize adds basic auth or a bearer token. Files are read on every request so rotated
// credentials are picked up.
func (c *Client) authorize(req *http.Request) error {
	if ba := c.cfg.BasicAuth; ba != nil {
		pw := ba.Password
		if ba.PasswordFile != "" {
			b, err := os.ReadFile(ba.PasswordFile)
			if err != nil {
				return fmt.Errorf("read basic auth password file: %w", err)
			}
			pw = strings.TrimSpace(string(b))
		}
		req.SetBasicAuth(ba.Username, pw)
	}
	token, typ := c.cfg.BearerToken, "Bearer"
	file := c.cfg.BearerTokenFile
	if a := c.cfg.Authorization; a != nil {
		token, file = a.Credentials, a.CredentialsFile
		if a.Type != "" {
			typ = a.Type
		}
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("read bearer token file: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if token != "" {
		req.Header.Set("Authorization", typ+" "+token)
	}
	return nil
}
