// Package helm holds the Helm chart of Sluice (production/helm/sluice). Its test runs the
// real helm CLI (`make helm` installs it): helm lint, then helm template with the default
// values and with testdata/custom-values.yaml (deploymentMode SingleBinary) and
// testdata/simple-scalable-values.yaml (SimpleScalable), and checks the rendered objects fit
// together and that the rendered configurations load (and boot a server) as the binaries
// would. scalable_test.go covers SimpleScalable.
package helm

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/production/internal/configcheck"
	m "github.com/sluicelog/sluice/production/internal/manifest"
	promtailconfig "github.com/sluicelog/sluice/promtail/config"
	"github.com/sluicelog/sluice/promtail/stages"
)

const chart = "sluice"

// helmBin finds the helm CLI where `make helm` installs it, else on PATH. A missing helm
// fails the test: the chart must not go untested silently.
func helmBin(t *testing.T) string {
	t.Helper()
	var dirs []string
	if out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output(); err == nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) > 0 && lines[0] != "" {
			dirs = append(dirs, lines[0])
		}
		if len(lines) > 1 && lines[1] != "" {
			dirs = append(dirs, filepath.Join(strings.Split(lines[1], string(os.PathListSeparator))[0], "bin"))
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, "helm")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	t.Fatal("helm CLI not found in GOBIN, GOPATH/bin or PATH: run `make helm`")
	return ""
}

// readChart reads every file of the chart and of testdata. helm reads them in a child
// process, which go test's result cache does not see: reading them here makes an edit to the
// chart re-run the test instead of reporting a cached pass.
func readChart(t *testing.T) {
	t.Helper()
	for _, root := range []string{chart, "testdata"} {
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			_, err = os.ReadFile(p)
			return err
		})
		if err != nil {
			t.Fatalf("read chart: %v", err)
		}
	}
}

