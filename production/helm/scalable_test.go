package helm

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sluicelog/sluice/pkg/storage/s3/s3test"
	"github.com/sluicelog/sluice/production/internal/configcheck"
	m "github.com/sluicelog/sluice/production/internal/manifest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.yaml from the chart")

// TestSingleBinaryUnchanged renders deploymentMode SingleBinary and compares the output byte for
// byte with the golden files, which hold what the chart rendered before it had SimpleScalable:
// adding the mode must not change (and so restart) an existing installation. Values of the
// scalable parts must not matter in SingleBinary mode; Loki's chart documents setting their
// replicas to 0 there.
func TestSingleBinaryUnchanged(t *testing.T) {
	for _, c := range []struct {
		golden string
		write  bool // the case -update writes the golden file from
		args   []string
	}{
		{"single-binary-default.golden.yaml", true, nil},
		{"single-binary-default.golden.yaml", false, []string{"--set", "deploymentMode=SingleBinary,write.replicas=0,read.replicas=0,backend.replicas=0"}},
		{"single-binary-default.golden.yaml", false, []string{"--set", "backend.replicas=3,write.persistence.volumeClaimsEnabled=false"}},
		{"single-binary-custom.golden.yaml", true, []string{"-f", "testdata/custom-values.yaml"}},
	} {
		golden := filepath.Join("testdata", c.golden)
		got := helm(t, append([]string{"template", "rel", chart, "--namespace", "obs"}, c.args...)...)
		if *update && c.write {
			if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (go test ./production/helm -update writes it)", err)
		}
		if line, g, w := firstDiff(got, string(want)); line > 0 {
			t.Errorf("helm template %v differs from %s at line %d:\n got: %q\nwant: %q", c.args, golden, line, g, w)
		}
	}
}

// firstDiff returns the first line (1-based) where a and b differ, and its text in each; 0 if
// they are equal.
func firstDiff(a, b string) (int, string, string) {
	if a == b {
		return 0, "", ""
	}
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; ; i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y || i >= len(al) || i >= len(bl) {
			return i + 1, x, y
		}
	}
}

// part is one workload of deploymentMode SimpleScalable as testdata/simple-scalable-values.yaml
// renders it.
type part struct {
	kind, name, target string
	replicas           int
	claim              string // the size of the data claim; "" for an emptyDir
}

var parts = []part{
	{"StatefulSet", "rel-sluice-write", "write", 4, "20Gi"},
	{"Deployment", "rel-sluice-read", "read", 2, ""},
	{"StatefulSet", "rel-sluice-backend", "backend", 1, "2Gi"},
}

