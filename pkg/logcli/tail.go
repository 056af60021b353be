package logcli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gorilla/websocket"
)

// TailConn opens the /tail websocket for query from start on.
func (c *Client) TailConn(ctx context.Context, query string, delayFor time.Duration, limit int, start time.Time) (*websocket.Conn, error) {
	v := url.Values{}
	v.Set("query", query)
	v.Set("delay_for", strconv.Itoa(int(delayFor.Seconds())))
	v.Set("limit", strconv.Itoa(limit))
	v.Set("start", nanos(start))
	u := *c.base
	u.Path = u.Path + pathTail
	u.RawQuery = v.Encode()
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	default:
		u.Scheme = "ws"
	}
	if !c.cfg.Quiet {
		c.logger.Println(u.String())
	}
	d := websocket.Dialer{Proxy: c.proxy, TLSClientConfig: c.tls, HandshakeTimeout: 30 * time.Second}
	h := c.headers.Clone()
	conn, resp, err := d.DialContext(ctx, u.String(), h)
	if err != nil {
		if resp != nil {
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			if resp.StatusCode != http.StatusSwitchingProtocols {
				return nil, &HTTPError{StatusCode: resp.StatusCode, Status: resp.Status, Message: serverMessage(body), URL: u.String()}
			}
		}
		return nil, &ConnError{Addr: c.cfg.Addr, Err: err}
	}
	return conn, nil
}

// Tail follows the query live over the websocket and prints lines as they come, until ctx is
// cancelled. If the connection breaks it reconnects (up to 5 tries, 1s to 10s apart) from the
// last timestamp received, dropping the lines it already printed at that timestamp.
func (q *Query) Tail(ctx context.Context, c *Client, p *Printer) error {
	conn, err := c.TailConn(ctx, q.QueryString, q.DelayFor, q.Limit, q.Start)
	if err != nil {
		return fmt.Errorf("tail: %w", err)
	}
	if !q.Quiet {
		if len(q.IgnoreLabelsKey) > 0 {
			p.logf("Ignoring labels key: %v", q.IgnoreLabelsKey)
		}
		if len(q.ShowLabelsKey) > 0 {
			p.logf("Print only labels key: %v", q.ShowLabelsKey)
		}
	}
	w := bufio.NewWriter(p.Stdout)
	// last and seen track the newest timestamp printed and the lines printed at it. Only after a
	// reconnect (replaying) do they filter: before that, lines of different streams may arrive
	// slightly out of order and must all be printed.
	var last int64
	seen := map[string]bool{}
	replaying := false
	for {
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		var resp TailResponse
		err := conn.ReadJSON(&resp)
		stop()
		if err != nil {
			conn.Close()
			if ctx.Err() != nil {
				return nil
			}
			var ce *websocket.CloseError
			if errors.As(err, &ce) && ce.Code == websocket.CloseNormalClosure {
				return nil
			}
			p.logf("Remote websocket connection closed unexpectedly (%v). Connecting again.", err)
			conn, err = q.reconnect(ctx, c, p, time.Unix(0, last))
			if err != nil {
				return fmt.Errorf("tail: reconnect: %w", err)
			}
			replaying = true
			continue
		}
		for _, s := range resp.Streams {
			ls := s.Labels
			if len(q.ShowLabelsKey) > 0 {
				ls = keepNames(true, ls, q.ShowLabelsKey)
			}
			if len(q.IgnoreLabelsKey) > 0 {
				ls = keepNames(false, ls, q.IgnoreLabelsKey)
			}
			key := s.Labels.String()
			for _, e := range s.Entries {
				k := entryKey(key, e.Line)
				if replaying && (e.Timestamp < last || (e.Timestamp == last && seen[k])) {
					continue // already printed before the reconnect
				}
				if e.Timestamp > last {
					last = e.Timestamp
					clear(seen)
				}
				if e.Timestamp == last {
					seen[k] = true
				}
				if err := p.Output.FormatAndPrintln(w, time.Unix(0, e.Timestamp), ls, q.FixedLabelsLen, e.Line); err != nil {
					return fmt.Errorf("write output: %w", err)
				}
			}
		}
		if err := w.Flush(); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		if len(resp.DroppedEntries) > 0 {
			p.logf("Server dropped following entries due to slow client")
			for _, d := range resp.DroppedEntries {
				p.logf("%s %s", d.Timestamp, d.Labels)
			}
		}
	}
}

func (q *Query) reconnect(ctx context.Context, c *Client, p *Printer, from time.Time) (*websocket.Conn, error) {
	if from.UnixNano() == 0 {
		from = q.Start
	}
	wait := time.Second
	var err error
	for try := 0; try < 5; try++ {
		var conn *websocket.Conn
		if conn, err = c.TailConn(ctx, q.QueryString, q.DelayFor, q.Limit, from); err == nil {
			return conn, nil
		}
		p.logf("Error recreating tailing connection after unexpected close, will retry: %v", err)
		if serr := sleepCtx(ctx, wait); serr != nil {
			return nil, serr
		}
		wait = min(2*wait, 10*time.Second)
	}
	return nil, err
}
