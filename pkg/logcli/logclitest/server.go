// Package logclitest runs a small Loki-compatible HTTP server on 127.0.0.1 for logcli's tests
// and benchmarks. It serves Loki-shaped JSON from an in-memory list of entries and honours
// query_range's start (inclusive), end (exclusive), limit and direction exactly as Loki does.
//
// Queries are understood only as far as the tests need: a stream selector of equality matchers
// ({a="1", b="2"}, or {} for all), optionally followed by `|= "text"` line filters, and the
// metric form count_over_time(<selector>[<range>]), answered as one sample per stream at the end
// of the range (a matrix for query_range, a vector for query).
package logclitest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Entry is one stored log line.
type Entry struct {
	Labels    map[string]string
	Timestamp int64 // Unix ns
	Line      string
}

// Request is what the server recorded of one request.
type Request struct {
	Method string
	Path   string
	Query  map[string][]string
	Header http.Header
}

// Server is the fake Loki.
type Server struct {
	URL string

	mu       sync.Mutex
	srv      *httptest.Server
	entries  []stored // sorted by (timestamp, labels string, insertion)
	sorted   bool
	requests []Request
	deletes  []map[string]any
	// Intercept, when set, is called first for every request; if it returns true it has
	// answered and the request goes no further. It runs without the server's lock.
	Intercept func(w http.ResponseWriter, r *http.Request, n int) bool
	// MaxLimit, when positive, makes query_range refuse limits above it with a 400, as Loki's
	// max_entries_limit_per_query does.
	MaxLimit int
	// TailBreakAfter, when positive, makes the first tail connection drop abnormally after that
	// many entries, to exercise reconnection.
	TailBreakAfter int
	tailConns      int
}

type stored struct {
	Entry
	key string // the labels in selector form, for ordering and grouping
	seq int
}

// Start starts a server on 127.0.0.1 that stops when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{}
	mux := http.NewServeMux()
	mux.HandleFunc("/loki/api/v1/query_range", s.queryRange)
	mux.HandleFunc("/loki/api/v1/query", s.instant)
	mux.HandleFunc("/loki/api/v1/labels", s.labels)
	mux.HandleFunc("/loki/api/v1/label/{name}/values", s.labelValues)
	mux.HandleFunc("/loki/api/v1/series", s.series)
	mux.HandleFunc("/loki/api/v1/index/stats", s.indexStats)
	mux.HandleFunc("/loki/api/v1/index/volume", s.volume)
	mux.HandleFunc("/loki/api/v1/index/volume_range", s.volume)
	mux.HandleFunc("/loki/api/v1/detected_fields", s.detectedFields)
	mux.HandleFunc("/loki/api/v1/detected_field/{name}/values", s.detectedFieldValues)
	mux.HandleFunc("/loki/api/v1/delete", s.delete)
	mux.HandleFunc("/loki/api/v1/tail", s.tail)
	var n int
	var nmu sync.Mutex
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone()})
		intercept := s.Intercept
		s.mu.Unlock()
		nmu.Lock()
		n++
		i := n
		nmu.Unlock()
		if intercept != nil && intercept(w, r, i) {
			return
		}
		mux.ServeHTTP(w, r)
	}))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Close stops the server now.
func (s *Server) Close() { s.srv.Close() }

// Add stores entries.
func (s *Server) Add(entries ...Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range entries {
		s.entries = append(s.entries, stored{Entry: e, key: labelString(e.Labels), seq: len(s.entries)})
	}
	s.sorted = false
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Deletes returns the delete requests created so far.
func (s *Server) Deletes() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deletes)
}

func (s *Server) sortLocked() {
	if s.sorted {
		return
	}
	slices.SortStableFunc(s.entries, func(a, b stored) int {
		if c := cmp.Compare(a.Timestamp, b.Timestamp); c != 0 {
			return c
		}
		return cmp.Compare(a.key, b.key)
	})
	s.sorted = true
}

