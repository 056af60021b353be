package syslog

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	gosyslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/octetcounting"
	"github.com/leodido/go-syslog/v4/rfc3164"
	"github.com/leodido/go-syslog/v4/rfc5424"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/promtail/ack"
	"github.com/sluicelog/sluice/promtail/config"
	"github.com/sluicelog/sluice/promtail/entry"
	"github.com/sluicelog/sluice/promtail/targets"
)

// Target is one syslog scrape config's listener.
type Target struct {
	cfg  config.SyslogConfig
	recv *targets.Receiver
	m    *Metrics
	log  *slog.Logger
	now  func() time.Time

	ln net.Listener   // tcp
	pc net.PacketConn // udp

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// New listens as cfg says (defaults applied); nothing is read until Run. Close releases the
// listener of a Target that will not Run.
func New(cfg config.SyslogConfig, recv *targets.Receiver, m *Metrics, log *slog.Logger) (*Target, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = config.Duration(config.DefaultSyslogIdleTimeout)
	}
	if cfg.MaxMessageLength <= 0 {
		cfg.MaxMessageLength = config.DefaultSyslogMaxMessageLength
	}
	t := &Target{cfg: cfg, recv: recv, m: m, log: log, now: time.Now, conns: map[net.Conn]struct{}{}}
	switch cfg.ListenProtocol {
	case "udp":
		pc, err := net.ListenPacket("udp", cfg.ListenAddress)
		if err != nil {
			return nil, fmt.Errorf("syslog listen udp %s: %w", cfg.ListenAddress, err)
		}
		if uc, ok := pc.(*net.UDPConn); ok {
			_ = uc.SetReadBuffer(1 << 20) // as promtail: room for bursts while the pipeline is busy.
		}
		t.pc = pc
	case "tcp", "":
		var tlsCfg *tls.Config
		if tc := cfg.TLSConfig; tc.CertFile != "" || tc.KeyFile != "" || tc.CAFile != "" {
			var err error
			if tlsCfg, err = serverTLS(tc); err != nil {
				return nil, fmt.Errorf("syslog tls_config: %w", err)
			}
		}
		ln, err := net.Listen("tcp", cfg.ListenAddress)
		if err != nil {
			return nil, fmt.Errorf("syslog listen tcp %s: %w", cfg.ListenAddress, err)
		}
		if tlsCfg != nil {
			ln = tls.NewListener(ln, tlsCfg)
		}
		t.ln = ln
	default:
		return nil, fmt.Errorf("syslog listen_protocol %q: want tcp or udp", cfg.ListenProtocol)
	}
	return t, nil
}

// serverTLS builds promtail's syslog TLS: the server certificate, and with ca_file, client
// certificates required and checked against it.
func serverTLS(tc config.TLSConfig) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(tc.CertFile, tc.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("load certificate: %w", err)
	}
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if tc.CAFile != "" {
		pem, err := os.ReadFile(tc.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no certificates", tc.CAFile)
		}
		c.ClientCAs, c.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return c, nil
}

// Addr is the address listened on.
func (t *Target) Addr() net.Addr {
	if t.pc != nil {
		return t.pc.LocalAddr()
	}
	return t.ln.Addr()
}

// Close releases the listener; Run does it itself when its context ends.
func (t *Target) Close() error {
	if t.pc != nil {
		return t.pc.Close()
	}
	return t.ln.Close()
}

// Run receives messages until ctx ends, then closes the listener and every connection and
// returns once no goroutine of the target is left.
func (t *Target) Run(ctx context.Context) {
	t.log.Info("syslog listening", "address", t.Addr().String(), "protocol", t.cfg.ListenProtocol, "format", t.cfg.SyslogFormat)
	stop := context.AfterFunc(ctx, t.shutdown)
	defer stop()
	if t.pc != nil {
		t.readPackets(ctx)
	} else {
		t.accept(ctx)
	}
	t.shutdown()
	t.wg.Wait()
}

func (t *Target) shutdown() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.closed = true
	_ = t.Close()
	for c := range t.conns {
		_ = c.Close()
	}
}

func (t *Target) accept(ctx context.Context) {
	delay := 5 * time.Millisecond
	for {
		c, err := t.ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait a little, as promtail does.
			t.log.Warn("accept syslog connection", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
			delay = min(2*delay, time.Second)
			continue
		}
		delay = 5 * time.Millisecond
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			_ = c.Close()
			return
		}
		t.conns[c] = struct{}{}
		t.wg.Add(1)
		t.mu.Unlock()
		go func() {
			defer t.wg.Done()
			t.serveConn(ctx, c)
			t.mu.Lock()
			delete(t.conns, c)
			t.mu.Unlock()
			_ = c.Close()
		}()
	}
}

// idleConn makes every read wait at most the idle timeout for data.
type idleConn struct {
	net.Conn
	timeout time.Duration
}

func (c idleConn) Read(b []byte) (int, error) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	return c.Conn.Read(b)
}

