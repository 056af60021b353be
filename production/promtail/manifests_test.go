// Package promtail holds the Kubernetes manifests of the promtail DaemonSet; its test checks
// that they say what the agent needs and that the shipped config loads.
package promtail

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sluicelog/sluice/promtail/config"
	"github.com/sluicelog/sluice/promtail/stages"
)

// docs reads every YAML document of a file into generic maps.
func docs(t *testing.T, name string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, m)
	}
}

// get walks a path of map keys and list indexes.
func get(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("get %v: %v is not a map", path, v)
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("get %v: no index %d in %v", path, k, v)
			}
			v = l[k]
		}
	}
	return v
}

func byKind(t *testing.T, files ...string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, f := range files {
		for _, d := range docs(t, f) {
			out[d["kind"].(string)] = d
		}
	}
	return out
}

func TestDaemonSet(t *testing.T) {
	k := byKind(t, "daemonset.yaml", "rbac.yaml", "configmap.yaml")
	ds := k["DaemonSet"]
	if ds == nil {
		t.Fatal("no DaemonSet")
	}
	if got := get(t, ds, "spec", "updateStrategy", "type"); got != "RollingUpdate" {
		t.Errorf("updateStrategy.type = %v", got)
	}
	if got := get(t, ds, "spec", "updateStrategy", "rollingUpdate", "maxUnavailable"); got != 1 {
		t.Errorf("maxUnavailable = %v, want 1", got)
	}
	pod := get(t, ds, "spec", "template", "spec")
	if got := get(t, pod, "serviceAccountName"); got != k["ServiceAccount"]["metadata"].(map[string]any)["name"] {
		t.Errorf("serviceAccountName = %v, not the ServiceAccount's name", got)
	}
	// Tolerations must let it run on control-plane nodes and any tainted node.
	tols := get(t, pod, "tolerations").([]any)
	var controlPlane, anyNoSchedule bool
	for _, tl := range tols {
		m := tl.(map[string]any)
		if m["key"] == "node-role.kubernetes.io/control-plane" {
			controlPlane = true
		}
		if m["key"] == nil && m["operator"] == "Exists" && m["effect"] == "NoSchedule" {
			anyNoSchedule = true
		}
	}
	if !controlPlane || !anyNoSchedule {
		t.Errorf("tolerations %v: want control-plane and any NoSchedule taint", tols)
	}
	c := get(t, pod, "containers", 0)
	for _, probe := range []string{"readinessProbe", "livenessProbe"} {
		if got := get(t, c, probe, "httpGet", "path"); got != "/ready" {
			t.Errorf("%s path = %v, want /ready", probe, got)
		}
	}
	for _, r := range []string{"requests", "limits"} {
		res := get(t, c, "resources", r).(map[string]any)
		if res["cpu"] == nil || res["memory"] == nil {
			t.Errorf("resources.%s = %v, want cpu and memory", r, res)
		}
	}
	args := strings.Join(toStrings(get(t, c, "args")), " ")
	if !strings.Contains(args, "-config.file=/etc/promtail/promtail.yaml") || !strings.Contains(args, "-config.expand-env=true") {
		t.Errorf("args %q: want -config.file and -config.expand-env", args)
	}
	// Host paths: logs read-only, positions writable on the host.
	mounts := map[string]map[string]any{}
	for _, m := range get(t, c, "volumeMounts").([]any) {
		mm := m.(map[string]any)
		mounts[mm["mountPath"].(string)] = mm
	}
	vols := map[string]map[string]any{}
	for _, v := range get(t, pod, "volumes").([]any) {
		vm := v.(map[string]any)
		vols[vm["name"].(string)] = vm
	}
	for _, p := range []string{"/var/log/pods", "/var/log/containers", "/var/lib/docker/containers"} {
		m := mounts[p]
		if m == nil || m["readOnly"] != true {
			t.Errorf("mount %s = %v, want read-only", p, m)
			continue
		}
		if hp := get(t, vols[m["name"].(string)], "hostPath", "path"); hp != p {
			t.Errorf("volume of %s has hostPath %v", p, hp)
		}
	}
	cfg := loadConfig(t, k["ConfigMap"])
	posDir := cfg.Positions.Filename[:strings.LastIndex(cfg.Positions.Filename, "/")]
	pm := mounts[posDir]
	if pm == nil || pm["readOnly"] == true || get(t, vols[pm["name"].(string)], "hostPath") == nil {
		t.Errorf("positions dir %s: mount %v, want a writable hostPath", posDir, pm)
	}
	// The config's HTTP port is the probed port.
	port := get(t, c, "ports", 0, "containerPort")
	if port != cfg.Server.HTTPListenPort {
		t.Errorf("containerPort %v, config http_listen_port %d", port, cfg.Server.HTTPListenPort)
	}
	// HOSTNAME feeds the node field selector.
	var host bool
	for _, e := range get(t, c, "env").([]any) {
		em := e.(map[string]any)
		if em["name"] == "HOSTNAME" && get(t, em, "valueFrom", "fieldRef", "fieldPath") == "spec.nodeName" {
			host = true
		}
	}
	if !host {
		t.Error("HOSTNAME is not set from spec.nodeName")
	}
}