func labelString(ls map[string]string) string {
	names := make([]string, 0, len(ls))
	for k := range ls {
		names = append(names, k)
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k + "=" + strconv.Quote(ls[k]))
	}
	b.WriteByte('}')
	return b.String()
}

// query is a parsed test query.
type query struct {
	matchers map[string]string
	filters  []string
	metric   bool
}

func parseQuery(q string) (query, error) {
	var out query
	q = strings.TrimSpace(q)
	if rest, ok := strings.CutPrefix(q, "count_over_time("); ok {
		out.metric = true
		i := strings.LastIndex(rest, "[")
		if i < 0 || !strings.HasSuffix(rest, "])") {
			return out, fmt.Errorf("parse error: want count_over_time(<selector>[<range>])")
		}
		q = strings.TrimSpace(rest[:i])
	}
	if !strings.HasPrefix(q, "{") {
		return out, fmt.Errorf("parse error at line 1, col 1: syntax error: unexpected IDENTIFIER")
	}
	end := strings.Index(q, "}")
	if end < 0 {
		return out, fmt.Errorf("parse error: unclosed selector")
	}
	out.matchers = map[string]string{}
	for _, part := range strings.Split(q[1:end], ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		if !ok {
			return out, fmt.Errorf("parse error: bad matcher %q", part)
		}
		v, err := strconv.Unquote(strings.TrimSpace(val))
		if err != nil {
			return out, fmt.Errorf("parse error: bad matcher value %q", val)
		}
		out.matchers[strings.TrimSpace(name)] = v
	}
	rest := strings.TrimSpace(q[end+1:])
	for rest != "" {
		r, ok := strings.CutPrefix(rest, "|=")
		if !ok {
			return out, fmt.Errorf("parse error: unsupported pipeline %q", rest)
		}
		r = strings.TrimSpace(r)
		v, err := strconv.QuotedPrefix(r)
		if err != nil {
			return out, fmt.Errorf("parse error: bad filter %q", r)
		}
		f, _ := strconv.Unquote(v)
		out.filters = append(out.filters, f)
		rest = strings.TrimSpace(r[len(v):])
	}
	return out, nil
}

func (q query) match(e *stored) bool {
	for k, v := range q.matchers {
		if e.Labels[k] != v {
			return false
		}
	}
	for _, f := range q.filters {
		if !strings.Contains(e.Line, f) {
			return false
		}
	}
	return true
}

func badRequest(w http.ResponseWriter, msg string) {
	http.Error(w, msg, http.StatusBadRequest)
}

func parseNs(r *http.Request, name string, def int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid parameter %s=%q", name, v)
	}
	return n, nil
}

// selectEntries returns up to limit matching entries in [start, end) in direction order.
func (s *Server) selectEntries(q query, start, end int64, limit int, forward bool) []*stored {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sortLocked()
	lo, _ := slices.BinarySearchFunc(s.entries, start, func(e stored, t int64) int { return cmp.Compare(e.Timestamp, t) })
	hi, _ := slices.BinarySearchFunc(s.entries, end, func(e stored, t int64) int { return cmp.Compare(e.Timestamp, t) })
	var out []*stored
	add := func(i int) bool {
		e := &s.entries[i]
		if q.match(e) {
			out = append(out, e)
		}
		return limit > 0 && len(out) >= limit
	}
	if forward {
		for i := lo; i < hi; i++ {
			if add(i) {
				break
			}
		}
		return out
	}
	// Backward: newest first; among equal timestamps, still by labels ascending.
	for i := hi - 1; i >= lo; {
		j := i
		for j >= lo && s.entries[j].Timestamp == s.entries[i].Timestamp {
			j--
		}
		for k := j + 1; k <= i; k++ {
			if add(k) {
				return out
			}
		}
		i = j
	}
	return out
}

