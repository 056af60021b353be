package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
	"github.com/sluicelog/sluice/pkg/tail"
	"github.com/sluicelog/sluice/pkg/tenant"
)

// Tailer opens live tails (pkg/tail.Registry).
type Tailer interface {
	Subscribe(tenant, query string, delayFor time.Duration) (*tail.Subscription, error)
}

const (
	// tailMaxDelay is the largest delay_for Loki accepts, in seconds.
	tailMaxDelay = 5
	// tailBatch is the most entries one message carries, as in Loki's querier.
	tailBatch = 100
	// tailPingPeriod is how often an idle tail pings its client, as Loki does, so that a dead
	// connection is noticed even when no entries flow.
	tailPingPeriod = time.Second
	// tailWriteTimeout bounds one write: a client that takes no data for this long is gone.
	tailWriteTimeout = 30 * time.Second
	// tailSendBuffer caps the kernel's send buffer of a tail connection. A slow client then
	// shows up as dropped entries within a second or so instead of hiding megabytes in the
	// kernel; 256 KiB still carries a few MB/s over a 100 ms round trip.
	tailSendBuffer = 256 << 10
)

// tailRequest is a parsed /tail request.
type tailRequest struct {
	query      string
	limit      int
	start, end time.Time
	delay      time.Duration
	categorize bool
	legacy     bool // /api/prom/tail: the legacy message shape
}

func (a *API) parseTail(r *http.Request) (tailRequest, error) {
	var q tailRequest
	if err := r.ParseForm(); err != nil {
		return q, badParam("%v", err)
	}
	q.legacy = strings.HasPrefix(r.URL.Path, "/api/prom/")
	q.query = r.Form.Get("query")
	if q.query == "" {
		return q, badParam("query parameter is required")
	}
	expr, err := syntax.ParseExpr(q.query)
	if err != nil {
		return q, badParam("%v", err)
	}
	if _, ok := expr.(*syntax.LogSelector); !ok {
		return q, badParam("tailing only supports log queries: %s", q.query)
	}
	// The legacy regexp parameter adds a line filter, as Loki does for both paths.
	if re := r.Form.Get("regexp"); re != "" {
		q.query += " |~ " + strconv.Quote(re)
		if _, err := syntax.ParseExpr(q.query); err != nil {
			return q, badParam("%v", err)
		}
	}
	if q.limit, err = parseLimit(r.Form.Get("limit"), 100); err != nil {
		return q, err
	}
	if q.limit == 0 {
		return q, badParam("limit must be a positive value")
	}
	if q.start, q.end, err = timeRange(r, a.d.Now()); err != nil {
		return q, err
	}
	if v := r.Form.Get("delay_for"); v != "" {
		d, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return q, badParam("could not parse 'delay_for' parameter: %q is not a whole number of seconds", v)
		}
		if d > tailMaxDelay {
			return q, badParam("delay_for can't be greater than %d", tailMaxDelay)
		}
		q.delay = time.Duration(d) * time.Second
	}
	q.categorize = wantsCategorizedLabels(r)
	return q, nil
}

func wantsCategorizedLabels(r *http.Request) bool {
	for _, v := range r.Header.Values("X-Loki-Response-Encoding-Flags") {
		for _, f := range strings.Split(v, ",") {
			if strings.TrimSpace(f) == categorizeLabelsFlag {
				return true
			}
		}
	}
	return false
}

// tail serves /loki/api/v1/tail and /api/prom/tail: a websocket that first carries the last
// `limit` entries since `start`, then every new entry the query selects, until the client
// goes away, the tail reaches its maximum duration or the server stops.
func (a *API) tail(w http.ResponseWriter, r *http.Request) {
	if a.d.Tailer == nil {
		http.Error(w, "live tailing is not served by this process", http.StatusNotFound)
		return
	}
	q, err := a.parseTail(r)
	if err != nil {
		a.writeError(w, err)
		return
	}
	id, err := tenant.From(r.Context())
	if err != nil {
		a.writeError(w, err)
		return
	}
	// Subscribe before reading history, so that nothing pushed in between is missed; what
	// both return is sent once (see tailConn.sendLive).
	sub, err := a.d.Tailer.Subscribe(id, q.query, q.delay)
	if err != nil {
		a.writeError(w, err)
		return
	}
	defer sub.Close()
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered the client
	}
	defer conn.Close()
	// The HTTP server's read and write deadlines outlive the hijack; a tail sets its own.
	_ = conn.NetConn().SetDeadline(time.Time{})
	if tc, ok := conn.NetConn().(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(tailSendBuffer)
	}

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	readerDone := make(chan struct{})
	go func() {
		// Reading runs the ping, pong and close handlers; the client sends nothing else.
		defer close(readerDone)
		defer cancel()
		conn.SetReadLimit(64 << 10)
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()

	tc := &tailConn{api: a, conn: conn, req: q}
	err = tc.serve(ctx, sub, readerDone)
	switch {
	case err == nil:
	case errors.Is(err, tail.ErrClosed):
		tc.close(websocket.CloseGoingAway, err.Error())
	default:
		if ctx.Err() == nil {
			tc.close(websocket.CloseInternalServerErr, err.Error())
		}
	}
}

