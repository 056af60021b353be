// Package sluice holds the Kubernetes manifests of the single-binary Sluice server; its test
// checks that they fit together (names, ports, volumes, probes), that the kustomizations list
// what exists, and that the shipped configuration loads and boots a real server.
package sluice

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/production/internal/configcheck"
	m "github.com/sluicelog/sluice/production/internal/manifest"
	promtailconfig "github.com/sluicelog/sluice/promtail/config"
)

// read decodes the manifests of files (relative to this directory).
func read(t *testing.T, files ...string) []m.Object {
	t.Helper()
	var out []m.Object
	for _, f := range files {
		objs, err := m.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, objs...)
	}
	return out
}

// kustomization returns the objects a kustomization's resources hold, recursing into
// directories, and checks every resource stays inside the kustomization's root (kustomize
// refuses files outside it).
func kustomization(t *testing.T, dir string) []m.Object {
	t.Helper()
	objs := read(t, filepath.Join(dir, "kustomization.yaml"))
	if len(objs) != 1 || objs[0].Kind() != "Kustomization" {
		t.Fatalf("%s/kustomization.yaml: want one Kustomization", dir)
	}
	k := objs[0]
	var out []m.Object
	for _, r := range m.Strings(m.Get(k, "resources")) {
		if filepath.IsAbs(r) || strings.HasPrefix(filepath.Clean(r), "..") {
			t.Errorf("%s: resource %s is outside the kustomization root", dir, r)
			continue
		}
		p := filepath.Join(dir, r)
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("%s: resource %s: %v", dir, r, err)
			continue
		}
		if fi.IsDir() {
			out = append(out, kustomization(t, p)...)
			continue
		}
		out = append(out, read(t, p)...)
	}
	// kustomize sets the namespace of every namespaced object.
	if ns := m.String(k, "namespace"); ns != "" {
		for _, o := range out {
			if o.Kind() == "Namespace" || strings.HasPrefix(o.Kind(), "Cluster") {
				continue
			}
			o["metadata"].(map[string]any)["namespace"] = ns
		}
	}
	return out
}

