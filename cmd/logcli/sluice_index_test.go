package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// End-to-end tests of the commands that read labels, series and the index.
func TestSluiceLabelsAndSeries(t *testing.T) {
	f := startFixture(t)
	tests := []struct {
		args []string
		want string
	}{
		// service_name is the label the server adds to every stream (from app).
		{[]string{"labels"}, "app\nenv\npod\nservice_name\n"},
		{[]string{"labels", "app"}, "api\nweb\n"},
		{[]string{"labels", "pod"}, "p0\np1\n"},
		{[]string{"labels", "nope"}, ""},
		{[]string{"series", `{app="api"}`}, "{app=\"api\", env=\"prod\", pod=\"p0\", service_name=\"api\"}\n{app=\"api\", env=\"prod\", pod=\"p1\", service_name=\"api\"}\n"},
		{[]string{"series", `{env=~"d.*"}`}, "{app=\"web\", env=\"dev\", service_name=\"web\"}\n"},
		{[]string{"series", `{env=~".+"}`, "--analyze-labels"}, "Total Streams:  3\nUnique Labels:  4\n\n" +
			"Label Name    Unique Values  Found In Streams\n" +
			"app           2              3\n" +
			"env           2              3\n" +
			"pod           2              2\n" +
			"service_name  2              3\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, _ := f.mustRun(t, append([]string{"-q"}, tt.args...)...)
			if out != tt.want {
				t.Errorf("stdout = %q, want %q", out, tt.want)
			}
		})
	}
	// Outside the data's time range there is nothing.
	code, out, errOut := runCLI(t, "", "labels", "-q", f.addr, "--since=5m")
	if code != 0 || out != "" {
		t.Errorf("labels --since=5m: exit %d, %q %q", code, out, errOut)
	}
}

// storedBytes is what index stats and volumes count for es: each line and its structured
// metadata, which is only the detected_level the server adds (see fixture).
func storedBytes(es []pushed) int {
	n := 0
	for _, e := range es {
		n += len(e.line) + len("detected_level") + len(fixtureLevel(e))
	}
	return n
}

// fixtureLevel is the detected_level of a fixture line: its level= for an api line, unknown
// for a web line, which names no level.
func fixtureLevel(e pushed) string {
	rest, ok := strings.CutPrefix(e.line, "level=")
	if !ok {
		return "unknown"
	}
	level, _, _ := strings.Cut(rest, " ")
	return level
}

func TestSluiceStats(t *testing.T) {
	f := startFixture(t)
	out, _ := f.mustRun(t, "stats", "-q", `{app="api"}`)
	var bytes, chunks, streams, entries int
	if _, err := fmt.Sscanf(out, "{\n  bytes: %d B\n  chunks: %d\n  streams: %d\n  entries: %d\n}\n", &bytes, &chunks, &streams, &entries); err != nil {
		t.Fatalf("stats output %q: %v", out, err)
	}
	if want := storedBytes(f.api); bytes != want || chunks < 2 || streams != 2 || entries != 12 {
		t.Errorf("stats = %q, want %d B, >= 2 chunks, 2 streams, 12 entries", out, want)
	}
	out, _ = f.mustRun(t, "stats", "-q", `{app="none"}`)
	if out != "{\n  bytes: 0 B\n  chunks: 0\n  streams: 0\n  entries: 0\n}\n" {
		t.Errorf("stats of nothing = %q", out)
	}
}

type sample struct {
	Metric map[string]string `json:"metric"`
	Value  []any             `json:"value"`
}

type series struct {
	Metric map[string]string `json:"metric"`
	Values [][]any           `json:"values"`
}

