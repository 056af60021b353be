package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/api"
	"github.com/sluicelog/sluice/pkg/iter"
	"github.com/sluicelog/sluice/pkg/logql"
)

type emptyIngester struct{}

func (emptyIngester) SelectLogs(context.Context, string, logql.SelectLogParams) (iter.EntryIterator, error) {
	return iter.Empty(), nil
}
func (emptyIngester) Series(context.Context, string, int64, int64, []*labels.Matcher) []labels.Labels {
	return nil
}

func postForm(t *testing.T, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestIngesterRoutes: the internal ingester routes are served only with an ingester, and
// refuse bad parameters with a one-line 400.
func TestIngesterRoutes(t *testing.T) {
	with := httptest.NewServer(api.New(api.Deps{Ingester: emptyIngester{}}).Handler())
	defer with.Close()
	without := httptest.NewServer(api.New(api.Deps{}).Handler())
	defer without.Close()
	ok := url.Values{"selector": {`{app="a"}`}, "start": {"0"}, "end": {"10"}, "direction": {"forward"}}
	if code, body := postForm(t, without.URL+"/ingester/select_logs", ok); code != http.StatusNotFound {
		t.Fatalf("select_logs without an ingester = %d %q, want 404", code, body)
	}
	if code, body := postForm(t, with.URL+"/ingester/select_logs", ok); code != http.StatusOK {
		t.Fatalf("select_logs = %d %q, want 200", code, body)
	}
	if code, body := postForm(t, with.URL+"/ingester/series", url.Values{"start": {"0"}, "end": {"10"}}); code != http.StatusOK || strings.TrimSpace(body) != "[]" {
		t.Fatalf("series = %d %q, want 200 []", code, body)
	}
	for _, c := range []struct {
		path string
		form url.Values
		want string
	}{
		{"/ingester/select_logs", url.Values{"selector": {`{app=}`}, "start": {"0"}, "end": {"1"}}, "selector"},
		{"/ingester/select_logs", url.Values{"selector": {`{app="a"}`}, "start": {"1s"}, "end": {"1"}}, "start"},
		{"/ingester/select_logs", url.Values{"selector": {`{app="a"}`}, "start": {"5"}, "end": {"1"}}, "before start"},
		{"/ingester/select_logs", url.Values{"selector": {`{app="a"}`}, "start": {"0"}, "end": {"1"}, "direction": {"up"}}, "direction"},
		{"/ingester/series", url.Values{"match[]": {`{app="a"} |= "x"`}, "start": {"0"}, "end": {"1"}}, "match[]"},
		{"/ingester/series", url.Values{"start": {"0"}}, "end"},
	} {
		code, body := postForm(t, with.URL+c.path, c.form)
		if code != http.StatusBadRequest || !strings.Contains(body, c.want) || strings.Count(body, "\n") > 1 {
			t.Errorf("%s %v = %d %q, want a one-line 400 about %s", c.path, c.form, code, body, c.want)
		}
	}
}
