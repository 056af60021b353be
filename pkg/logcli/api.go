package logcli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Loki's API paths.
const (
	pathQuery          = "/loki/api/v1/query"
	pathQueryRange     = "/loki/api/v1/query_range"
	pathLabels         = "/loki/api/v1/labels"
	pathLabelValues    = "/loki/api/v1/label/%s/values"
	pathSeries         = "/loki/api/v1/series"
	pathIndexStats     = "/loki/api/v1/index/stats"
	pathVolume         = "/loki/api/v1/index/volume"
	pathVolumeRange    = "/loki/api/v1/index/volume_range"
	pathDetectedFields = "/loki/api/v1/detected_fields"
	pathDetectedValues = "/loki/api/v1/detected_field/%s/values"
	pathTail           = "/loki/api/v1/tail"
	pathDelete         = "/loki/api/v1/delete"
	pathFormatQuery    = "/loki/api/v1/format_query"
)

// Direction is the order of a log query: "backward" (newest first, Loki's default) or "forward".
type Direction string

// Directions.
const (
	Backward Direction = "backward"
	Forward  Direction = "forward"
)

// RangeParams are the parameters of one query_range request.
type RangeParams struct {
	Query     string
	Limit     int
	Start     time.Time // inclusive
	End       time.Time // exclusive
	Direction Direction
	Step      time.Duration // 0: let the server choose
	Interval  time.Duration // 0: none
}

func nanos(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) }

