package querier

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/iter"
	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
	"github.com/sluicelog/sluice/pkg/push"
	"github.com/sluicelog/sluice/pkg/tenant"
	"github.com/sluicelog/sluice/pkg/unsafestr"
)

// Internal routes of a process that runs an ingester (see pkg/api).
const (
	SelectLogsPath = "/ingester/select_logs"
	SeriesPath     = "/ingester/series"
)

// maxSeriesBytes bounds one ingester's answer to a series look-up.
const maxSeriesBytes = 256 << 20

// IngesterError is a remote ingester that could not answer: the query fails with HTTP 503
// rather than answer without that ingester's lines.
type IngesterError struct {
	Addr string
	Err  error
}

func (e *IngesterError) Error() string { return "ingester " + e.Addr + ": " + e.Err.Error() }
func (e *IngesterError) Unwrap() error { return e.Err }

// StatusCode makes the API answer 503 Service Unavailable.
func (e *IngesterError) StatusCode() int { return http.StatusServiceUnavailable }

// Remote asks the ingesters of other processes (target=write) over HTTP for what they hold in
// memory. Every address is asked, in parallel; if one cannot answer, the query fails.
type Remote struct {
	addrs  *addressSet
	within time.Duration
	client *http.Client
	now    func() time.Time
}

var _ Ingesters = (*Remote)(nil)

// NewRemote returns a client of the ingesters at addrs (host:port or dns+host:port). Queries
// whose range ends more than within ago are not sent (0 sends every query).
func NewRemote(addrs []string, within time.Duration) (*Remote, error) {
	set, err := newAddressSet(addrs)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		ResponseHeaderTimeout: 30 * time.Second,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
	}
	return &Remote{addrs: set, within: within, client: &http.Client{Transport: tr}, now: time.Now}, nil
}

// skip reports whether a range ending at end (exclusive) is older than what ingesters hold.
func (r *Remote) skip(end int64) bool {
	return r.within > 0 && end <= r.now().Add(-r.within).UnixNano()
}

// selector renders matchers as a stream selector.
func selector(ms []*labels.Matcher) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// post sends form to path on every address in parallel and returns their 200 responses, in
// address order. On any failure it closes every response and returns the first failure.
func (r *Remote) post(ctx context.Context, tenantID, path string, form url.Values) ([]*http.Response, []string, error) {
	addrs, err := r.addrs.get(ctx)
	if err != nil {
		return nil, nil, err
	}
	body := form.Encode()
	resps := make([]*http.Response, len(addrs))
	errs := make([]error, len(addrs))
	var wg sync.WaitGroup
	for i, addr := range addrs {
		wg.Go(func() { resps[i], errs[i] = r.post1(ctx, tenantID, addr, path, body) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, resp := range resps {
			if resp != nil {
				resp.Body.Close()
			}
		}
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		for _, e := range errs {
			if e != nil {
				return nil, nil, e
			}
		}
	}
	return resps, addrs, nil
}

func (r *Remote) post1(ctx context.Context, tenantID, addr, path, body string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+path, strings.NewReader(body))
	if err != nil {
		return nil, &IngesterError{Addr: addr, Err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(tenant.Header, tenantID)
	resp, err := r.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the address is in the message already
		}
		return nil, &IngesterError{Addr: addr, Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		line, _, _ := strings.Cut(strings.TrimSpace(string(msg)), "\n")
		return nil, &IngesterError{Addr: addr, Err: fmt.Errorf("%s %s: %s", path, resp.Status, line)}
	}
	return resp, nil
}

// SelectLogs implements Ingesters: the ingesters' entries, merged without duplicates (an
// ingester may hold a stream another holds too), with p's line filter applied here, since the
// ingesters apply only its needle.
func (r *Remote) SelectLogs(ctx context.Context, tenantID string, p logql.SelectLogParams) (iter.EntryIterator, error) {
	if p.End <= p.Start || r.skip(p.End) {
		return iter.Empty(), nil
	}
	form := url.Values{
		"selector":  {selector(p.Matchers)},
		"start":     {strconv.FormatInt(p.Start, 10)},
		"end":       {strconv.FormatInt(p.End, 10)},
		"direction": {p.Direction.String()},
	}
	if len(p.Needle) > 0 {
		form.Set("needle", string(p.Needle))
	}
	resps, addrs, err := r.post(ctx, tenantID, SelectLogsPath, form)
	if err != nil {
		return nil, err
	}
	its := make([]iter.EntryIterator, len(resps))
	for i, resp := range resps {
		its[i] = &remoteIterator{addr: addrs[i], body: resp.Body, frames: push.NewFrameReader(resp.Body),
			dir: p.Direction, filter: p.LineFilter, needle: p.Needle, parsed: map[string]stream{}}
	}
	return iter.MergeDedupe(its, p.Direction), nil
}

// Series implements Ingesters: the label sets of every ingester's answer, sorted and without
// duplicates.
func (r *Remote) Series(ctx context.Context, tenantID string, from, through int64, ms []*labels.Matcher) ([]labels.Labels, error) {
	if through <= from || r.skip(through) {
		return nil, nil
	}
	form := url.Values{"start": {strconv.FormatInt(from, 10)}, "end": {strconv.FormatInt(through, 10)}}
	if len(ms) > 0 {
		form.Set("match[]", selector(ms))
	}
	resps, addrs, err := r.post(ctx, tenantID, SeriesPath, form)
	if err != nil {
		return nil, err
	}
	var out []labels.Labels
	var first error
	for i, resp := range resps {
		var got []labels.Labels
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxSeriesBytes+1))
		resp.Body.Close()
		switch {
		case err != nil:
		case len(b) > maxSeriesBytes:
			err = fmt.Errorf("series answer over %d bytes", maxSeriesBytes)
		default:
			err = json.Unmarshal(b, &got)
		}
		if err != nil && first == nil {
			first = &IngesterError{Addr: addrs[i], Err: fmt.Errorf("%s: %w", SeriesPath, err)}
		}
		out = append(out, got...)
	}
	if first != nil {
		return nil, first
	}
	slices.SortFunc(out, labels.Compare)
	return slices.CompactFunc(out, labels.Equal), nil
}