// writeStreams writes entries grouped by stream, in first-appearance order.
func writeStreams(b []byte, entries []*stored) []byte {
	order := []string{}
	groups := map[string][]*stored{}
	for _, e := range entries {
		if _, ok := groups[e.key]; !ok {
			order = append(order, e.key)
		}
		groups[e.key] = append(groups[e.key], e)
	}
	b = append(b, '[')
	for i, k := range order {
		if i > 0 {
			b = append(b, ',')
		}
		g := groups[k]
		lb, _ := json.Marshal(g[0].Labels)
		b = append(b, `{"stream":`...)
		b = append(b, lb...)
		b = append(b, `,"values":[`...)
		for j, e := range g {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `["`...)
			b = strconv.AppendInt(b, e.Timestamp, 10)
			b = append(b, `",`...)
			b = appendJSONString(b, e.Line)
			b = append(b, ']')
		}
		b = append(b, "]}"...)
	}
	return append(b, ']')
}

func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			js, _ := json.Marshal(s)
			return append(b, js...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

const statsJSON = `{"summary":{"bytesProcessedPerSecond":1000,"linesProcessedPerSecond":10,"totalBytesProcessed":100,"totalLinesProcessed":1,"execTime":0.1,"queueTime":0,"subqueries":0,"totalEntriesReturned":1,"splits":1,"shards":1},"querier":{"store":{"totalChunksRef":0}},"ingester":{"totalReached":1}}`

func writeResult(w http.ResponseWriter, resultType string, result []byte) {
	w.Header().Set("Content-Type", "application/json")
	b := make([]byte, 0, len(result)+len(statsJSON)+64)
	b = append(b, `{"status":"success","data":{"resultType":"`...)
	b = append(b, resultType...)
	b = append(b, `","result":`...)
	b = append(b, result...)
	b = append(b, `,"stats":`...)
	b = append(b, statsJSON...)
	b = append(b, "}}"...)
	w.Write(b)
}

func (s *Server) queryRange(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r.URL.Query().Get("query"))
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	start, err1 := parseNs(r, "start", time.Now().Add(-time.Hour).UnixNano())
	end, err2 := parseNs(r, "end", time.Now().UnixNano())
	limit, err3 := strconv.Atoi(cmp.Or(r.URL.Query().Get("limit"), "100"))
	for _, err := range []error{err1, err2, err3} {
		if err != nil {
			badRequest(w, err.Error())
			return
		}
	}
	if s.MaxLimit > 0 && limit > s.MaxLimit {
		badRequest(w, fmt.Sprintf("max entries limit per query exceeded, limit > max_entries_limit (%d > %d)", limit, s.MaxLimit))
		return
	}
	if q.metric {
		s.writeCounts(w, q, start, end, true)
		return
	}
	forward := r.URL.Query().Get("direction") == "forward"
	entries := s.selectEntries(q, start, end, limit, forward)
	writeResult(w, "streams", writeStreams(nil, entries))
}

// writeCounts answers count_over_time with one sample per stream at end.
func (s *Server) writeCounts(w http.ResponseWriter, q query, start, end int64, matrix bool) {
	counts := map[string]int{}
	labels := map[string]map[string]string{}
	for _, e := range s.selectEntries(q, start, end, 0, true) {
		counts[e.key]++
		labels[e.key] = e.Labels
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	ts := strconv.FormatFloat(float64(end/1e6)/1000, 'f', -1, 64)
	var b []byte
	b = append(b, '[')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		lb, _ := json.Marshal(labels[k])
		if matrix {
			b = fmt.Appendf(b, `{"metric":%s,"values":[[%s,"%d"]]}`, lb, ts, counts[k])
		} else {
			b = fmt.Appendf(b, `{"metric":%s,"value":[%s,"%d"]}`, lb, ts, counts[k])
		}
	}
	b = append(b, ']')
	if matrix {
		writeResult(w, "matrix", b)
	} else {
		writeResult(w, "vector", b)
	}
}