func TestSimpleScalable(t *testing.T) {
	t.Setenv("S3_SECRET_ACCESS_KEY", "secret-from-env")
	objs := render(t, "-f", "testdata/simple-scalable-values.yaml")
	for _, kind := range []string{"StatefulSet", "Service"} {
		if m.Find(objs, kind, "rel-sluice") != nil {
			t.Errorf("SimpleScalable renders the single binary's %s rel-sluice", kind)
		}
	}
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[o.Kind()]++
	}
	// 5 Services: write, write-headless, read, backend, backend-headless.
	if kinds["StatefulSet"] != 2 || kinds["Deployment"] != 1 || kinds["Service"] != 5 {
		t.Errorf("rendered kinds %v, want 2 StatefulSets, 1 Deployment, 5 Services", kinds)
	}

	cm := m.Find(objs, "ConfigMap", "rel-sluice")
	text := m.String(cm, "data", "sluice.yaml")
	var top map[string]any
	if err := yaml.Unmarshal([]byte(text), &top); err != nil {
		t.Fatalf("sluice.yaml: %v", err)
	}
	if _, ok := top["target"]; ok {
		t.Errorf("the shared sluice.yaml sets target %v; each pod's -target must decide", top["target"])
	}

	for _, p := range parts {
		t.Run(p.target, func(t *testing.T) {
			w := m.Find(objs, p.kind, p.name)
			if w == nil {
				t.Fatalf("no %s %s", p.kind, p.name)
			}
			if m.Get(w, "spec", "replicas") != p.replicas {
				t.Errorf("replicas = %v, want %d", m.Get(w, "spec", "replicas"), p.replicas)
			}
			if got := m.String(w, "spec", "template", "metadata", "labels", "app.kubernetes.io/component"); got != p.target {
				t.Errorf("pod component label %q, want %q", got, p.target)
			}
			if m.String(w, "spec", "template", "metadata", "annotations", "checksum/config") == "" {
				t.Error("no checksum/config annotation")
			}
			pod := m.Get(w, "spec", "template", "spec")
			var data map[string]any
			for _, v := range m.List(pod, "volumes") {
				if m.String(v, "name") == "data" {
					data, _ = v.(map[string]any)
				}
			}
			if p.claim != "" {
				if data != nil {
					t.Errorf("data is both a claim and the volume %v", data)
				}
				if m.String(w, "spec", "volumeClaimTemplates", 0, "metadata", "name") != "data" ||
					m.String(w, "spec", "volumeClaimTemplates", 0, "spec", "resources", "requests", "storage") != p.claim {
					t.Errorf("volumeClaimTemplates = %v, want data of %s", m.Get(w, "spec", "volumeClaimTemplates"), p.claim)
				}
				headless := m.Find(objs, "Service", p.name+"-headless")
				if m.String(w, "spec", "serviceName") != p.name+"-headless" || m.String(headless, "spec", "clusterIP") != "None" {
					t.Errorf("serviceName %v, want the headless Service %s-headless", m.Get(w, "spec", "serviceName"), p.name)
				}
			} else if m.Get(data, "emptyDir") == nil {
				t.Errorf("volumes %v, want data as an emptyDir", m.Get(pod, "volumes"))
			}
			if m.Find(objs, "Service", p.name) == nil {
				t.Errorf("no Service %s for the clients of %s", p.name, p.target)
			}

			c := m.Container(w, "sluice")
			args := podArgs(t, w)
			cfg, err := configcheck.Load(t, text, args...)
			if err != nil {
				t.Fatalf("rendered config with %v does not load: %v\n%s", args, err, text)
			}
			if cfg.Target != p.target {
				t.Errorf("target = %q, want %q", cfg.Target, p.target)
			}
			if cfg.StorageConfig.AWS.BucketNames != "logs" || cfg.StorageConfig.AWS.SecretAccessKey != "secret-from-env" {
				t.Errorf("S3 bucket %q, secret %q; want logs and the environment's secret", cfg.StorageConfig.AWS.BucketNames, cfg.StorageConfig.AWS.SecretAccessKey)
			}
			if !cfg.AuthEnabled || cfg.Common.PathPrefix != "/data" || !cfg.Compactor.RetentionEnabled {
				t.Errorf("auth %v, path_prefix %s, retention %v", cfg.AuthEnabled, cfg.Common.PathPrefix, cfg.Compactor.RetentionEnabled)
			}
			var secret bool
			for _, e := range m.List(c, "env") {
				if m.String(e, "name") == "S3_SECRET_ACCESS_KEY" && m.String(e, "valueFrom", "secretKeyRef", "name") == "sluice-s3" {
					secret = true
				}
			}
			if !secret {
				t.Errorf("env %v lacks sluice.extraEnv's S3_SECRET_ACCESS_KEY", m.Get(c, "env"))
			}

			switch p.target {
			case "write":
				// The pod name: distinct per replica, and stable across restarts, so each
				// uploads and merges back its own index tables.
				if cfg.StorageConfig.BoltDB.IngesterName != p.name+"-0" {
					t.Errorf("ingester_name = %q, want the pod name %s-0", cfg.StorageConfig.BoltDB.IngesterName, p.name)
				}
				if cfg.Ingester.MaxChunkAge.D() != time.Hour {
					t.Errorf("max_chunk_age = %v, want write.extraArgs' 1h", cfg.Ingester.MaxChunkAge.D())
				}
				if m.String(c, "resources", "requests", "cpu") != "1" || m.Get(pod, "terminationGracePeriodSeconds") != 300 {
					t.Errorf("resources %v, terminationGracePeriodSeconds %v; want write's own, the top-level one",
						m.Get(c, "resources"), m.Get(pod, "terminationGracePeriodSeconds"))
				}
				if m.String(w, "spec", "volumeClaimTemplates", 0, "spec", "storageClassName") != "fast-ssd" {
					t.Errorf("storageClassName = %v, want write.persistence.storageClass", m.Get(w, "spec", "volumeClaimTemplates", 0, "spec", "storageClassName"))
				}
			case "read":
				if cfg.Ingester.MaxChunkAge.D() != 2*time.Hour {
					t.Errorf("max_chunk_age = %v: write.extraArgs reached the read pods", cfg.Ingester.MaxChunkAge.D())
				}
				if m.String(data, "emptyDir", "sizeLimit") != "5Gi" {
					t.Errorf("emptyDir %v, want read.persistence.sizeLimit 5Gi", m.Get(data, "emptyDir"))
				}
				if m.String(c, "resources", "requests", "cpu") != "500m" || m.Get(pod, "terminationGracePeriodSeconds") != 60 {
					t.Errorf("resources %v, terminationGracePeriodSeconds %v; want the top-level ones, read's 60",
						m.Get(c, "resources"), m.Get(pod, "terminationGracePeriodSeconds"))
				}
				if m.String(w, "spec", "template", "metadata", "labels", "tier") != "query" {
					t.Error("read.podLabels not on the read pods")
				}
				// Every write pod, through the write part's headless Service, on the pods' port.
				want := []string{"dns+rel-sluice-write-headless.obs.svc.cluster.local:3100"}
				if got := cfg.Querier.IngesterAddresses; len(got) != 1 || got[0] != want[0] {
					t.Errorf("querier.ingester_addresses = %q, want %q", got, want)
				}
				headless := m.Find(objs, "Service", "rel-sluice-write-headless")
				if m.Get(headless, "spec", "ports", 0, "port") != 3100 {
					t.Errorf("write headless Service ports %v, want 3100", m.Get(headless, "spec", "ports"))
				}
			}
			if p.target != "read" && len(cfg.Querier.IngesterAddresses) != 0 {
				t.Errorf("%s has querier.ingester_addresses %q; only read pods ask the write pods", p.target, cfg.Querier.IngesterAddresses)
			}
			if p.target != "write" {
				for _, a := range args {
					if strings.HasPrefix(a, "-boltdb.shipper.ingester-name") {
						t.Errorf("%s passes %s: only write pods ingest", p.target, a)
					}
				}
			}
		})
	}
	checkPartSelectors(t, objs)
	checkPromtail(t, objs, "rel-sluice-promtail", "http://rel-sluice-write.obs.svc.cluster.local:3100/loki/api/v1/push", "team-a")

	notes := renderNotes(t, "-f", "testdata/simple-scalable-values.yaml")
	for _, want := range []string{
		"Push (promtail, Alloy, Fluent Bit...):  http://rel-sluice-write.obs.svc.cluster.local:3100/loki/api/v1/push",
		"Query (Grafana, logcli):                http://rel-sluice-read.obs.svc.cluster.local:3100\n",
		"Deletion API (/loki/api/v1/delete):     http://rel-sluice-backend.obs.svc.cluster.local:3100\n",
		"port-forward svc/rel-sluice-read 3100",
		"data source of type Loki with the query URL above and an HTTP header X-Scope-OrgID",
		"The read pods ask every write pod (through rel-sluice-write-headless) for the lines it has not\nflushed yet",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("NOTES.txt lacks %q:\n%s", want, notes)
		}
	}
}