func (t *Target) serveConn(ctx context.Context, c net.Conn) {
	ip := ""
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		ip = a.IP.String()
	}
	base := t.connLabels(ctx, ip)
	r := idleConn{Conn: c, timeout: t.cfg.IdleTimeout.D()}
	if err := t.parseStream(ctx, r, base); err != nil && !errors.Is(err, io.EOF) {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.log.Debug("syslog connection idle, closed", "remote", c.RemoteAddr().String())
			return
		}
		if ctx.Err() == nil {
			t.m.parsingErrors.Inc()
			t.log.Debug("syslog connection", "remote", c.RemoteAddr().String(), "err", err)
		}
	}
}

// parseStream detects r's framing from its first byte and parses messages until r ends.
func (t *Target) parseStream(ctx context.Context, r io.Reader, base labels.Labels) error {
	br := bufio.NewReaderSize(r, 4096)
	first, err := br.Peek(1)
	if err != nil {
		return err
	}
	opts := []gosyslog.ParserOption{
		gosyslog.WithListener(func(res *gosyslog.Result) { t.handle(ctx, base, res) }),
		gosyslog.WithMaxMessageLength(t.cfg.MaxMessageLength),
		gosyslog.WithBestEffort(),
	}
	rfc3164Msgs := t.cfg.SyslogFormat == config.SyslogFormatRFC3164
	if rfc3164Msgs {
		// RFC 3164 timestamps have no year: take the current one rather than year 0.
		opts = append(opts, gosyslog.WithMachineOptions(rfc3164.WithYear(rfc3164.CurrentYear{})))
	}
	switch b := first[0]; {
	case b == '<':
		t.parseLines(br, func(res *gosyslog.Result) { t.handle(ctx, base, res) })
	case b >= '0' && b <= '9' && rfc3164Msgs:
		octetcounting.NewParserRFC3164(opts...).Parse(br)
	case b >= '0' && b <= '9':
		octetcounting.NewParser(opts...).Parse(br)
	default:
		return fmt.Errorf("unknown framing: first byte %q is neither '<' nor a digit", b)
	}
	return nil
}

// parseLines reads non-transparent framing, one message per line, and parses each line with
// the message parser (go-syslog's nontransparent parser would hold each message back until
// the next one starts, so the last message of a quiet sender would wait for the idle timeout).
// A line longer than max_message_length is a parsing error and skipped.
func (t *Target) parseLines(br *bufio.Reader, emit func(*gosyslog.Result)) {
	var m gosyslog.Machine
	if t.cfg.SyslogFormat == config.SyslogFormatRFC3164 {
		m = rfc3164.NewMachine(rfc3164.WithBestEffort(), rfc3164.WithYear(rfc3164.CurrentYear{}))
	} else {
		m = rfc5424.NewMachine(rfc5424.WithBestEffort())
	}
	var line []byte
	tooLong := false
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) > t.cfg.MaxMessageLength+2 {
			tooLong, line = true, line[:0]
		} else if !tooLong {
			line = append(line, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if tooLong {
			emit(&gosyslog.Result{Error: fmt.Errorf("message longer than max_message_length %d", t.cfg.MaxMessageLength)})
		} else if msg := bytes.TrimRight(line, "\r\n"); len(msg) > 0 {
			res, perr := m.Parse(msg)
			emit(&gosyslog.Result{Message: res, Error: perr})
		}
		if err != nil { // io.EOF, the idle timeout, or the connection closed.
			return
		}
		line, tooLong = line[:0], false
	}
}

// handle turns one parse result into an entry.
func (t *Target) handle(ctx context.Context, base labels.Labels, res *gosyslog.Result) {
	if ctx.Err() != nil {
		return
	}
	if res.Error != nil {
		var ne net.Error
		if errors.As(res.Error, &ne) && ne.Timeout() {
			return
		}
		t.m.parsingErrors.Inc()
		t.log.Debug("parse syslog message", "err", res.Error)
		return
	}
	if res.Message == nil {
		return
	}
	b := labels.NewBuilder(base)
	f, ok := t.describe(res.Message, b)
	if !ok {
		t.m.emptyMessages.Inc()
		return
	}
	ls, keep := t.recv.Labels(b)
	if !keep {
		return
	}
	ts := t.now()
	if t.cfg.UseIncomingTimestamp && f.ts != nil {
		ts = *f.ts
	}
	if err := t.recv.Send(ctx, entry.New(ls, "", f.line, ts.UnixNano(), ack.Ack{})); err != nil {
		return // ctx ended: shutting down.
	}
	t.m.entries.Inc()
}

// connLabels are the scrape config's labels and the sender's address and names.
func (t *Target) connLabels(ctx context.Context, ip string) labels.Labels {
	b := labels.NewScratchBuilder(len(t.cfg.Labels) + 2)
	for k, v := range t.cfg.Labels {
		b.Add(k, v)
	}
	b.Add(LabelConnectionIP, ip)
	b.Add(LabelConnectionHostname, lookupAddr(ctx, ip))
	b.Sort()
	return b.Labels()
}

// lookupAddr returns ip's reverse DNS names, comma-separated ("" when it has none or the
// lookup takes over two seconds).
func lookupAddr(ctx context.Context, ip string) string {
	if ip == "" {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	names, _ := net.DefaultResolver.LookupAddr(ctx, ip)
	return strings.Join(names, ",")
}