// tailConn writes one tail's messages.
type tailConn struct {
	api  *API
	conn *websocket.Conn
	req  tailRequest
	buf  []byte

	// seen holds the history's entries (at most limit), so that an entry both in the history
	// and among the live entries is sent once; only live entries up to histMax are looked up.
	seen    map[tailKey]struct{}
	histMax int64
}

type tailKey struct {
	labels uint64
	ts     int64
	line   string
}

// serve sends the history, then live entries until the client leaves (nil) or the
// subscription ends (its error).
func (t *tailConn) serve(ctx context.Context, sub *tail.Subscription, readerDone <-chan struct{}) error {
	if err := t.sendHistory(ctx); err != nil {
		return err
	}
	ping := time.NewTicker(tailPingPeriod)
	defer ping.Stop()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	batch := make([]tail.Entry, 0, tailBatch)
	for {
		entries, dropped, wait := sub.Take(time.Now(), tailBatch, batch[:0])
		if len(entries) > 0 || len(dropped) > 0 {
			if err := t.sendLive(entries, dropped); err != nil {
				return nil // the connection is gone; nobody to tell
			}
			clear(entries)
			continue
		}
		if wait >= 0 {
			timer.Reset(wait)
		}
		select {
		case <-sub.Wake():
		case <-timer.C:
		case <-ping.C:
			if err := t.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(tailWriteTimeout)); err != nil {
				return nil
			}
		case <-readerDone:
			return nil
		case <-sub.Done():
			return sub.Err()
		}
	}
}

// sendHistory sends the last `limit` entries from start to now, oldest first, as Loki does:
// a backward query whose result is reversed.
func (t *tailConn) sendHistory(ctx context.Context) error {
	q := t.req
	res, err := t.api.d.Engine.Query(ctx, QueryRequest{
		Query: q.query, Start: q.start, End: q.end, Direction: logproto.Backward,
		Limit: q.limit, CategorizeLabels: q.categorize,
	})
	if err != nil {
		return err
	}
	if res.Type != ResultStreams {
		return errors.New("tailing only supports log queries")
	}
	type ref struct{ s, e int }
	var all []ref
	for i, s := range res.Streams {
		for j := range s.Entries {
			all = append(all, ref{i, j})
		}
	}
	slices.SortStableFunc(all, func(x, y ref) int {
		tx, ty := res.Streams[x.s].Entries[x.e].Timestamp, res.Streams[y.s].Entries[y.e].Timestamp
		switch {
		case tx < ty:
			return -1
		case tx > ty:
			return 1
		}
		return 0
	})
	t.seen = map[tailKey]struct{}{}
	hashes := make([]uint64, len(res.Streams))
	for i, s := range res.Streams {
		hashes[i] = s.Labels.Hash()
	}
	for len(all) > 0 {
		n := min(len(all), tailBatch)
		var g streamGrouper
		for _, r := range all[:n] {
			s := &res.Streams[r.s]
			e := s.Entries[r.e]
			g.add(s.Labels, hashes[r.s], e)
			t.seen[tailKey{hashes[r.s], e.Timestamp, e.Line}] = struct{}{}
			t.histMax = max(t.histMax, e.Timestamp)
		}
		all = all[n:]
		if err := t.write(g.streams, nil); err != nil {
			return nil // the reader notices the broken connection
		}
	}
	return nil
}