// runHelm runs the helm CLI; on failure the error holds its output.
func runHelm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	readChart(t)
	cmd := exec.Command(helmBin(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// Keep helm away from the user's repositories and cache.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("helm %s: %w\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out), nil
}

func helm(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runHelm(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// render runs helm template and decodes the objects.
func render(t *testing.T, args ...string) []m.Object {
	t.Helper()
	out := helm(t, append([]string{"template", "rel", chart, "--namespace", "obs"}, args...)...)
	objs, err := m.Parse([]byte(out))
	if err != nil {
		t.Fatalf("rendered chart: %v", err)
	}
	return objs
}

func TestLint(t *testing.T) {
	for _, args := range [][]string{nil, {"-f", "testdata/custom-values.yaml"}, {"-f", "testdata/simple-scalable-values.yaml"}} {
		out := helm(t, append([]string{"lint", "--strict", chart}, args...)...)
		if !strings.Contains(out, "0 chart(s) failed") {
			t.Errorf("helm lint %v:\n%s", args, out)
		}
	}
}

// sluiceConfig returns the rendered server config and the container's other args.
func sluiceConfig(t *testing.T, objs []m.Object, name string) (text, overrides string, args []string) {
	t.Helper()
	cm := m.Find(objs, "ConfigMap", name)
	text, overrides = m.String(cm, "data", "sluice.yaml"), m.String(cm, "data", "overrides.yaml")
	if text == "" || overrides == "" {
		t.Fatalf("ConfigMap %s: sluice.yaml %q, overrides.yaml %q", name, text, overrides)
	}
	for _, a := range m.Strings(m.Get(m.Container(m.Find(objs, "StatefulSet", name), "sluice"), "args")) {
		if !strings.HasPrefix(a, "-config.file=") {
			args = append(args, a)
		}
	}
	return text, overrides, args
}

func TestDefaultValues(t *testing.T) {
	objs := render(t)
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[o.Kind()]++
		if o.Kind() != "ClusterRole" && o.Kind() != "ClusterRoleBinding" && o.Namespace() != "obs" {
			t.Errorf("%s %s in namespace %q, want the release's obs", o.Kind(), o.Name(), o.Namespace())
		}
	}
	want := map[string]int{"StatefulSet": 1, "Service": 2, "ConfigMap": 1, "ServiceAccount": 1}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("rendered kinds %v, want %v (promtail off by default)", kinds, want)
	}
	sts := m.Find(objs, "StatefulSet", "rel-sluice")
	if sts == nil {
		t.Fatal("no StatefulSet rel-sluice")
	}
	pod := m.Get(sts, "spec", "template", "spec")
	c := m.Container(sts, "sluice")
	if got := m.String(c, "image"); got != "ghcr.io/sluicelog/sluice:latest" {
		t.Errorf("image = %s, want the appVersion tag", got)
	}
	if m.Get(sts, "spec", "replicas") != 1 || m.String(sts, "spec", "serviceName") != "rel-sluice-headless" {
		t.Errorf("replicas %v, serviceName %v", m.Get(sts, "spec", "replicas"), m.Get(sts, "spec", "serviceName"))
	}
	if m.String(m.Find(objs, "Service", "rel-sluice-headless"), "spec", "clusterIP") != "None" {
		t.Error("rel-sluice-headless is not headless")
	}
	if m.String(sts, "spec", "volumeClaimTemplates", 0, "metadata", "name") != "data" ||
		m.String(sts, "spec", "volumeClaimTemplates", 0, "spec", "resources", "requests", "storage") != "10Gi" {
		t.Errorf("volumeClaimTemplates = %v", m.Get(sts, "spec", "volumeClaimTemplates"))
	}
	if m.Get(pod, "securityContext", "runAsNonRoot") != true || m.Get(pod, "securityContext", "runAsUser") != 65532 {
		t.Errorf("pod securityContext = %v", m.Get(pod, "securityContext"))
	}
	if m.Get(pod, "terminationGracePeriodSeconds") != 300 {
		t.Errorf("terminationGracePeriodSeconds = %v", m.Get(pod, "terminationGracePeriodSeconds"))
	}
	if m.String(c, "startupProbe", "httpGet", "path") == "" {
		t.Errorf("no startupProbe: the port opens only after the WAL replay")
	}
	if m.String(c, "readinessProbe", "httpGet", "path") != "/ready" || m.String(c, "livenessProbe", "httpGet", "path") == "" {
		t.Errorf("probes: readiness %v, liveness %v", m.Get(c, "readinessProbe"), m.Get(c, "livenessProbe"))
	}
	if m.String(c, "ports", 0, "name") != "http-metrics" || m.Get(c, "ports", 0, "containerPort") != 3100 {
		t.Errorf("ports = %v", m.Get(c, "ports"))
	}
	if m.String(pod, "serviceAccountName") != "rel-sluice" || m.Find(objs, "ServiceAccount", "rel-sluice") == nil {
		t.Errorf("serviceAccountName %v has no ServiceAccount", m.Get(pod, "serviceAccountName"))
	}
	if m.String(sts, "spec", "template", "metadata", "annotations", "checksum/config") == "" {
		t.Error("no checksum/config annotation: a config change would not roll the pod")
	}
	checkSelectors(t, objs, sts)

	text, overrides, args := sluiceConfig(t, objs, "rel-sluice")
	cfg, err := configcheck.Load(t, text, args...)
	if err != nil {
		t.Fatalf("rendered config does not load: %v\n%s", err, text)
	}
	if cfg.Server.HTTPListenPort != 3100 || cfg.AuthEnabled || cfg.Common.PathPrefix != "/data" || cfg.RuntimeConfig.File != "/etc/sluice/overrides.yaml" {
		t.Errorf("config: port %d, auth %v, path_prefix %s, runtime_config.file %s", cfg.Server.HTTPListenPort, cfg.AuthEnabled, cfg.Common.PathPrefix, cfg.RuntimeConfig.File)
	}
	configcheck.Boot(t, text, []string{"/data", "/etc/sluice"}, map[string]string{"/etc/sluice/overrides.yaml": overrides})
}

func TestCustomValues(t *testing.T) {
	objs := render(t, "-f", "testdata/custom-values.yaml")
	sts := m.Find(objs, "StatefulSet", "logs")
	if sts == nil {
		t.Fatal("fullnameOverride: no StatefulSet logs")
	}
	pod := m.Get(sts, "spec", "template", "spec")
	c := m.Container(sts, "sluice")
	if got := m.String(c, "image"); got != "ghcr.io/sluicelog/sluice:v9.9.9" {
		t.Errorf("image = %s", got)
	}
	if m.Get(c, "ports", 0, "containerPort") != 3200 || m.Get(m.Find(objs, "Service", "logs"), "spec", "ports", 0, "port") != 8080 {
		t.Errorf("container port %v, service port %v; want 3200, 8080", m.Get(c, "ports", 0, "containerPort"), m.Get(m.Find(objs, "Service", "logs"), "spec", "ports", 0, "port"))
	}
	if m.Get(sts, "spec", "volumeClaimTemplates") != nil {
		t.Error("persistence off, but a volumeClaimTemplate is rendered")
	}
	var emptyDir bool
	for _, v := range m.List(pod, "volumes") {
		if m.String(v, "name") == "data" && m.Get(v, "emptyDir") != nil {
			emptyDir = true
		}
	}
	if !emptyDir {
		t.Errorf("persistence off: volumes %v, want data as an emptyDir", m.Get(pod, "volumes"))
	}
	if m.String(pod, "serviceAccountName") != "logs-sa" || m.Find(objs, "ServiceAccount", "logs-sa") == nil {
		t.Errorf("serviceAccountName %v", m.Get(pod, "serviceAccountName"))
	}
	if m.String(pod, "nodeSelector", "kubernetes.io/os") != "linux" {
		t.Errorf("nodeSelector = %v", m.Get(pod, "nodeSelector"))
	}
	checkSelectors(t, objs, sts)

	text, overrides, args := sluiceConfig(t, objs, "logs")
	cfg, err := configcheck.Load(t, text, args...)
	if err != nil {
		t.Fatalf("rendered config does not load: %v\n%s", err, text)
	}
	if cfg.Server.HTTPListenPort != 3200 || !cfg.AuthEnabled || cfg.Server.LogLevel != "debug" {
		t.Errorf("config: port %d, auth %v, log level %s; want 3200, true, debug", cfg.Server.HTTPListenPort, cfg.AuthEnabled, cfg.Server.LogLevel)
	}
	// Helm merged the user's keys into the defaults: both are there.
	if cfg.Ingester.ChunkIdlePeriod.D() != 15*time.Minute || cfg.Limits.MaxEntriesLimitPerQuery != 20000 || cfg.Ingester.MaxChunkAge.D() != time.Hour || !cfg.Ingester.WAL.Enabled {
		t.Errorf("merged config: chunk_idle_period %v, max_entries_limit_per_query %d, max_chunk_age %v (from extraArgs), wal %v",
			cfg.Ingester.ChunkIdlePeriod.D(), cfg.Limits.MaxEntriesLimitPerQuery, cfg.Ingester.MaxChunkAge.D(), cfg.Ingester.WAL.Enabled)
	}
	if !strings.Contains(overrides, "team-a:") || !strings.Contains(overrides, "ingestion_rate_mb: 64") {
		t.Errorf("overrides.yaml = %q, want team-a's limits", overrides)
	}
	configcheck.Boot(t, text, []string{"/data", "/etc/sluice"}, map[string]string{"/etc/sluice/overrides.yaml": overrides})

	checkPromtail(t, objs, "logs-promtail", "http://logs.obs.svc.cluster.local:8080/loki/api/v1/push", "team-a")
}

// TestPromtailDefaults turns promtail on alone: it pushes to the default Service without a
// tenant.
func TestPromtailDefaults(t *testing.T) {
	checkPromtail(t, render(t, "--set", "promtail.enabled=true"), "rel-sluice-promtail", "http://rel-sluice.obs.svc.cluster.local:3100/loki/api/v1/push", "")
}

// TestBadValues checks a broken value fails the render (values.schema.json) or the config
// load, not the cluster.
func TestBadValues(t *testing.T) {
	for _, c := range []struct{ set, want string }{
		{"sluice.port=70000", "/sluice/port"},
		{"persistence.enabled=yes", "/persistence/enabled"},
		{"sluice.logLevel=verbose", "/sluice/logLevel"},
		{"promtail.positionsDir=run/promtail", "/promtail/positionsDir"},
	} {
		_, err := runHelm(t, "template", "rel", chart, "--set", c.set)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("helm template --set %s: error %v, want one naming %s", c.set, err, c.want)
		}
	}
	objs := render(t, "--set", "sluice.config.ingester.chunk_idle_periodd=1m")
	text, _, args := sluiceConfig(t, objs, "rel-sluice")
	if _, err := configcheck.Load(t, text, args...); err == nil || !strings.Contains(err.Error(), "chunk_idle_periodd") {
		t.Errorf("config with a misspelt key: error %v, want one naming it", err)
	}
}