func TestKustomization(t *testing.T) {
	own := kustomization(t, ".")
	all := kustomization(t, "..")
	seen := map[string]bool{}
	for _, o := range all {
		key := o.Kind() + "/" + o.Namespace() + "/" + o.Name()
		if seen[key] {
			t.Errorf("%s is defined twice", key)
		}
		seen[key] = true
	}
	for _, want := range []string{"Namespace//sluice", "StatefulSet/sluice/sluice", "Service/sluice/sluice",
		"Service/sluice/sluice-headless", "ConfigMap/sluice/sluice", "ServiceAccount/sluice/sluice",
		"DaemonSet/sluice/promtail", "ConfigMap/sluice/promtail", "ClusterRoleBinding//promtail"} {
		if !seen[want] {
			t.Errorf("production/kustomization.yaml lacks %s", want)
		}
	}
	// Every file of this directory that holds manifests is in the kustomization.
	files, _ := filepath.Glob("*.yaml")
	if len(own) < len(files)-1 { // kustomization.yaml itself holds no manifest
		t.Errorf("production/sluice/kustomization.yaml has %d objects from %d manifest files", len(own), len(files)-1)
	}

	// promtail's client URL names the Service, its namespace and port.
	pcm := m.Find(all, "ConfigMap", "promtail")
	t.Setenv("HOSTNAME", "node-1")
	pcfg, err := promtailconfig.Parse([]byte(m.String(pcm, "data", "promtail.yaml")), true)
	if err != nil {
		t.Fatalf("promtail config: %v", err)
	}
	u, err := url.Parse(pcfg.Clients[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	svc := m.Find(all, "Service", "sluice")
	wantHost := fmt.Sprintf("%s.%s.svc.cluster.local:%v", svc.Name(), svc.Namespace(), m.Get(svc, "spec", "ports", 0, "port"))
	if u.Host != wantHost || u.Path != "/loki/api/v1/push" {
		t.Errorf("promtail pushes to %s, want http://%s/loki/api/v1/push", pcfg.Clients[0].URL, wantHost)
	}
}

// shipped returns the sluice.yaml of the ConfigMap and the args it is loaded with.
func shipped(t *testing.T, objs []m.Object) (text string, args []string) {
	t.Helper()
	cm := m.Find(objs, "ConfigMap", "sluice")
	text = m.String(cm, "data", "sluice.yaml")
	if text == "" {
		t.Fatal("ConfigMap sluice has no sluice.yaml")
	}
	for _, a := range m.Strings(m.Get(m.Container(m.Find(objs, "StatefulSet", "sluice"), "sluice"), "args")) {
		if !strings.HasPrefix(a, "-config.file=") {
			args = append(args, a)
		}
	}
	return text, args
}

func TestStatefulSet(t *testing.T) {
	objs := read(t, "statefulset.yaml", "service.yaml", "configmap.yaml", "serviceaccount.yaml")
	sts := m.Find(objs, "StatefulSet", "sluice")
	if sts == nil {
		t.Fatal("no StatefulSet sluice")
	}
	if got := m.Get(sts, "spec", "replicas"); got != 1 {
		t.Errorf("replicas = %v, want 1 (single binary)", got)
	}
	pod := m.Get(sts, "spec", "template", "spec")
	if sa := m.String(pod, "serviceAccountName"); m.Find(objs, "ServiceAccount", sa) == nil {
		t.Errorf("serviceAccountName %q: no such ServiceAccount", sa)
	}
	c := m.Container(sts, "sluice")
	if c == nil {
		t.Fatal("no container sluice")
	}

	// The config file is mounted from the ConfigMap at the path -config.file names.
	args := m.Strings(m.Get(c, "args"))
	var cfgFile string
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "-config.file="); ok {
			cfgFile = v
		}
	}
	mounts := map[string]string{} // mountPath → volume name
	for _, vm := range m.List(c, "volumeMounts") {
		mounts[m.String(vm, "mountPath")] = m.String(vm, "name")
	}
	vol := ""
	for _, v := range m.List(pod, "volumes") {
		if m.String(v, "name") == mounts[filepath.Dir(cfgFile)] {
			vol = m.String(v, "configMap", "name")
		}
	}
	if cm := m.Find(objs, "ConfigMap", vol); cm == nil || m.String(cm, "data", filepath.Base(cfgFile)) == "" {
		t.Errorf("-config.file=%s is not a key of a mounted ConfigMap (volume of %s: configMap %q)", cfgFile, filepath.Dir(cfgFile), vol)
	}

	text, extra := shipped(t, objs)
	cfg, err := configcheck.Load(t, text, extra...)
	if err != nil {
		t.Fatalf("shipped config does not load: %v", err)
	}

	// The data directory is the PVC of the volumeClaimTemplate.
	claim := m.String(sts, "spec", "volumeClaimTemplates", 0, "metadata", "name")
	if claim == "" || mounts[cfg.Common.PathPrefix] != claim {
		t.Errorf("path_prefix %s is mounted from %q, want the volumeClaimTemplate %q", cfg.Common.PathPrefix, mounts[cfg.Common.PathPrefix], claim)
	}
	if s := m.String(sts, "spec", "volumeClaimTemplates", 0, "spec", "resources", "requests", "storage"); s == "" {
		t.Error("volumeClaimTemplate requests no storage")
	}
	for _, d := range []string{cfg.StorageConfig.Filesystem.Directory, cfg.StorageConfig.BoltDB.ActiveIndexDirectory, cfg.Ingester.WAL.Dir} {
		if !strings.HasPrefix(d, cfg.Common.PathPrefix+"/") {
			t.Errorf("data directory %s is not on the volume at %s", d, cfg.Common.PathPrefix)
		}
	}
	if !cfg.Ingester.WAL.Enabled || !cfg.Ingester.WAL.FlushOnShutdown {
		t.Errorf("wal = %+v, want enabled and flush_on_shutdown", cfg.Ingester.WAL)
	}

	// Non-root, read-only root filesystem.
	if m.Get(pod, "securityContext", "runAsNonRoot") != true {
		t.Error("pod securityContext.runAsNonRoot is not true")
	}
	if u, _ := m.Get(pod, "securityContext", "runAsUser").(int); u == 0 {
		t.Error("pod runs as root")
	}
	if m.Get(pod, "securityContext", "fsGroup") == nil {
		t.Error("no fsGroup: the non-root user could not write the volume")
	}
	if m.Get(c, "securityContext", "readOnlyRootFilesystem") != true || m.Get(c, "securityContext", "allowPrivilegeEscalation") != false {
		t.Errorf("container securityContext = %v", m.Get(c, "securityContext"))
	}

	// Port 3100 named http-metrics is the config's port; probes use it.
	if m.String(c, "ports", 0, "name") != "http-metrics" || m.Get(c, "ports", 0, "containerPort") != cfg.Server.HTTPListenPort || cfg.Server.HTTPListenPort != 3100 {
		t.Errorf("ports = %v, config port %d; want 3100 named http-metrics", m.Get(c, "ports"), cfg.Server.HTTPListenPort)
	}
	if got := m.String(c, "readinessProbe", "httpGet", "path"); got != "/ready" {
		t.Errorf("readinessProbe path = %q, want /ready", got)
	}
	// The port opens only after WAL replay: the startup probe must allow minutes of it.
	period, _ := m.Get(c, "startupProbe", "periodSeconds").(int)
	failures, _ := m.Get(c, "startupProbe", "failureThreshold").(int)
	if period*failures < 600 {
		t.Errorf("startupProbe allows %ds of start-up, want at least 10 minutes for a WAL replay", period*failures)
	}
	for _, p := range []string{"readinessProbe", "livenessProbe", "startupProbe"} {
		if m.String(c, p, "httpGet", "port") != "http-metrics" {
			t.Errorf("%s port = %v, want http-metrics", p, m.Get(c, p, "httpGet", "port"))
		}
	}
	if m.String(c, "livenessProbe", "httpGet", "path") == "" {
		t.Error("no livenessProbe")
	}
	for _, r := range []string{"requests", "limits"} {
		if m.Get(c, "resources", r, "memory") == nil {
			t.Errorf("resources.%s.memory is not set", r)
		}
	}

	// SIGTERM: HTTP drain plus the flush must fit in the grace period.
	grace, _ := m.Get(pod, "terminationGracePeriodSeconds").(int)
	if need := cfg.Server.GracefulShutdownTimeout.D() + time.Minute; time.Duration(grace)*time.Second < need {
		t.Errorf("terminationGracePeriodSeconds = %d, want at least %v (graceful_shutdown_timeout plus a minute to flush)", grace, need)
	}

	// Services select the pod; the headless one governs the StatefulSet.
	podLabels, _ := m.Get(sts, "spec", "template", "metadata", "labels").(map[string]any)
	headless := m.Find(objs, "Service", m.String(sts, "spec", "serviceName"))
	if headless == nil || m.String(headless, "spec", "clusterIP") != "None" {
		t.Errorf("serviceName %q is not a headless Service", m.String(sts, "spec", "serviceName"))
	}
	for _, o := range objs {
		if o.Kind() != "Service" {
			continue
		}
		sel, _ := m.Get(o, "spec", "selector").(map[string]any)
		if len(sel) == 0 {
			t.Errorf("Service %s has no selector", o.Name())
		}
		for k, v := range sel {
			if podLabels[k] != v {
				t.Errorf("Service %s selects %s=%v, pod has %v", o.Name(), k, v, podLabels[k])
			}
		}
		if m.String(o, "spec", "ports", 0, "targetPort") != "http-metrics" {
			t.Errorf("Service %s targetPort = %v, want http-metrics", o.Name(), m.Get(o, "spec", "ports", 0, "targetPort"))
		}
	}
	sel, _ := m.Get(sts, "spec", "selector", "matchLabels").(map[string]any)
	for k, v := range sel {
		if podLabels[k] != v {
			t.Errorf("StatefulSet selector %s=%v does not match the pod labels", k, v)
		}
	}
}