func (s *Server) instant(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r.URL.Query().Get("query"))
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	at, err := parseNs(r, "time", time.Now().UnixNano())
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	if q.metric {
		s.writeCounts(w, q, at-int64(time.Hour), at, false)
		return
	}
	limit, _ := strconv.Atoi(cmp.Or(r.URL.Query().Get("limit"), "100"))
	forward := r.URL.Query().Get("direction") == "forward"
	writeResult(w, "streams", writeStreams(nil, s.selectEntries(q, at-int64(time.Hour), at+1, limit, forward)))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (s *Server) streamsIn(r *http.Request) ([]map[string]string, error) {
	start, err := parseNs(r, "start", 0)
	if err != nil {
		return nil, err
	}
	end, err := parseNs(r, "end", 1<<62)
	if err != nil {
		return nil, err
	}
	var q query
	for _, m := range r.URL.Query()["match[]"] {
		if q, err = parseQuery(m); err != nil {
			return nil, err
		}
	}
	if sel := r.URL.Query().Get("query"); sel != "" {
		if q, err = parseQuery(sel); err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	var out []map[string]string
	for _, e := range s.selectEntries(q, start, end, 0, true) {
		if !seen[e.key] {
			seen[e.key] = true
			out = append(out, e.Labels)
		}
	}
	slices.SortFunc(out, func(a, b map[string]string) int { return cmp.Compare(labelString(a), labelString(b)) })
	return out, nil
}

func (s *Server) labels(w http.ResponseWriter, r *http.Request) {
	streams, err := s.streamsIn(r)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	names := map[string]bool{}
	for _, ls := range streams {
		for k := range ls {
			names[k] = true
		}
	}
	out := []string{}
	for k := range names {
		out = append(out, k)
	}
	slices.Sort(out)
	writeJSON(w, map[string]any{"status": "success", "data": out})
}

func (s *Server) labelValues(w http.ResponseWriter, r *http.Request) {
	streams, err := s.streamsIn(r)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	name := r.PathValue("name")
	vals := map[string]bool{}
	for _, ls := range streams {
		if v, ok := ls[name]; ok {
			vals[v] = true
		}
	}
	out := []string{}
	for v := range vals {
		out = append(out, v)
	}
	slices.Sort(out)
	writeJSON(w, map[string]any{"status": "success", "data": out})
}

func (s *Server) series(w http.ResponseWriter, r *http.Request) {
	if len(r.URL.Query()["match[]"]) == 0 {
		badRequest(w, "at least one match[] argument must be provided")
		return
	}
	streams, err := s.streamsIn(r)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	if streams == nil {
		streams = []map[string]string{}
	}
	writeJSON(w, map[string]any{"status": "success", "data": streams})
}

func (s *Server) indexStats(w http.ResponseWriter, r *http.Request) {
	streams, err := s.streamsIn(r)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	q, _ := parseQuery(r.URL.Query().Get("query"))
	start, _ := parseNs(r, "start", 0)
	end, _ := parseNs(r, "end", 1<<62)
	entries := s.selectEntries(q, start, end, 0, true)
	bytes := 0
	for _, e := range entries {
		bytes += len(e.Line)
	}
	writeJSON(w, map[string]any{"streams": len(streams), "chunks": len(streams), "bytes": bytes, "entries": len(entries)})
}

func (s *Server) volume(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r.URL.Query().Get("query"))
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	start, _ := parseNs(r, "start", 0)
	end, _ := parseNs(r, "end", 1<<62)
	targets := strings.Split(r.URL.Query().Get("targetLabels"), ",")
	byKey := map[string]int{}
	metric := map[string]map[string]string{}
	for _, e := range s.selectEntries(q, start, end, 0, true) {
		m := map[string]string{}
		for _, t := range targets {
			if v, ok := e.Labels[t]; ok {
				m[t] = v
			}
		}
		if targets[0] == "" {
			m = e.Labels
		}
		k := labelString(m)
		byKey[k] += len(e.Line)
		metric[k] = m
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	ts := strconv.FormatFloat(float64(end/1e6)/1000, 'f', -1, 64)
	b := []byte{'['}
	rangeQuery := strings.HasSuffix(r.URL.Path, "_range")
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		lb, _ := json.Marshal(metric[k])
		if rangeQuery {
			b = fmt.Appendf(b, `{"metric":%s,"values":[[%s,"%d"]]}`, lb, ts, byKey[k])
		} else {
			b = fmt.Appendf(b, `{"metric":%s,"value":[%s,"%d"]}`, lb, ts, byKey[k])
		}
	}
	b = append(b, ']')
	if rangeQuery {
		writeResult(w, "matrix", b)
	} else {
		writeResult(w, "vector", b)
	}
}

