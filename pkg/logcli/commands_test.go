package logcli_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/pkg/logcli"
	"github.com/sluicelog/sluice/pkg/logcli/logclitest"
)

func TestCommandsGolden(t *testing.T) {
	srv := logclitest.Start(t)
	srv.Add(sampleEntries()...)
	c := newClient(t, srv.URL)
	start, end := base.Add(-time.Minute), base.Add(time.Minute)
	tests := []struct {
		name string
		run  func(w *bytes.Buffer) error
	}{
		{"labels_names", func(w *bytes.Buffer) error {
			return (&logcli.LabelQuery{Start: start, End: end}).Do(ctx(t), c, w)
		}},
		{"labels_values", func(w *bytes.Buffer) error {
			return (&logcli.LabelQuery{LabelName: "pod", Start: start, End: end}).Do(ctx(t), c, w)
		}},
		{"series", func(w *bytes.Buffer) error {
			return (&logcli.SeriesQuery{Matcher: `{env="prod"}`, Start: start, End: end}).Do(ctx(t), c, w)
		}},
		{"series_analyze", func(w *bytes.Buffer) error {
			return (&logcli.SeriesQuery{Matcher: `{}`, Start: start, End: end, AnalyzeLabels: true}).Do(ctx(t), c, w)
		}},
		{"stats", func(w *bytes.Buffer) error {
			return (&logcli.StatsQuery{QueryString: `{app="api"}`, Start: start, End: end}).Do(ctx(t), c, w)
		}},
		{"volume", func(w *bytes.Buffer) error {
			q := &logcli.VolumeQuery{VolumeParams: logcli.VolumeParams{Query: `{env="prod"}`, Start: start, End: end, Limit: 30, TargetLabels: []string{"app"}}}
			return q.Do(ctx(t), c, w)
		}},
		{"volume_range", func(w *bytes.Buffer) error {
			q := &logcli.VolumeQuery{VolumeParams: logcli.VolumeParams{Query: `{env="prod"}`, Start: start, End: end, Limit: 30, Step: time.Hour}, Range: true}
			return q.Do(ctx(t), c, w)
		}},
		{"detected_fields", func(w *bytes.Buffer) error {
			q := &logcli.DetectedFieldsQuery{DetectedFieldsParams: logcli.DetectedFieldsParams{Query: `{app="api"}`, Start: start, End: end, Limit: 100, LineLimit: 1000}}
			return q.Do(ctx(t), c, w)
		}},
		{"detected_field_values", func(w *bytes.Buffer) error {
			q := &logcli.DetectedFieldsQuery{FieldName: "level", DetectedFieldsParams: logcli.DetectedFieldsParams{Query: `{app="api"}`, Start: start, End: end, Limit: 100, LineLimit: 1000}}
			return q.Do(ctx(t), c, w)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w bytes.Buffer
			if err := tt.run(&w); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.name, w.String())
		})
	}
}

func TestCommandRequests(t *testing.T) {
	srv := logclitest.Start(t)
	c := newClient(t, srv.URL)
	start, end := base, base.Add(time.Minute)
	var w bytes.Buffer
	q := &logcli.VolumeQuery{VolumeParams: logcli.VolumeParams{Query: `{app="api"}`, Start: start, End: end, Limit: 7, TargetLabels: []string{"a", "b"}, AggregateByLabels: true, Step: time.Minute}, Range: true}
	if err := q.Do(ctx(t), c, &w); err != nil {
		t.Fatal(err)
	}
	if err := (&logcli.SeriesQuery{Matcher: `{app="api"}`, Start: start, End: end}).Do(ctx(t), c, &w); err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	checkQuery := func(r logclitest.Request, path string, want map[string]string) {
		t.Helper()
		if r.Path != path {
			t.Fatalf("request to %s, want %s", r.Path, path)
		}
		for k, v := range want {
			if got := r.Query[k]; len(got) != 1 || got[0] != v {
				t.Errorf("%s: %s = %v, want %q", path, k, got, v)
			}
		}
	}
	checkQuery(reqs[0], "/loki/api/v1/index/volume_range", map[string]string{
		"query": `{app="api"}`, "limit": "7", "targetLabels": "a,b", "aggregateBy": "labels", "step": "60",
	})
	checkQuery(reqs[1], "/loki/api/v1/series", map[string]string{"match[]": `{app="api"}`})
}

func TestDeleteCommands(t *testing.T) {
	srv := logclitest.Start(t)
	c := newClient(t, srv.URL)
	var w bytes.Buffer
	d := &logcli.DeleteQuery{QueryString: `{app="api"} |= "secret"`, Start: time.Unix(1700000000, 0), End: time.Unix(1700003600, 0)}
	if err := d.Create(ctx(t), c, &w); err != nil {
		t.Fatal(err)
	}
	if got := srv.Deletes(); len(got) != 1 || got[0]["query"] != d.QueryString || got[0]["start_time"] != 1700000000.0 {
		t.Fatalf("server holds %v, want the created request", got)
	}
	if err := d.List(ctx(t), c, &w, false); err != nil {
		t.Fatal(err)
	}
	if err := d.List(ctx(t), c, &w, true); err != nil {
		t.Fatal(err)
	}
	if err := d.Cancel(ctx(t), c, &w, "req1", true); err != nil {
		t.Fatal(err)
	}
	if err := d.Cancel(ctx(t), c, &w, "req1", false); err == nil || !strings.Contains(err.Error(), "404 Not Found: could not find delete request") {
		t.Fatalf("second cancel = %v, want the server's 404 reason", err)
	}
	if r := srv.Requests()[3]; r.Method != "DELETE" || r.Query["force"][0] != "true" {
		t.Errorf("cancel request = %s %v, want DELETE with force=true", r.Method, r.Query)
	}
	got := strings.ReplaceAll(w.String(), time.Unix(1700000000, 0).Format(time.RFC3339), "<start>")
	got = strings.ReplaceAll(got, time.Unix(1700003600, 0).Format(time.RFC3339), "<end>")
	checkGolden(t, "delete", got)
}

