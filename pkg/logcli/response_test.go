package logcli

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestEntryUnmarshal(t *testing.T) {
	tests := []struct {
		in      string
		want    Entry
		wantErr bool
	}{
		{in: `["1704164645123456789","hello"]`, want: Entry{Timestamp: 1704164645123456789, Line: "hello"}},
		{in: ` [ "5" , "a \"q\" \u00e9\n" ] `, want: Entry{Timestamp: 5, Line: "a \"q\" é\n"}},
		{in: `["5","x",{"structuredMetadata":{"trace":"1"}}]`, want: Entry{Timestamp: 5, Line: "x", Metadata: json.RawMessage(`{"structuredMetadata":{"trace":"1"}}`)}},
		{in: `["5"]`, wantErr: true},
		{in: `[5,"x"]`, wantErr: true},
		{in: `["x","y"]`, wantErr: true},
		{in: `["5","unterminated`, wantErr: true},
		{in: `["5","x"`, wantErr: true},
		{in: `["5","x",{]`, wantErr: true},
		{in: `{}`, wantErr: true},
	}
	for _, tt := range tests {
		var e Entry
		err := e.UnmarshalJSON([]byte(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("UnmarshalJSON(%s) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && (e.Timestamp != tt.want.Timestamp || e.Line != tt.want.Line || !bytes.Equal(e.Metadata, tt.want.Metadata)) {
			t.Errorf("UnmarshalJSON(%s) = %+v, want %+v", tt.in, e, tt.want)
		}
	}
}

func FuzzEntryJSON(f *testing.F) {
	for _, s := range []string{`["1","a"]`, `["5","x",{"a":"b"}]`, `["-3","\u0000\\"]`, `[`, `["1"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var e Entry
		if e.UnmarshalJSON(b) != nil {
			return
		}
		out, err := e.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON(%+v): %v", e, err)
		}
		var back Entry
		if err := back.UnmarshalJSON(out); err != nil {
			t.Fatalf("decode of encoded %s: %v", out, err)
		}
		if back.Timestamp != e.Timestamp || back.Line != e.Line || !bytes.Equal(back.Metadata, e.Metadata) {
			t.Fatalf("round trip of %s gave %+v, want %+v", b, back, e)
		}
	})
}

func TestSamplePairJSON(t *testing.T) {
	for in, want := range map[string]string{
		`[1704164705.123,"2"]`:   `[1704164705.123,"2"]`,
		`[1704164705,"1e+06"]`:   `[1704164705,"1000000"]`,
		`["1704164705.5","NaN"]`: `[1704164705.5,"NaN"]`,
		`[1,"+Inf"]`:             `[1,"+Inf"]`,
		`[0.001,"-0.25"]`:        `[0.001,"-0.25"]`,
	} {
		var p SamplePair
		if err := json.Unmarshal([]byte(in), &p); err != nil {
			t.Errorf("Unmarshal(%s): %v", in, err)
			continue
		}
		got, _ := json.Marshal(p)
		if string(got) != want {
			t.Errorf("round trip of %s = %s, want %s", in, got, want)
		}
	}
	for _, bad := range []string{`[1]`, `["x","1"]`, `[1,"abc"]`, `{}`} {
		var p SamplePair
		if err := json.Unmarshal([]byte(bad), &p); err == nil {
			t.Errorf("Unmarshal(%s) succeeded, want an error", bad)
		}
	}
}

func TestLabelSetString(t *testing.T) {
	for _, tt := range []struct {
		in   LabelSet
		want string
	}{
		{nil, "{}"},
		{LabelSet{"b": "2", "a": `q"u`}, `{a="q\"u", b="2"}`},
	} {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("%v.String() = %s, want %s", map[string]string(tt.in), got, tt.want)
		}
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[uint64]string{0: "0 B", 9: "9 B", 10: "10 B", 999: "999 B", 1000: "1.0 kB", 1499: "1.5 kB", 12345: "12 kB", 5_000_000_000: "5.0 GB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf)
	now := p.start
	p.now = func() time.Time { return now }
	now = now.Add(time.Second)
	p.add(500)
	p.add(500) // within 200ms: not redrawn
	now = now.Add(time.Second)
	p.add(1000)
	p.done()
	want := "\r\x1b[K500 lines downloaded, 500 lines/s\r\x1b[K2000 lines downloaded, 1000 lines/s\r\x1b[K"
	if buf.String() != want {
		t.Errorf("progress wrote %q, want %q", buf.String(), want)
	}
}

func TestParseTime(t *testing.T) {
	ist := time.FixedZone("IST", 5*3600+1800)
	for in, want := range map[string]time.Time{
		"2021-01-19T10:00:00Z":        time.Date(2021, 1, 19, 10, 0, 0, 0, time.UTC),
		"2021-01-19T10:00:00.5+01:00": time.Date(2021, 1, 19, 9, 0, 0, 5e8, time.UTC),
		"2021-01-19T10:00:00":         time.Date(2021, 1, 19, 10, 0, 0, 0, ist),
		"1611050400":                  time.Unix(1611050400, 0),
		"1611050400000000000":         time.Unix(1611050400, 0),
		"1611050400.25":               time.Unix(1611050400, 25e7),
	} {
		got, err := ParseTime(in, ist)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseTime("yesterday", nil); err == nil {
		t.Error("ParseTime(yesterday) succeeded, want an error")
	}
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	s, e, err := TimeRange(now, time.Hour, "", "", time.UTC)
	if err != nil || !s.Equal(now.Add(-time.Hour)) || !e.Equal(now) {
		t.Errorf("TimeRange default = %v %v %v", s, e, err)
	}
	if _, _, err := TimeRange(now, time.Hour, "2024-01-02T00:00:00Z", "2024-01-01T00:00:00Z", time.UTC); err == nil {
		t.Error("TimeRange with from after to succeeded")
	}
}

// refStream is how encoding/json reads a streams result, to check decodeStreams against.
type refStream struct {
	Stream map[string]string   `json:"stream"`
	Values [][]json.RawMessage `json:"values"`
}

func FuzzDecodeStreams(f *testing.F) {
	for _, s := range []string{
		`[{"stream":{"a":"1"},"values":[["1","x"],["2","y \"q\" \u00e9 \ud83d\ude00"]]}]`,
		`[]`,
		` [ { "values" : [ [ "3" , "z" , {"structuredMetadata":{"k":"v"}} ] ] , "stream" : { } , "extra": [1,{"a":null}] } ] `,
		`[{"stream":{"a":"\ud800"},"values":[]}]`,
		`[{"stream":{"a":1}}]`,
		`[{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeStreams(b)
		if err != nil {
			return
		}
		// encoding/json matches member names ignoring case; Loki's are exact, and so are ours.
		var raw []map[string]json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil {
			// We accept a little more than encoding/json (unvalidated scalars in skipped
			// members); that must not change what is decoded.
			return
		}
		ref := make([]refStream, len(raw))
		for i, m := range raw {
			if m["stream"] != nil && json.Unmarshal(m["stream"], &ref[i].Stream) != nil {
				return
			}
			if m["values"] != nil && json.Unmarshal(m["values"], &ref[i].Values) != nil {
				return
			}
		}
		if len(got) != len(ref) {
			t.Fatalf("decoded %d streams, encoding/json %d", len(got), len(ref))
		}
		for i := range got {
			if len(got[i].Labels) != len(ref[i].Stream) {
				t.Fatalf("stream %d labels %v, want %v", i, got[i].Labels, ref[i].Stream)
			}
			for k, v := range ref[i].Stream {
				if got[i].Labels[k] != v {
					t.Fatalf("stream %d label %s = %q, want %q", i, k, got[i].Labels[k], v)
				}
			}
			if len(got[i].Entries) != len(ref[i].Values) {
				t.Fatalf("stream %d has %d entries, want %d", i, len(got[i].Entries), len(ref[i].Values))
			}
			for j, v := range ref[i].Values {
				var line string
				if err := json.Unmarshal(v[1], &line); err != nil || line != got[i].Entries[j].Line {
					t.Fatalf("stream %d entry %d line %q, want %q", i, j, got[i].Entries[j].Line, line)
				}
			}
		}
	})
}

func TestQueryResponseUnmarshal(t *testing.T) {
	in := `{"status":"success","data":{"resultType":"streams","result":[{"stream":{"a":"1"},"values":[["1","x"]]}],"stats":{"summary":{"execTime":0.5}},"encodingFlags":["x"]},"warnings":["w"]}`
	var r QueryResponse
	if err := json.Unmarshal([]byte(in), &r); err != nil {
		t.Fatal(err)
	}
	if r.Status != "success" || r.Data.ResultType != "streams" || string(r.Data.Stats) != `{"summary":{"execTime":0.5}}` {
		t.Fatalf("decoded %+v", r)
	}
	s, err := r.Data.Streams()
	if err != nil || len(s) != 1 || s[0].Labels["a"] != "1" || s[0].Entries[0].Line != "x" {
		t.Fatalf("Streams() = %+v, %v", s, err)
	}
	for _, bad := range []string{`{"status":1}`, `{"data":{"result":[}}`, `{"status":"success"} x`, `[`, `{"data":{"resultType":"streams","result":[{"stream":{"a":"1"},"values":[["1","x"]]}]}`} {
		var r QueryResponse
		if err := json.Unmarshal([]byte(bad), &r); err == nil {
			if _, err := r.Data.Streams(); err == nil && bad != `{"data":{"resultType":"streams","result":[{"stream":{"a":"1"},"values":[["1","x"]]}]}` {
				t.Errorf("decoding %s succeeded, want an error", bad)
			}
		}
	}
}

func FuzzQueryResponse(f *testing.F) {
	for _, s := range []string{
		`{"status":"success","data":{"resultType":"streams","result":[{"stream":{"a":"1"},"values":[["1","x"]]}],"stats":{}}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"2"]}]}}`,
		`{"data":{"result":"\u00"}}`,
		`{"status":"error","error":"x"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r QueryResponse
		if r.UnmarshalJSON(b) != nil {
			return
		}
		var ref struct {
			Status string `json:"status"`
			Data   struct {
				ResultType string `json:"resultType"`
			} `json:"data"`
		}
		if json.Unmarshal(b, &ref) != nil {
			return
		}
		if ref.Status != r.Status && bytes.Contains(b, []byte(`"status"`)) {
			t.Fatalf("status %q, encoding/json says %q", r.Status, ref.Status)
		}
		_, _ = r.Data.Streams()
		_, _ = r.Data.Matrix()
	})
}