// detectedFields reports the logfmt keys of the matching lines.
func (s *Server) detectedFields(w http.ResponseWriter, r *http.Request) {
	fields := s.logfmtFields(r)
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	slices.Sort(names)
	out := []map[string]any{}
	for _, k := range names {
		typ := "string"
		allInt := true
		for v := range fields[k] {
			if _, err := strconv.Atoi(v); err != nil {
				allInt = false
			}
		}
		if allInt {
			typ = "int"
		}
		out = append(out, map[string]any{"label": k, "type": typ, "cardinality": len(fields[k]), "parsers": []string{"logfmt"}})
	}
	writeJSON(w, map[string]any{"fields": out, "limit": 1000})
}

func (s *Server) detectedFieldValues(w http.ResponseWriter, r *http.Request) {
	vals := []string{}
	for v := range s.logfmtFields(r)[r.PathValue("name")] {
		vals = append(vals, v)
	}
	slices.Sort(vals)
	writeJSON(w, map[string]any{"values": vals, "limit": 1000})
}

func (s *Server) logfmtFields(r *http.Request) map[string]map[string]bool {
	q, _ := parseQuery(r.URL.Query().Get("query"))
	start, _ := parseNs(r, "start", 0)
	end, _ := parseNs(r, "end", 1<<62)
	fields := map[string]map[string]bool{}
	for _, e := range s.selectEntries(q, start, end, 0, true) {
		for _, kv := range strings.Fields(e.Line) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				continue
			}
			if fields[k] == nil {
				fields[k] = map[string]bool{}
			}
			fields[k][v] = true
		}
	}
	return fields
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Method {
	case http.MethodPost:
		q := r.URL.Query()
		if q.Get("query") == "" {
			http.Error(w, "query not set", http.StatusBadRequest)
			return
		}
		start, _ := strconv.ParseFloat(q.Get("start"), 64)
		end, _ := strconv.ParseFloat(cmp.Or(q.Get("end"), "0"), 64)
		s.deletes = append(s.deletes, map[string]any{
			"request_id": fmt.Sprintf("req%d", len(s.deletes)+1), "query": q.Get("query"),
			"start_time": start, "end_time": end, "status": "received", "created_at": 1700000000.5,
		})
		w.WriteHeader(http.StatusNoContent)
	case http.MethodGet:
		list := s.deletes
		if list == nil {
			list = []map[string]any{}
		}
		writeJSON(w, list)
	case http.MethodDelete:
		id := r.URL.Query().Get("request_id")
		for i, d := range s.deletes {
			if d["request_id"] == id {
				s.deletes = slices.Delete(s.deletes, i, i+1)
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		http.Error(w, "could not find delete request with given id", http.StatusNotFound)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

var upgrader = websocket.Upgrader{}

// tail sends the stored entries from start on, oldest first, one message per entry, and then
// closes the connection normally.
func (s *Server) tail(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r.URL.Query().Get("query"))
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	start, err := parseNs(r, "start", 0)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	s.mu.Lock()
	s.tailConns++
	breakAfter := 0
	if s.tailConns == 1 {
		breakAfter = s.TailBreakAfter
	}
	s.mu.Unlock()
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	for i, e := range s.selectEntries(q, start, 1<<62, 0, true) {
		if breakAfter > 0 && i == breakAfter {
			return // drop the connection without a close frame
		}
		msg := writeStreams([]byte(`{"streams":`), []*stored{e})
		msg = append(msg, `,"dropped_entries":null}`...)
		if err := conn.WriteMessage(websocket.TextMessage, msg); err != nil {
			return
		}
	}
	conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
}