func checkSelectors(t *testing.T, objs []m.Object, sts m.Object) {
	t.Helper()
	podLabels, _ := m.Get(sts, "spec", "template", "metadata", "labels").(map[string]any)
	sel, _ := m.Get(sts, "spec", "selector", "matchLabels").(map[string]any)
	if len(sel) == 0 {
		t.Error("StatefulSet has no selector")
	}
	for k, v := range sel {
		if podLabels[k] != v {
			t.Errorf("StatefulSet selector %s=%v, pod label %v", k, v, podLabels[k])
		}
	}
	for _, o := range objs {
		if o.Kind() != "Service" {
			continue
		}
		s, _ := m.Get(o, "spec", "selector").(map[string]any)
		if fmt.Sprint(s) != fmt.Sprint(sel) {
			t.Errorf("Service %s selects %v, want the StatefulSet's %v", o.Name(), s, sel)
		}
	}
}

func checkPromtail(t *testing.T, objs []m.Object, name, wantURL, wantTenant string) {
	t.Helper()
	ds := m.Find(objs, "DaemonSet", name)
	if ds == nil {
		t.Fatalf("no DaemonSet %s", name)
	}
	pod := m.Get(ds, "spec", "template", "spec")
	sa := m.String(pod, "serviceAccountName")
	if m.Find(objs, "ServiceAccount", sa) == nil {
		t.Errorf("promtail serviceAccountName %s: no such ServiceAccount", sa)
	}
	crb := m.Find(objs, "ClusterRoleBinding", name)
	if m.String(crb, "subjects", 0, "name") != sa || m.String(crb, "subjects", 0, "namespace") != "obs" || m.Find(objs, "ClusterRole", m.String(crb, "roleRef", "name")) == nil {
		t.Errorf("ClusterRoleBinding %v does not bind the ServiceAccount to the ClusterRole", crb)
	}
	for _, r := range m.List(m.Find(objs, "ClusterRole", name), "rules") {
		if v := strings.Join(m.Strings(m.Get(r, "verbs")), ","); v != "get,list,watch" {
			t.Errorf("ClusterRole rule verbs %s, want get,list,watch", v)
		}
	}
	c := m.Container(ds, "promtail")
	text := m.String(m.Find(objs, "ConfigMap", name), "data", "promtail.yaml")
	t.Setenv("HOSTNAME", "node-1")
	cfg, err := promtailconfig.Parse([]byte(text), true)
	if err != nil {
		t.Fatalf("rendered promtail config: %v\n%s", err, text)
	}
	if len(cfg.Clients) != 1 || cfg.Clients[0].URL != wantURL || cfg.Clients[0].TenantID != wantTenant {
		t.Errorf("clients = %+v, want url %s tenant %q", cfg.Clients, wantURL, wantTenant)
	}
	if m.Get(c, "ports", 0, "containerPort") != cfg.Server.HTTPListenPort {
		t.Errorf("containerPort %v, promtail http_listen_port %d", m.Get(c, "ports", 0, "containerPort"), cfg.Server.HTTPListenPort)
	}
	if len(cfg.ScrapeConfigs) == 0 || cfg.ScrapeConfigs[0].KubernetesSDConfigs[0].Selectors[0].Field != "spec.nodeName=node-1" {
		t.Errorf("scrape_configs = %+v, want the node's pods", cfg.ScrapeConfigs)
	}
	for _, sc := range cfg.ScrapeConfigs {
		if _, err := stages.Build(sc.PipelineStages, stages.Options{JobName: sc.JobName}); err != nil {
			t.Errorf("scrape config %s: pipeline_stages: %v", sc.JobName, err)
		}
	}
	if u := cfg.Unsupported(); len(u) != 0 {
		t.Errorf("promtail config has unsupported parts: %v", u)
	}
	// Positions on a writable hostPath; logs read-only.
	dir := filepath.Dir(cfg.Positions.Filename)
	for _, vm := range m.List(c, "volumeMounts") {
		p := m.String(vm, "mountPath")
		if p == dir && m.Get(vm, "readOnly") == true {
			t.Errorf("positions dir %s is mounted read-only", dir)
		}
		if strings.HasPrefix(p, "/var/log") && m.Get(vm, "readOnly") != true {
			t.Errorf("%s is mounted writable", p)
		}
	}
	var host bool
	for _, e := range m.List(c, "env") {
		if m.String(e, "name") == "HOSTNAME" && m.String(e, "valueFrom", "fieldRef", "fieldPath") == "spec.nodeName" {
			host = true
		}
	}
	if !host {
		t.Error("promtail's HOSTNAME is not the node name")
	}
}