// TestSluiceVolume checks volume and volume_range. As in Loki, volumes are grouped by the labels
// the selector names unless --targetLabels says otherwise, largest first.
func TestSluiceVolume(t *testing.T) {
	f := startFixture(t)
	p0, p1 := 0, 0
	for i, e := range f.api {
		if i%2 == 0 {
			p0 += storedBytes([]pushed{e})
		} else {
			p1 += storedBytes([]pushed{e})
		}
	}
	end := float64(f.base.Add(time.Minute).Unix())
	tests := []struct {
		args []string
		want []sample
	}{
		{[]string{`{app="api"}`}, []sample{{map[string]string{"app": "api"}, []any{end, fmt.Sprint(p0 + p1)}}}},
		{[]string{"--targetLabels=pod", `{app="api"}`}, []sample{
			{map[string]string{"pod": "p1"}, []any{end, fmt.Sprint(p1)}},
			{map[string]string{"pod": "p0"}, []any{end, fmt.Sprint(p0)}},
		}},
		{[]string{"--targetLabels=pod", "--limit=1", `{app="api"}`}, []sample{{map[string]string{"pod": "p1"}, []any{end, fmt.Sprint(p1)}}}},
		{[]string{"--targetLabels=app", `{env=~".+"}`}, []sample{
			{map[string]string{"app": "api"}, []any{end, fmt.Sprint(p0 + p1)}},
			{map[string]string{"app": "web"}, []any{end, fmt.Sprint(storedBytes(f.web))}},
		}},
		{[]string{"--aggregateByLabels", `{env=~".+"}`}, []sample{{map[string]string{"env": ""}, []any{end, fmt.Sprint(p0 + p1 + storedBytes(f.web))}}}},
		{[]string{`{app="none"}`}, []sample{}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, _ := f.mustRun(t, append([]string{"volume", "-q"}, tt.args...)...)
			var v []sample
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatalf("volume output %q: %v", out, err)
			}
			if !equalJSON(v, tt.want) {
				t.Errorf("volume = %s, want %+v", out, tt.want)
			}
		})
	}

	// volume_range over 3s steps from base: a matrix with one point per step, the first at
	// base; each chunk's bytes are spread over the steps it covers.
	code, out, errOut := runCLI(t, "", "volume_range", "-q", f.addr, "--step=3s", "--targetLabels=pod",
		"--from="+f.base.Format(time.RFC3339), "--to="+f.base.Add(12*time.Second).Format(time.RFC3339), `{app="api"}`)
	if code != 0 {
		t.Fatalf("volume_range: exit %d: %s", code, errOut)
	}
	var m []series
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("volume_range output %q: %v", out, err)
	}
	if len(m) != 2 || m[0].Metric["pod"] == m[1].Metric["pod"] {
		t.Fatalf("volume_range = %s, want p0 and p1", out)
	}
	for _, s := range m {
		total := p0
		if s.Metric["pod"] == "p1" {
			total = p1
		}
		sum := 0
		for i, p := range s.Values {
			var n int
			fmt.Sscan(p[1].(string), &n)
			sum += n
			if want := float64(f.base.Add(time.Duration(3*i) * time.Second).Unix()); p[0].(float64) != want {
				t.Errorf("%v: step %d at %v, want %v", s.Metric, i, p[0], want)
			}
		}
		if len(s.Values) < 3 || sum > total || sum < total/2 {
			t.Errorf("volume_range of %v = %v, want >= 3 steps adding up to at most %d", s.Metric, s.Values, total)
		}
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestSluiceDetectedFields(t *testing.T) {
	f := startFixture(t)
	out, _ := f.mustRun(t, "detected-fields", "-q", `{app="api"}`)
	want := []string{
		// The server's structured metadata (info and error), a field as in Loki.
		"label: detected_level\t\ttype: string\t\tcardinality: 2",
		"label: duration\t\ttype: duration\t\tcardinality: 12",
		"label: level\t\ttype: string\t\tcardinality: 2",
		"label: msg\t\ttype: string\t\tcardinality: 6",
		"label: status\t\ttype: int\t\tcardinality: 2",
	}
	if got := lines(out); !slices.Equal(got, want) {
		t.Errorf("detected-fields:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
	}
	out, _ = f.mustRun(t, "detected-fields", "-q", `{app="api"}`, "level")
	got := lines(out)
	slices.Sort(got)
	if !slices.Equal(got, []string{"error", "info"}) {
		t.Errorf("detected-fields level = %q", out)
	}
	out, _ = f.mustRun(t, "detected-fields", "-q", "--line-limit=2", `{app="api"}`, "msg")
	if got := lines(out); len(got) != 1 || got[0] != "req 5" {
		t.Errorf("detected-fields msg over the 2 newest lines = %q, want req 5", out)
	}
}