// stream is a label set met in an ingester's answer, parsed once.
type stream struct {
	ls   labels.Labels
	hash uint64
}

// remoteIterator reads one ingester's frame sequence. Each frame holds consecutive entries of
// the answer, grouped by stream; merging a frame's streams restores their order.
type remoteIterator struct {
	addr   string
	body   io.ReadCloser
	frames *push.FrameReader
	dir    logproto.Direction
	filter func([]byte) bool
	needle []byte
	parsed map[string]stream

	cur  iter.EntryIterator // the current frame's entries
	err  error
	done bool
}

func (it *remoteIterator) Next() bool {
	for {
		if it.cur != nil {
			for it.cur.Next() {
				if it.keep(it.cur.At().Line) {
					return true
				}
			}
			it.cur.Close()
			it.cur = nil
		}
		if it.done || it.err != nil {
			return false
		}
		req, err := it.frames.Next()
		if errors.Is(err, io.EOF) {
			it.done = true
			return false
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			it.err = fmt.Errorf("ingester %s: %w", it.addr, err) // the query's end, not the ingester's
			return false
		}
		if err != nil {
			it.err = &IngesterError{Addr: it.addr, Err: fmt.Errorf("%s: %w", SelectLogsPath, err)}
			return false
		}
		if it.cur, err = it.frame(req); err != nil {
			it.err = &IngesterError{Addr: it.addr, Err: err}
			return false
		}
	}
}

func (it *remoteIterator) keep(line string) bool {
	switch {
	case it.filter != nil:
		return it.filter(unsafestr.Bytes(line))
	case len(it.needle) > 0:
		return bytes.Contains(unsafestr.Bytes(line), it.needle)
	}
	return true
}

func (it *remoteIterator) frame(req *logproto.PushRequest) (iter.EntryIterator, error) {
	its := make([]iter.EntryIterator, 0, len(req.Streams))
	for _, s := range req.Streams {
		st, ok := it.parsed[s.Labels]
		if !ok {
			ls, err := syntax.ParseLabels(s.Labels)
			if err != nil {
				return nil, fmt.Errorf("stream labels %q: %w", s.Labels, err)
			}
			st = stream{ls, ls.Hash()}
			it.parsed[strings.Clone(s.Labels)] = st
		}
		its = append(its, &sliceIterator{stream: st, entries: s.Entries, i: -1})
	}
	return iter.Merge(its, it.dir), nil
}

func (it *remoteIterator) At() *logproto.Entry   { return it.cur.At() }
func (it *remoteIterator) Labels() labels.Labels { return it.cur.Labels() }
func (it *remoteIterator) StreamHash() uint64    { return it.cur.StreamHash() }
func (it *remoteIterator) Err() error            { return it.err }
func (it *remoteIterator) Close() error {
	if it.cur != nil {
		it.cur.Close()
		it.cur = nil
	}
	return it.body.Close()
}

// sliceIterator walks one stream's entries of a frame, already in query order.
type sliceIterator struct {
	stream
	entries []logproto.Entry
	i       int
}

func (it *sliceIterator) Next() bool {
	it.i++
	return it.i < len(it.entries)
}
func (it *sliceIterator) At() *logproto.Entry   { return &it.entries[it.i] }
func (it *sliceIterator) Labels() labels.Labels { return it.ls }
func (it *sliceIterator) StreamHash() uint64    { return it.hash }
func (it *sliceIterator) Err() error            { return nil }
func (it *sliceIterator) Close() error          { return nil }