// podArgs returns the sluice container's arguments but -config.file, with $(VAR) references
// expanded as the kubelet does for the variables taken from the pod's name (the first pod's).
func podArgs(t *testing.T, w m.Object) []string {
	t.Helper()
	c := m.Container(w, "sluice")
	vars := map[string]string{}
	for _, e := range m.List(c, "env") {
		if m.String(e, "valueFrom", "fieldRef", "fieldPath") == "metadata.name" {
			vars[m.String(e, "name")] = w.Name() + "-0"
		}
	}
	var args []string
	for _, a := range m.Strings(m.Get(c, "args")) {
		for k, v := range vars {
			a = strings.ReplaceAll(a, "$("+k+")", v)
		}
		if strings.Contains(a, "$(") {
			t.Errorf("argument %q refers to a variable the pod does not set", a)
		}
		if !strings.HasPrefix(a, "-config.file=") {
			args = append(args, a)
		}
	}
	return args
}

// checkPartSelectors checks every workload selects its own pods and only them, and every
// Service the pods of exactly one part.
func checkPartSelectors(t *testing.T, objs []m.Object) {
	t.Helper()
	matches := func(sel, labels any) bool {
		s, _ := sel.(map[string]any)
		l, _ := labels.(map[string]any)
		for k, v := range s {
			if l[k] != v {
				return false
			}
		}
		return len(s) > 0
	}
	for _, p := range parts {
		w := m.Find(objs, p.kind, p.name)
		for _, q := range parts {
			other := m.Find(objs, q.kind, q.name)
			if got := matches(m.Get(w, "spec", "selector", "matchLabels"), m.Get(other, "spec", "template", "metadata", "labels")); got != (p == q) {
				t.Errorf("%s %s selects the pods of %s: %v", p.kind, p.name, q.name, got)
			}
		}
	}
	for _, o := range objs {
		if o.Kind() != "Service" {
			continue
		}
		var selected []string
		for _, p := range parts {
			if matches(m.Get(o, "spec", "selector"), m.Get(m.Find(objs, p.kind, p.name), "spec", "template", "metadata", "labels")) {
				selected = append(selected, p.name)
			}
		}
		if len(selected) != 1 || !strings.HasPrefix(o.Name(), selected[0]) {
			t.Errorf("Service %s selects the pods of %v, want those of the part it is named for", o.Name(), selected)
		}
	}
}