// QueryRange runs /query_range.
func (c *Client) QueryRange(ctx context.Context, p RangeParams) (*QueryResponse, error) {
	v := url.Values{}
	v.Set("query", p.Query)
	v.Set("limit", strconv.Itoa(p.Limit))
	v.Set("start", nanos(p.Start))
	v.Set("end", nanos(p.End))
	v.Set("direction", string(p.Direction))
	if p.Step > 0 {
		v.Set("step", formatSeconds(p.Step))
	}
	if p.Interval > 0 {
		v.Set("interval", formatSeconds(p.Interval))
	}
	var resp QueryResponse
	if err := c.do(ctx, http.MethodGet, pathQueryRange, v, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// formatSeconds writes d as a number of seconds, the unit Loki reads a bare step in.
func formatSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// Query runs the instant /query at t.
func (c *Client) Query(ctx context.Context, query string, limit int, t time.Time, d Direction) (*QueryResponse, error) {
	v := url.Values{}
	v.Set("query", query)
	v.Set("limit", strconv.Itoa(limit))
	v.Set("time", nanos(t))
	v.Set("direction", string(d))
	var resp QueryResponse
	if err := c.do(ctx, http.MethodGet, pathQuery, v, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

func timeRange(start, end time.Time) url.Values {
	v := url.Values{}
	v.Set("start", nanos(start))
	v.Set("end", nanos(end))
	return v
}

// Labels lists label names seen between start and end.
func (c *Client) Labels(ctx context.Context, start, end time.Time, query string) ([]string, error) {
	v := timeRange(start, end)
	if query != "" {
		v.Set("query", query)
	}
	var resp LabelsResponse
	if err := c.do(ctx, http.MethodGet, pathLabels, v, &resp); err != nil {
		return nil, err
	}
	return resp.Data, nil
}

// LabelValues lists the values of label name seen between start and end.
func (c *Client) LabelValues(ctx context.Context, name string, start, end time.Time, query string) ([]string, error) {
	v := timeRange(start, end)
	if query != "" {
		v.Set("query", query)
	}
	var resp LabelsResponse
	if err := c.do(ctx, http.MethodGet, fmt.Sprintf(pathLabelValues, url.PathEscape(name)), v, &resp); err != nil {
		return nil, err
	}
	return resp.Data, nil
}

// Series lists the streams matching any of matchers between start and end.
func (c *Client) Series(ctx context.Context, matchers []string, start, end time.Time) ([]LabelSet, error) {
	v := timeRange(start, end)
	for _, m := range matchers {
		v.Add("match[]", m)
	}
	var resp SeriesResponse
	if err := c.do(ctx, http.MethodGet, pathSeries, v, &resp); err != nil {
		return nil, err
	}
	return resp.Data, nil
}

// IndexStats asks how much data the streams matching query hold between start and end.
func (c *Client) IndexStats(ctx context.Context, query string, start, end time.Time) (*IndexStats, error) {
	v := timeRange(start, end)
	v.Set("query", query)
	var resp IndexStats
	if err := c.do(ctx, http.MethodGet, pathIndexStats, v, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// VolumeParams are the parameters of /index/volume and /index/volume_range.
type VolumeParams struct {
	Query             string
	Start, End        time.Time
	Limit             int
	Step              time.Duration // volume_range only
	TargetLabels      []string
	AggregateByLabels bool
}

// Volume runs /index/volume (rangeQuery false, a vector) or /index/volume_range (a matrix).
func (c *Client) Volume(ctx context.Context, p VolumeParams, rangeQuery bool) (*QueryResponse, error) {
	v := timeRange(p.Start, p.End)
	v.Set("query", p.Query)
	v.Set("limit", strconv.Itoa(p.Limit))
	if len(p.TargetLabels) > 0 {
		v.Set("targetLabels", strings.Join(p.TargetLabels, ","))
	}
	if p.AggregateByLabels {
		v.Set("aggregateBy", "labels")
	} else {
		v.Set("aggregateBy", "series")
	}
	path := pathVolume
	if rangeQuery {
		path = pathVolumeRange
		if p.Step > 0 {
			v.Set("step", formatSeconds(p.Step))
		}
	}
	var resp QueryResponse
	if err := c.do(ctx, http.MethodGet, path, v, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// DetectedFieldsParams are the parameters of /detected_fields.
type DetectedFieldsParams struct {
	Query      string
	Start, End time.Time
	Limit      int
	LineLimit  int
	Step       time.Duration
}

func (p DetectedFieldsParams) values() url.Values {
	v := timeRange(p.Start, p.End)
	v.Set("query", p.Query)
	v.Set("limit", strconv.Itoa(p.Limit))
	v.Set("line_limit", strconv.Itoa(p.LineLimit))
	if p.Step > 0 {
		v.Set("step", formatSeconds(p.Step))
	}
	return v
}

// DetectedFields runs /detected_fields.
func (c *Client) DetectedFields(ctx context.Context, p DetectedFieldsParams) (*DetectedFieldsResponse, error) {
	var resp DetectedFieldsResponse
	if err := c.do(ctx, http.MethodGet, pathDetectedFields, p.values(), &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// DetectedFieldValues runs /detected_field/<name>/values.
func (c *Client) DetectedFieldValues(ctx context.Context, name string, p DetectedFieldsParams) (*DetectedFieldValuesResponse, error) {
	var resp DetectedFieldValuesResponse
	path := fmt.Sprintf(pathDetectedValues, url.PathEscape(name))
	if err := c.do(ctx, http.MethodGet, path, p.values(), &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// CreateDelete asks the compactor to delete the lines matching query between start and end
// (Unix seconds, as Loki's delete API reads them). maxInterval may be empty.
func (c *Client) CreateDelete(ctx context.Context, query string, start, end time.Time, maxInterval string) error {
	v := url.Values{}
	v.Set("query", query)
	if !start.IsZero() {
		v.Set("start", strconv.FormatInt(start.Unix(), 10))
	}
	if !end.IsZero() {
		v.Set("end", strconv.FormatInt(end.Unix(), 10))
	}
	if maxInterval != "" {
		v.Set("max_interval", maxInterval)
	}
	return c.do(ctx, http.MethodPost, pathDelete, v, nil)
}

// ListDeletes lists the tenant's delete requests.
func (c *Client) ListDeletes(ctx context.Context) ([]DeleteRequest, error) {
	var resp []DeleteRequest
	if err := c.do(ctx, http.MethodGet, pathDelete, url.Values{}, &resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// CancelDelete cancels delete request id; force cancels one that is already partly processed.
func (c *Client) CancelDelete(ctx context.Context, id string, force bool) error {
	v := url.Values{}
	v.Set("request_id", id)
	if force {
		v.Set("force", "true")
	}
	return c.do(ctx, http.MethodDelete, pathDelete, v, nil)
}

// FormatQuery asks the server to pretty-print a LogQL query (/format_query).
func (c *Client) FormatQuery(ctx context.Context, query string) (string, error) {
	v := url.Values{}
	v.Set("query", query)
	var resp struct {
		Status string `json:"status"`
		Data   string `json:"data"`
	}
	if err := c.do(ctx, http.MethodGet, pathFormatQuery, v, &resp); err != nil {
		return "", err
	}
	return resp.Data, nil
}
