// Package grafana holds Grafana's provisioning file for a Loki-type data source pointing at
// Sluice; its test parses it, checks it against the production manifests, and runs Grafana's
// health checks against a real server.
package grafana

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sluicelog/sluice/pkg/sluice/sluicetest"
	"github.com/sluicelog/sluice/production/internal/configcheck"
	m "github.com/sluicelog/sluice/production/internal/manifest"
)

// provisioning is the part of Grafana's data source provisioning format this file uses.
type provisioning struct {
	APIVersion  int `yaml:"apiVersion"`
	Datasources []struct {
		Name      string         `yaml:"name"`
		Type      string         `yaml:"type"`
		UID       string         `yaml:"uid"`
		Access    string         `yaml:"access"`
		URL       string         `yaml:"url"`
		IsDefault bool           `yaml:"isDefault"`
		Editable  bool           `yaml:"editable"`
		JSONData  map[string]any `yaml:"jsonData"`
	} `yaml:"datasources"`
}

func TestDatasource(t *testing.T) {
	b, err := os.ReadFile("datasource.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var p provisioning
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("parse datasource.yaml: %v", err)
	}
	if p.APIVersion != 1 || len(p.Datasources) != 1 {
		t.Fatalf("apiVersion %d, %d data sources; want 1 and 1", p.APIVersion, len(p.Datasources))
	}
	ds := p.Datasources[0]
	if ds.Type != "loki" || ds.Access != "proxy" || ds.UID == "" || ds.Name == "" {
		t.Errorf("data source %+v: want type loki, access proxy, a name and a uid", ds)
	}

	// The URL is production/sluice's Service.
	objs, err := m.ReadFile("../sluice/service.yaml")
	if err != nil {
		t.Fatal(err)
	}
	svc := m.Find(objs, "Service", "sluice")
	want := fmt.Sprintf("http://%s.%s.svc.cluster.local:%v", svc.Name(), svc.Namespace(), m.Get(svc, "spec", "ports", 0, "port"))
	if ds.URL != want {
		t.Errorf("url = %s, want %s", ds.URL, want)
	}

	// maxLines fits the server's limit, or Grafana's queries would be refused.
	maxLines, ok := ds.JSONData["maxLines"].(int)
	if !ok || maxLines <= 0 {
		t.Fatalf("jsonData.maxLines = %v, want a positive number", ds.JSONData["maxLines"])
	}
	cms, err := m.ReadFile("../sluice/configmap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := configcheck.Load(t, m.String(m.Find(cms, "ConfigMap", "sluice"), "data", "sluice.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if limit := cfg.Limits.MaxEntriesLimitPerQuery; maxLines > limit {
		t.Errorf("maxLines %d is above the server's max_entries_limit_per_query %d", maxLines, limit)
	}
	if _, ok := ds.JSONData["derivedFields"]; ok {
		t.Error("derivedFields is meant as a commented example")
	}
}

// TestDerivedFieldsExample uncomments the derivedFields example and checks it parses, that its
// regex finds the trace id, and that $$ leaves the literal ${__value.raw} after Grafana's
// variable expansion.
func TestDerivedFieldsExample(t *testing.T) {
	b, err := os.ReadFile("datasource.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var block []string
	for _, l := range strings.Split(string(b), "\n") {
		s := strings.TrimSpace(l)
		if s == "# derivedFields:" || (len(block) > 0 && strings.HasPrefix(s, "#   ")) {
			block = append(block, strings.Replace(l, "# ", "", 1))
		} else if len(block) > 0 {
			break
		}
	}
	if len(block) < 2 {
		t.Fatal("no commented derivedFields example")
	}
	var ex struct {
		DerivedFields []struct {
			Name          string `yaml:"name"`
			MatcherRegex  string `yaml:"matcherRegex"`
			URL           string `yaml:"url"`
			DatasourceUID string `yaml:"datasourceUid"`
		} `yaml:"derivedFields"`
	}
	if err := yaml.Unmarshal([]byte(strings.Join(block, "\n")), &ex); err != nil {
		t.Fatalf("uncommented example: %v\n%s", err, strings.Join(block, "\n"))
	}
	if len(ex.DerivedFields) != 1 {
		t.Fatalf("derivedFields = %+v, want one", ex.DerivedFields)
	}
	f := ex.DerivedFields[0]
	re, err := regexp.Compile(f.MatcherRegex)
	if err != nil {
		t.Fatalf("matcherRegex %q: %v", f.MatcherRegex, err)
	}
	if got := re.FindStringSubmatch(`level=info traceID=4bf92f3577b34da6 msg="served"`); len(got) != 2 || got[1] != "4bf92f3577b34da6" {
		t.Errorf("matcherRegex %q on a sample line = %q, want the trace id", f.MatcherRegex, got)
	}
	// Grafana turns $$ into $ before reading the file.
	if expanded := strings.ReplaceAll(f.URL, "$$", "$"); expanded != "${__value.raw}" {
		t.Errorf("url %q expands to %q, want ${__value.raw}", f.URL, expanded)
	}
	if f.Name == "" || f.DatasourceUID == "" {
		t.Errorf("example %+v lacks a name or datasourceUid", f)
	}
}

// TestHealthCheck sends Grafana's two "Save & test" requests to a real Sluice.
func TestHealthCheck(t *testing.T) {
	srv := sluicetest.Start(t)
	get := func(path string, v url.Values) map[string]any {
		t.Helper()
		resp, err := http.Get(srv.URL + path + "?" + v.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("%s: decode: %v", path, err)
		}
		if resp.StatusCode != http.StatusOK || body["status"] != "success" {
			t.Fatalf("%s = %d %v", path, resp.StatusCode, body)
		}
		return body
	}
	body := get("/loki/api/v1/query", url.Values{"query": {"vector(1)+vector(1)"}, "time": {"4000000000"}})
	if v := m.String(body, "data", "result", 0, "value", 1); v != "2" {
		t.Errorf("vector(1)+vector(1) = %v, want \"2\"", m.Get(body, "data"))
	}
	now := time.Now()
	get("/loki/api/v1/labels", url.Values{
		"start": {strconv.FormatInt(now.Add(-10*time.Minute).UnixNano(), 10)},
		"end":   {strconv.FormatInt(now.UnixNano(), 10)},
	})
}