// sendLive sends one batch of live entries and drops.
func (t *tailConn) sendLive(entries []tail.Entry, dropped []tail.Dropped) error {
	var g streamGrouper
	for _, e := range entries {
		ls := e.Labels.Labels()
		h := e.Labels.Hash()
		ent := Entry{Timestamp: e.Timestamp, Line: e.Line}
		if t.req.categorize {
			ls = e.Labels.Stream()
			h = ls.Hash()
			ent.StructuredMetadata = e.Labels.StructuredMetadata()
			ent.Parsed = e.Labels.Parsed()
		}
		if e.Timestamp <= t.histMax {
			if _, dup := t.seen[tailKey{h, e.Timestamp, e.Line}]; dup {
				continue
			}
		}
		g.add(ls, h, ent)
	}
	if len(g.streams) == 0 && len(dropped) == 0 {
		return nil
	}
	return t.write(g.streams, dropped)
}

func (t *tailConn) write(streams []Stream, dropped []tail.Dropped) error {
	if t.req.legacy {
		t.buf = appendLegacyTailResponse(t.buf[:0], streams, dropped)
	} else {
		t.buf = appendTailResponse(t.buf[:0], streams, dropped, t.req.categorize)
	}
	_ = t.conn.SetWriteDeadline(time.Now().Add(tailWriteTimeout))
	return t.conn.WriteMessage(websocket.TextMessage, t.buf)
}

// close sends a close message with reason, cut to what a control frame holds.
func (t *tailConn) close(code int, reason string) {
	const maxReason = 123 // 125 bytes of control frame payload minus the code
	if len(reason) > maxReason {
		reason = reason[:maxReason]
		for !utf8.ValidString(reason) {
			reason = reason[:len(reason)-1]
		}
	}
	_ = t.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
}

// streamGrouper gathers entries into streams by label set, keeping first-seen order.
type streamGrouper struct {
	streams []Stream
	hashes  []uint64
}

func (g *streamGrouper) add(ls labels.Labels, h uint64, e Entry) {
	for i := len(g.streams) - 1; i >= 0; i-- {
		if g.hashes[i] == h && labels.Equal(g.streams[i].Labels, ls) {
			g.streams[i].Entries = append(g.streams[i].Entries, e)
			return
		}
	}
	g.streams = append(g.streams, Stream{Labels: ls, Entries: []Entry{e}})
	g.hashes = append(g.hashes, h)
}

// appendTailResponse renders a tail message as Loki's v1 API does:
//
//	{"streams":[{"stream":{..},"values":[["<ns>","line"]]}],"dropped_entries":[{"timestamp":"<ns>","labels":{..}}]}
//
// with either field left out when empty.
func appendTailResponse(b []byte, streams []Stream, dropped []tail.Dropped, categorize bool) []byte {
	b = append(b, '{')
	if len(streams) > 0 {
		b = append(b, `"streams":`...)
		b = appendStreams(b, streams, categorize)
	}
	if len(dropped) > 0 {
		if len(streams) > 0 {
			b = append(b, ',')
		}
		b = append(b, `"dropped_entries":[`...)
		for i, d := range dropped {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"timestamp":"`...)
			b = strconv.AppendInt(b, d.Timestamp, 10)
			b = append(b, '"')
			if !d.Labels.IsEmpty() {
				b = append(b, `,"labels":`...)
				b = appendLabels(b, d.Labels)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendLegacyTailResponse renders a tail message of /api/prom/tail:
//
//	{"streams":[{"labels":"{..}","entries":[{"ts":"<RFC3339Nano>","line":".."}]}],"dropped_entries":[{"Timestamp":"<RFC3339Nano>","Labels":"{..}"}]}
//
// dropped_entries is null when there are none, as Loki writes it.
func appendLegacyTailResponse(b []byte, streams []Stream, dropped []tail.Dropped) []byte {
	b = append(b, `{"streams":[`...)
	for i, s := range streams {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"labels":`...)
		b = appendString(b, s.Labels.String())
		b = append(b, `,"entries":[`...)
		for j, e := range s.Entries {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"ts":"`...)
			b = time.Unix(0, e.Timestamp).UTC().AppendFormat(b, time.RFC3339Nano)
			b = append(b, `","line":`...)
			b = appendString(b, e.Line)
			b = append(b, '}')
		}
		b = append(b, "]}"...)
	}
	b = append(b, `],"dropped_entries":`...)
	if len(dropped) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, d := range dropped {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"Timestamp":"`...)
			b = time.Unix(0, d.Timestamp).UTC().AppendFormat(b, time.RFC3339Nano)
			b = append(b, `","Labels":`...)
			b = appendString(b, d.Labels.String())
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}
