package syslog

import (
	"bytes"
	"context"
	"errors"
	"net"

	"github.com/prometheus/prometheus/model/labels"
)

// maxSenders bounds the per-sender label cache of a UDP listener.
const maxSenders = 4096

// readPackets parses each datagram on its own, with the framing its first byte shows. A
// datagram longer than max_message_length is cut there, as in promtail.
func (t *Target) readPackets(ctx context.Context) {
	buf := make([]byte, t.cfg.MaxMessageLength)
	senders := map[string]labels.Labels{}
	for {
		n, addr, err := t.pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			t.log.Warn("read syslog datagram", "err", err)
			continue
		}
		if n == 0 {
			continue
		}
		ip := ""
		if a, ok := addr.(*net.UDPAddr); ok {
			ip = a.IP.String()
		}
		base, ok := senders[ip]
		if !ok {
			if len(senders) >= maxSenders {
				clear(senders)
			}
			base = t.connLabels(ctx, ip)
			senders[ip] = base
		}
		// The parsers keep no reference to the datagram once Parse returns.
		if err := t.parseStream(ctx, bytes.NewReader(buf[:n]), base); err != nil && ctx.Err() == nil {
			t.m.parsingErrors.Inc()
			t.log.Debug("parse syslog datagram", "remote", addr.String(), "err", err)
		}
	}
}
