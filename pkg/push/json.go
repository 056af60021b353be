package push

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
)

// jsonRequest is Loki's JSON push body. A stream is either the current form
// ({"stream": {..}, "values": [["<ns>", "line", {metadata}], ..]}) or the legacy form of
// /api/prom/push ({"labels": "{..}", "entries": [{"ts": "<RFC3339>", "line": ".."}]}).
type jsonRequest struct {
	Streams []jsonStream `json:"streams"`
}

type jsonStream struct {
	Stream  map[string]string   `json:"stream"`
	Values  [][]json.RawMessage `json:"values"`
	Labels  *string             `json:"labels"`
	Entries []jsonLegacyEntry   `json:"entries"`
}

type jsonLegacyEntry struct {
	Timestamp *string `json:"ts"`
	Line      string  `json:"line"`
}

// UnmarshalJSON decodes a JSON push body into req, appending to req.Streams.
func UnmarshalJSON(b []byte, req *logproto.PushRequest) error {
	var jr jsonRequest
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&jr); err != nil {
		return malformed("json: %v", err)
	}
	for i, js := range jr.Streams {
		s, err := js.toStream()
		if err != nil {
			return fmt.Errorf("stream %d: %w", i, err)
		}
		req.Streams = append(req.Streams, s)
	}
	return nil
}

func (js *jsonStream) toStream() (logproto.Stream, error) {
	var s logproto.Stream
	if js.Labels != nil {
		s.Labels = *js.Labels
	} else {
		s.Labels = labels.FromMap(js.Stream).String()
	}
	s.Entries = make([]logproto.Entry, 0, len(js.Values)+len(js.Entries))
	for _, v := range js.Values {
		e, err := jsonValue(v)
		if err != nil {
			return s, fmt.Errorf("stream %s: %w", s.Labels, err)
		}
		s.Entries = append(s.Entries, e)
	}
	for _, le := range js.Entries {
		if le.Timestamp == nil {
			return s, malformed("stream %s: entry without ts", s.Labels)
		}
		t, err := time.Parse(time.RFC3339Nano, *le.Timestamp)
		if err != nil {
			return s, malformed("stream %s: entry ts %q is not RFC3339", s.Labels, *le.Timestamp)
		}
		s.Entries = append(s.Entries, logproto.Entry{Timestamp: t.UnixNano(), Line: le.Line})
	}
	return s, nil
}

// jsonValue decodes one ["<unix ns>", "line", {metadata}] array.
func jsonValue(v []json.RawMessage) (logproto.Entry, error) {
	var e logproto.Entry
	if len(v) < 2 || len(v) > 3 {
		return e, malformed("a value must be [\"<unix ns>\", \"<line>\"] with optional structured metadata, got %d elements", len(v))
	}
	ts, err := jsonTimestamp(v[0])
	if err != nil {
		return e, err
	}
	e.Timestamp = ts
	if err := json.Unmarshal(v[1], &e.Line); err != nil {
		return e, malformed("log line is not a string: %s", truncate(v[1]))
	}
	if len(v) == 3 {
		var md map[string]string
		if err := json.Unmarshal(v[2], &md); err != nil {
			return e, malformed("structured metadata must be an object of strings: %s", truncate(v[2]))
		}
		if len(md) > 0 {
			e.StructuredMetadata = labels.FromMap(md)
		}
	}
	return e, nil
}

// jsonTimestamp accepts the Unix nanoseconds as a string (Loki's form) or as a bare integer.
func jsonTimestamp(raw json.RawMessage) (int64, error) {
	s := string(raw)
	if len(s) >= 2 && s[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, malformed("timestamp %s: %v", truncate(raw), err)
		}
	}
	ts, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, malformed("timestamp %s is not a Unix time in nanoseconds", truncate(raw))
	}
	return ts, nil
}

func truncate(b []byte) string {
	const max = 64
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