// renderNotes renders NOTES.txt, which helm template leaves out: a copy of the chart gets a
// template that prints it as a YAML string.
func renderNotes(t *testing.T, args ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), chart)
	if err := os.CopyFS(dir, os.DirFS(chart)); err != nil {
		t.Fatal(err)
	}
	notes, err := os.ReadFile(filepath.Join(chart, "templates", "NOTES.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"_notes_test.tpl": `{{- define "test.notes" -}}` + string(notes) + `{{- end }}`,
		"notes_test.yaml": `notes: {{ include "test.notes" . | toJson }}` + "\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, "templates", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := helm(t, append([]string{"template", "rel", dir, "--namespace", "obs", "--show-only", "templates/notes_test.yaml"}, args...)...)
	var doc struct{ Notes string }
	if err := yaml.Unmarshal([]byte(out), &doc); err != nil || doc.Notes == "" {
		t.Fatalf("rendered notes: %v\n%s", err, out)
	}
	return doc.Notes
}

// TestSimpleScalableBoots starts each part from the rendered configuration against a real S3
// server, as its pod would: write, then read, then backend, each on its own data directory.
func TestSimpleScalableBoots(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.CreateBucket(t)
	var sets []string
	for k, v := range map[string]string{
		"endpoint":          srv.Addr(),
		"region":            s3test.Region,
		"bucketnames":       bucket,
		"access_key_id":     s3test.AccessKey,
		"secret_access_key": s3test.SecretKey,
	} {
		sets = append(sets, "--set-string", "sluice.config.storage_config.aws."+k+"="+v)
	}
	objs := render(t, append(sets, "--set", "deploymentMode=SimpleScalable", "--set", "sluice.config.storage_config.aws.insecure=true")...)
	cm := m.Find(objs, "ConfigMap", "rel-sluice")
	text, overrides := m.String(cm, "data", "sluice.yaml"), m.String(cm, "data", "overrides.yaml")
	for _, p := range parts {
		t.Run(p.target, func(t *testing.T) {
			// The pod passes -target; Boot takes no flags, so the file says it. The shared file
			// has no target of its own (TestSimpleScalable), else this would be a duplicate key.
			configcheck.Boot(t, text+"target: "+p.target+"\n", []string{"/data", "/etc/sluice"}, map[string]string{"/etc/sluice/overrides.yaml": overrides})
		})
	}
}

// TestSimpleScalableBadValues checks the values SimpleScalable cannot run with fail the render
// with a message naming the fix.
func TestSimpleScalableBadValues(t *testing.T) {
	s3 := []string{"--set", "deploymentMode=SimpleScalable", "--set", "sluice.config.storage_config.aws.bucketnames=logs"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--set", "deploymentMode=SimpleScalable"}, "deploymentMode SimpleScalable needs S3 object storage, which every pod shares: set sluice.config.storage_config.aws.bucketnames"},
		{append(s3, "--set", "sluice.config.storage_config.object_store=filesystem"), "but sluice.config.storage_config.object_store is filesystem"},
		{append(s3, "--set", "backend.replicas=2"), "backend.replicas is 2, but must be 1: the backend runs the compactor"},
		{append(s3, "--set", "backend.replicas=0"), "backend.replicas is 0, but must be 1"},
		{[]string{"--set", "deploymentMode=Distributed"}, "/deploymentMode"},
		{append(s3, "--set", "write.persistence.storageClassName=fast"), "'storageClassName' not allowed"},
		{append(s3, "--set", "read.replicas=-1"), "/read/replicas"},
	} {
		_, err := runHelm(t, append([]string{"template", "rel", chart}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("helm template %v: error %v, want one containing %q", c.args, err, c.want)
		}
	}
	// The bucket may come from common.storage.s3 or the -s3.url flag instead.
	for _, args := range [][]string{
		{"--set", "sluice.config.common.storage.s3.bucketnames=logs"},
		{"--set", "sluice.extraArgs={-s3.url=s3://key:secret@s3.example.com/logs}"},
	} {
		if _, err := runHelm(t, append([]string{"template", "rel", chart, "--set", "deploymentMode=SimpleScalable"}, args...)...); err != nil {
			t.Errorf("helm template %v: %v", args, err)
		}
	}
}
