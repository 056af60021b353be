package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
)

// Engine runs LogQL queries.
type Engine interface {
	Query(ctx context.Context, q QueryRequest) (*QueryResult, error)
}

// QueryRequest is a parsed query or query_range request.
type QueryRequest struct {
	Query      string
	Start, End time.Time
	Step       time.Duration
	Interval   time.Duration
	Direction  logproto.Direction
	Limit      int
	// Instant is true for /query: Start == End and metric queries return a vector.
	Instant bool
	// CategorizeLabels asks for structured metadata and parsed labels apart from stream labels
	// (header X-Loki-Response-Encoding-Flags: categorize-labels).
	CategorizeLabels bool
	// QueryTags is the X-Query-Tags header as sent ("Source=grafana"): blocked_queries may
	// match on it.
	QueryTags string
}

// Result types, as Loki names them in data.resultType.
const (
	ResultStreams = "streams"
	ResultMatrix  = "matrix"
	ResultVector  = "vector"
	ResultScalar  = "scalar"
)

// QueryResult is what a query returned.
type QueryResult struct {
	Type    string
	Streams []Stream
	Matrix  []Series
	Vector  []Sample
	Scalar  Point
	Stats   Stats
}

// Stream is one stream of a log query's result. Entries may carry StructuredMetadata and, with
// categorized labels, parsed labels (Entry.Parsed).
type Stream struct {
	Labels  labels.Labels
	Entries []Entry
}

// Entry is one line of a result.
type Entry struct {
	Timestamp          int64 // Unix ns
	Line               string
	StructuredMetadata labels.Labels
	Parsed             labels.Labels
}

// Series is one series of a matrix.
type Series struct {
	Metric labels.Labels
	Points []Point
}

// Point is a sample value at a time in Unix milliseconds.
type Point struct {
	T int64
	V float64
}

// Sample is one element of a vector.
type Sample struct {
	Metric labels.Labels
	Point
}

// Stats are the query statistics Grafana shows in its query inspector.
type Stats struct {
	ExecTime             time.Duration
	QueueTime            time.Duration
	TotalBytesProcessed  int64
	TotalLinesProcessed  int64
	TotalEntriesReturned int64
	PostFilterLines      int64
	Splits               int64
	Shards               int64
	ChunksRef            int64
	ChunksDownloaded     int64
	CompressedBytes      int64
	DecompressedBytes    int64
	DecompressedLines    int64
	HeadChunkBytes       int64
	HeadChunkLines       int64
	Duplicates           int64
}

const categorizeLabelsFlag = "categorize-labels"

func (a *API) parseQuery(r *http.Request, instant bool) (QueryRequest, error) {
	var q QueryRequest
	if err := r.ParseForm(); err != nil {
		return q, badParam("%v", err)
	}
	q.Instant = instant
	q.Query = r.Form.Get("query")
	if q.Query == "" {
		return q, badParam("query parameter is required")
	}
	var err error
	if q.Direction, err = parseDirection(r.Form.Get("direction")); err != nil {
		return q, err
	}
	if q.Limit, err = parseLimit(r.Form.Get("limit"), 100); err != nil {
		return q, err
	}
	now := a.d.Now()
	if instant {
		t, err := parseTime("time", r.Form.Get("time"), now)
		if err != nil {
			return q, err
		}
		q.Start, q.End = t, t
	} else {
		if q.Start, q.End, err = timeRange(r, now); err != nil {
			return q, err
		}
		q.Step = defaultStep(q.Start, q.End)
		if s := r.Form.Get("step"); s != "" {
			if q.Step, err = parseDurationOrSeconds("step", s); err != nil {
				return q, err
			}
		}
		// Loki refuses ranges that would yield more than 11,000 points per series.
		if q.End.Sub(q.Start)/q.Step > 11000 {
			return q, badParam("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")
		}
		if s := r.Form.Get("interval"); s != "" {
			if q.Interval, err = parseDurationOrSeconds("interval", s); err != nil {
				return q, err
			}
		}
	}
	q.QueryTags = r.Header.Get("X-Query-Tags")
	for _, v := range r.Header.Values("X-Loki-Response-Encoding-Flags") {
		for _, f := range strings.Split(v, ",") {
			if strings.TrimSpace(f) == categorizeLabelsFlag {
				q.CategorizeLabels = true
			}
		}
	}
	return q, nil
}

func (a *API) runQuery(w http.ResponseWriter, r *http.Request, instant bool) {
	q, err := a.parseQuery(r, instant)
	if err != nil {
		a.writeError(w, err)
		return
	}
	res, err := a.d.Engine.Query(r.Context(), q)
	if err != nil {
		a.writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	b := appendQueryResponse(make([]byte, 0, 4096), res, q.CategorizeLabels)
	w.Write(b)
}

func (a *API) queryRange(w http.ResponseWriter, r *http.Request) { a.runQuery(w, r, false) }
func (a *API) query(w http.ResponseWriter, r *http.Request)      { a.runQuery(w, r, true) }

// legacyQuery serves /api/prom/query: a log query over a range, answered in the legacy shape
// {"streams":[{"labels":"{..}","entries":[{"ts":"RFC3339Nano","line":".."}]}]}.
func (a *API) legacyQuery(w http.ResponseWriter, r *http.Request) {
	q, err := a.parseQuery(r, false)
	if err != nil {
		a.writeError(w, err)
		return
	}
	res, err := a.d.Engine.Query(r.Context(), q)
	if err != nil {
		a.writeError(w, err)
		return
	}
	if res.Type != ResultStreams {
		a.writeError(w, badParam("legacy endpoint only supports log queries"))
		return
	}
	type entry struct {
		TS   string `json:"ts"`
		Line string `json:"line"`
	}
	type stream struct {
		Labels  string  `json:"labels"`
		Entries []entry `json:"entries"`
	}
	out := struct {
		Streams []stream `json:"streams"`
	}{Streams: []stream{}}
	for _, s := range res.Streams {
		st := stream{Labels: s.Labels.String()}
		for _, e := range s.Entries {
			st.Entries = append(st.Entries, entry{TS: time.Unix(0, e.Timestamp).UTC().Format(time.RFC3339Nano), Line: e.Line})
		}
		out.Streams = append(out.Streams, st)
	}
	writeJSON(w, out)
}

// formatQuery serves /loki/api/v1/format_query: the query formatted as Loki formats it, broken
// over indented lines when longer than 100 characters (syntax.Pretty).
func (a *API) formatQuery(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		a.writeError(w, badParam("%v", err))
		return
	}
	expr, err := syntax.ParseExpr(r.Form.Get("query"))
	if err != nil {
		a.writeError(w, badParam("%v", err))
		return
	}
	writeJSON(w, struct {
		Status string `json:"status"`
		Data   string `json:"data"`
	}{"success", syntax.Pretty(expr)})
}