func TestRBAC(t *testing.T) {
	k := byKind(t, "rbac.yaml")
	role := k["ClusterRole"]
	need := map[string]bool{"pods": false, "nodes": false, "namespaces": false}
	for _, r := range get(t, role, "rules").([]any) {
		verbs := strings.Join(toStrings(get(t, r, "verbs")), ",")
		if verbs != "get,list,watch" {
			t.Errorf("rule %v: verbs %s, want get,list,watch only", r, verbs)
		}
		for _, res := range toStrings(get(t, r, "resources")) {
			if _, ok := need[res]; ok {
				need[res] = true
			}
		}
	}
	for r, ok := range need {
		if !ok {
			t.Errorf("ClusterRole misses %s", r)
		}
	}
	b := k["ClusterRoleBinding"]
	if get(t, b, "roleRef", "name") != get(t, role, "metadata", "name") {
		t.Error("binding does not reference the ClusterRole")
	}
	if get(t, b, "subjects", 0, "name") != get(t, k["ServiceAccount"], "metadata", "name") {
		t.Error("binding does not name the ServiceAccount")
	}
}

func loadConfig(t *testing.T, cm map[string]any) *config.Config {
	t.Helper()
	text, _ := get(t, cm, "data", "promtail.yaml").(string)
	if text == "" {
		t.Fatal("ConfigMap has no promtail.yaml")
	}
	t.Setenv("HOSTNAME", "node-1")
	cfg, err := config.Parse([]byte(text), true)
	if err != nil {
		t.Fatalf("ConfigMap config: %v", err)
	}
	return cfg
}

func TestConfigMapLoads(t *testing.T) {
	cfg := loadConfig(t, byKind(t, "configmap.yaml")["ConfigMap"])
	if len(cfg.Clients) != 1 || !strings.HasSuffix(cfg.Clients[0].URL, "/loki/api/v1/push") {
		t.Errorf("clients = %+v", cfg.Clients)
	}
	if len(cfg.ScrapeConfigs) != 1 {
		t.Fatalf("scrape_configs = %d, want 1", len(cfg.ScrapeConfigs))
	}
	sc := cfg.ScrapeConfigs[0]
	if len(sc.KubernetesSDConfigs) != 1 || sc.KubernetesSDConfigs[0].Role != "pod" {
		t.Fatalf("kubernetes_sd_configs = %+v", sc.KubernetesSDConfigs)
	}
	if f := sc.KubernetesSDConfigs[0].Selectors[0].Field; f != "spec.nodeName=node-1" {
		t.Errorf("field selector = %q, want the expanded node name", f)
	}
	if _, err := stages.Build(sc.PipelineStages, stages.Options{JobName: sc.JobName}); err != nil {
		t.Errorf("pipeline_stages: %v", err)
	}
	if len(cfg.Unsupported()) != 0 {
		t.Errorf("unsupported parts: %v", cfg.Unsupported())
	}
}

func toStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