// TestConfigBoots starts a real server from the shipped ConfigMap (its /data and /etc/sluice
// moved under a temporary directory): the config is not only valid, the server runs on it,
// runtime overrides file included.
func TestConfigBoots(t *testing.T) {
	objs := read(t, "configmap.yaml", "statefulset.yaml")
	text, _ := shipped(t, objs)
	cm := m.Find(objs, "ConfigMap", "sluice")
	overrides := m.String(cm, "data", "overrides.yaml")
	cfg, err := configcheck.Load(t, text)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RuntimeConfig.File != "/etc/sluice/overrides.yaml" || overrides == "" {
		t.Fatalf("runtime_config.file = %q, overrides.yaml = %q: want the ConfigMap's overrides.yaml", cfg.RuntimeConfig.File, overrides)
	}
	configcheck.Boot(t, text, []string{"/data", "/etc/sluice"}, map[string]string{"/etc/sluice/overrides.yaml": overrides})
}

// TestConfigRejectsTypos checks the test would catch a broken ConfigMap: unknown keys fail
// as they do in Loki.
func TestConfigRejectsTypos(t *testing.T) {
	text, _ := shipped(t, read(t, "configmap.yaml", "statefulset.yaml"))
	bad := strings.Replace(text, "chunk_idle_period:", "chunk_idle_periodd:", 1)
	if _, err := configcheck.Load(t, bad); err == nil {
		t.Error("config with an unknown key loaded without error")
	}
	bad = strings.Replace(text, "http_listen_port: 3100", "http_listen_port: 70000", 1)
	if _, err := configcheck.Load(t, bad); err == nil || !strings.Contains(err.Error(), "http_listen_port") {
		t.Errorf("config with port 70000: error %v, want one naming http_listen_port", err)
	}
}