func TestFormatQuery(t *testing.T) {
	got, err := logcli.FormatQuery(`sum   by(app)(rate({app="a"}|="x"[5m]))`)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, `{app="a"} |= "x"`) || strings.Contains(got, "   ") {
		t.Errorf("FormatQuery = %q, want a canonical query", got)
	}
	if _, err := logcli.FormatQuery(`sum(`); err == nil {
		t.Error("FormatQuery(`sum(`) succeeded, want a parse error")
	}
}

func TestParallelParts(t *testing.T) {
	all := tiedEntries(3000, 4) // 750 ms of data
	for _, forward := range []bool{false, true} {
		t.Run(map[bool]string{false: "backward", true: "forward"}[forward], func(t *testing.T) {
			srv := logclitest.Start(t)
			srv.Add(all...)
			dir := t.TempDir()
			q := &logcli.Query{
				QueryString: `{}`, Start: base, End: base.Add(time.Second), Limit: 10, BatchSize: 97, Forward: forward, Quiet: true,
				ParallelDuration: 100 * time.Millisecond, ParallelMaxWorkers: 3,
				PartPathPrefix: filepath.Join(dir, "q"), MergeParts: true,
			}
			got, err := runPaged(t, srv, q)
			if err != nil {
				t.Fatal(err)
			}
			checkPaged(t, got, all, 0, forward) // limit is ignored in parallel mode
			if files, _ := os.ReadDir(dir); len(files) != 0 {
				t.Errorf("part files left after merge: %v", files)
			}
		})
	}
}

func TestParallelKeepAndSkipCompletedParts(t *testing.T) {
	srv := logclitest.Start(t)
	all := tiedEntries(400, 1)
	srv.Add(all...)
	dir := t.TempDir()
	q := &logcli.Query{
		QueryString: `{}`, Start: base, End: base.Add(400 * time.Millisecond), BatchSize: 1000, Quiet: true,
		ParallelDuration: 100 * time.Millisecond, ParallelMaxWorkers: 2, PartPathPrefix: filepath.Join(dir, "q"),
	}
	if _, err := runPaged(t, srv, q); err != nil {
		t.Fatal(err)
	}
	files, _ := os.ReadDir(dir)
	var names []string
	for _, f := range files {
		names = append(names, f.Name())
	}
	slices.Sort(names)
	want := []string{
		"q_20240102T030405_20240102T030405.part",
	}
	if len(names) != 4 || !strings.HasPrefix(names[0], "q_20240102T0304") || !strings.HasSuffix(names[0], ".part") {
		t.Fatalf("part files = %v, want 4 like %v", names, want)
	}
	// A second run finds the parts complete and asks nothing more; merging prints them all.
	before := len(srv.Requests())
	q.MergeParts, q.KeepParts = true, true
	got, err := runPaged(t, srv, q)
	if err != nil {
		t.Fatal(err)
	}
	if after := len(srv.Requests()); after != before {
		t.Errorf("second run made %d requests, want 0", after-before)
	}
	checkPaged(t, got, all, 0, false)
	if files, _ := os.ReadDir(dir); len(files) != 4 {
		t.Errorf("--keep-parts left %d files, want 4", len(files))
	}
	// --overwrite-completed-parts downloads again.
	q.OverwriteCompletedParts = true
	if _, err := runPaged(t, srv, q); err != nil {
		t.Fatal(err)
	}
	if after := len(srv.Requests()); after == before {
		t.Error("--overwrite-completed-parts made no request")
	}
}

func TestParallelToStdout(t *testing.T) {
	srv := logclitest.Start(t)
	all := tiedEntries(1000, 3)
	srv.Add(all...)
	q := &logcli.Query{QueryString: `{}`, Start: base, End: base.Add(time.Second), BatchSize: 50, Quiet: true,
		ParallelDuration: 50 * time.Millisecond, ParallelMaxWorkers: 4}
	got, err := runPaged(t, srv, q)
	if err != nil {
		t.Fatal(err)
	}
	// Jobs interleave, so only the set of lines is checked.
	seen := map[string]bool{}
	for _, g := range got {
		if seen[g.line] {
			t.Fatalf("line %q printed twice", g.line)
		}
		seen[g.line] = true
	}
	if len(seen) != len(all) {
		t.Fatalf("printed %d distinct lines, want %d", len(seen), len(all))
	}
}

func TestParallelStopsOnError(t *testing.T) {
	srv := logclitest.Start(t)
	srv.Add(tiedEntries(100, 1)...)
	srv.Intercept = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if n == 2 {
			http.Error(w, "boom", 400)
			return true
		}
		return false
	}
	q := &logcli.Query{QueryString: `{}`, Start: base, End: base.Add(time.Second), BatchSize: 50, Quiet: true,
		ParallelDuration: 100 * time.Millisecond, ParallelMaxWorkers: 2, PartPathPrefix: filepath.Join(t.TempDir(), "q"), MergeParts: true}
	if _, err := runPaged(t, srv, q); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("DoQuery = %v, want the server's error", err)
	}
}
