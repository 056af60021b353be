package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// line is one entry to push: its time, text and optional structured metadata.
type line struct {
	at   time.Time
	text string
	meta map[string]string
}

// pushJSON pushes one stream with a JSON body and fails the test unless it is accepted.
func pushJSON(t testing.TB, base string, stream map[string]string, lines ...line) {
	t.Helper()
	values := make([][]any, 0, len(lines))
	for _, l := range lines {
		v := []any{strconv.FormatInt(l.at.UnixNano(), 10), l.text}
		if l.meta != nil {
			v = append(v, l.meta)
		}
		values = append(values, v)
	}
	body, _ := json.Marshal(map[string]any{"streams": []any{map[string]any{"stream": stream, "values": values}}})
	resp, err := http.Post(base+"/loki/api/v1/push", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("push %v: %d %s", stream, resp.StatusCode, msg)
	}
}

// get sends GET base+path?params with headers and returns the status and body.
func get(t testing.TB, base, path string, params url.Values, headers ...string) (int, []byte) {
	t.Helper()
	u := base + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// getJSON is get that expects 200 and decodes the body into v.
func getJSON(t testing.TB, base, path string, params url.Values, v any, headers ...string) []byte {
	t.Helper()
	status, body := get(t, base, path, params, headers...)
	if status != http.StatusOK {
		t.Fatalf("GET %s %v: %d %s", path, params, status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: decode %s: %v", path, body, err)
	}
	return body
}

// flush asks the server to flush the ingester to the store.
func flush(t testing.TB, base string) {
	t.Helper()
	resp, err := http.Post(base+"/flush", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("flush: %d", resp.StatusCode)
	}
}

func ns(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) }

// sample is one vector element of a query response.
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// series is one matrix element of a query response.
type series struct {
	Metric map[string]string `json:"metric"`
	Values [][2]any          `json:"values"`
}

type vectorResponse struct {
	Status string `json:"status"`
	Data   struct {
		ResultType string         `json:"resultType"`
		Result     []sample       `json:"result"`
		Stats      map[string]any `json:"stats"`
	} `json:"data"`
}

type matrixResponse struct {
	Status string `json:"status"`
	Data   struct {
		ResultType string   `json:"resultType"`
		Result     []series `json:"result"`
	} `json:"data"`
}
