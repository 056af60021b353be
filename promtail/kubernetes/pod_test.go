package kubernetes

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/sluicelog/sluice/promtail/config"
	"github.com/sluicelog/sluice/promtail/targets"
)

func testPod(name, node string) *corev1.Pod {
	yes := true
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "shop", UID: types.UID("uid-" + name),
			Labels:          map[string]string{"app.kubernetes.io/name": "checkout", "tier": "web"},
			Annotations:     map[string]string{"team": "payments"},
			OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "checkout-7d9f8b6c5d", Controller: &yes}},
		},
		Spec: corev1.PodSpec{
			NodeName: node,
			Containers: []corev1.Container{
				{Name: "app", Image: "shop/checkout:1", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}},
				{Name: "sidecar", Image: "envoy:1"},
			},
			InitContainers: []corev1.Container{{Name: "init", Image: "busybox"}},
		},
		Status: corev1.PodStatus{PodIP: "10.0.0.7", HostIP: "192.168.1.2", Phase: corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
}

func TestGroupLabels(t *testing.T) {
	g := Group(testPod("checkout-7d9f8b6c5d-abcde", "node-1"))
	if g.Source != "pod/shop/checkout-7d9f8b6c5d-abcde" {
		t.Errorf("Source = %q", g.Source)
	}
	want := map[string]string{
		"__meta_kubernetes_namespace":                               "shop",
		"__meta_kubernetes_pod_name":                                "checkout-7d9f8b6c5d-abcde",
		"__meta_kubernetes_pod_uid":                                 "uid-checkout-7d9f8b6c5d-abcde",
		"__meta_kubernetes_pod_node_name":                           "node-1",
		"__meta_kubernetes_pod_ip":                                  "10.0.0.7",
		"__meta_kubernetes_pod_ready":                               "true",
		"__meta_kubernetes_pod_phase":                               "Running",
		"__meta_kubernetes_pod_label_app_kubernetes_io_name":        "checkout",
		"__meta_kubernetes_pod_labelpresent_app_kubernetes_io_name": "true",
		"__meta_kubernetes_pod_annotation_team":                     "payments",
		"__meta_kubernetes_pod_controller_kind":                     "ReplicaSet",
		"__meta_kubernetes_pod_controller_name":                     "checkout-7d9f8b6c5d",
	}
	for k, v := range want {
		if got := string(g.Labels[ln(k)]); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if len(g.Targets) != 3 {
		t.Fatalf("%d targets, want 3 (init, app port, sidecar)", len(g.Targets))
	}
	app := g.Targets[1]
	if app["__address__"] != "10.0.0.7:8080" || app["__meta_kubernetes_pod_container_name"] != "app" ||
		app["__meta_kubernetes_pod_container_port_name"] != "http" || app["__meta_kubernetes_pod_container_init"] != "false" {
		t.Errorf("app target = %v", app)
	}
	if g.Targets[0]["__meta_kubernetes_pod_container_init"] != "true" || g.Targets[2]["__address__"] != "10.0.0.7" {
		t.Errorf("targets = %v", g.Targets)
	}
}

// standardRelabel is the relabel part of promtail's standard Kubernetes config.
const standardRelabel = `
- source_labels: [__meta_kubernetes_pod_controller_name]
  regex: ([0-9a-z-.]+?)(-[0-9a-f]{8,10})?
  target_label: __tmp_controller_name
- source_labels: [__meta_kubernetes_pod_label_app_kubernetes_io_name, __meta_kubernetes_pod_label_app, __tmp_controller_name, __meta_kubernetes_pod_name]
  regex: ^;*([^;]+)(;.*)?$
  target_label: app
- source_labels: [__meta_kubernetes_pod_node_name]
  target_label: node_name
- source_labels: [__meta_kubernetes_pod_node_name]
  target_label: __host__
- source_labels: [__meta_kubernetes_namespace]
  target_label: namespace
- source_labels: [__meta_kubernetes_pod_name]
  target_label: pod
- source_labels: [__meta_kubernetes_pod_container_name]
  target_label: container
- replacement: /var/log/pods/*$1/*.log
  separator: /
  source_labels: [__meta_kubernetes_pod_uid, __meta_kubernetes_pod_container_name]
  target_label: __path__
`

func TestDiscoveryWithFakeClient(t *testing.T) {
	t.Setenv("HOSTNAME", "node-1")
	cs := fake.NewClientset(testPod("checkout-7d9f8b6c5d-abcde", "node-1"))
	d := NewPods(cs, config.KubernetesSDConfig{Role: "pod"}, nil)
	full, err := config.Parse([]byte("scrape_configs:\n  - job_name: k8s\n    relabel_configs:\n"+indent(indent(standardRelabel))), false)
	if err != nil {
		t.Fatal(err)
	}
	scrape := targets.NewScrape(full.ScrapeConfigs[0], nil, nil, nil, targets.Limits{}, discard())

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); d.Run(ctx, scrape.Update) }()
	defer func() { cancel(); wg.Wait() }()

	waitTargets := func(n int) []targets.Target {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			tg := scrape.Targets()
			if len(tg) == n {
				return tg
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d targets, want %d: %+v", len(tg), n, tg)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	tg := waitTargets(3)
	var app *targets.Target
	for i := range tg {
		if tg[i].Labels["container"] == "app" {
			app = &tg[i]
		}
	}
	if app == nil {
		t.Fatalf("no target for container app: %+v", tg)
	}
	if app.Path != "/var/log/pods/*uid-checkout-7d9f8b6c5d-abcde/app/*.log" {
		t.Errorf("__path__ = %q", app.Path)
	}
	want := map[string]string{"namespace": "shop", "pod": "checkout-7d9f8b6c5d-abcde", "container": "app", "app": "checkout", "node_name": "node-1"}
	for k, v := range want {
		if got := string(app.Labels[ln(k)]); got != v {
			t.Errorf("label %s = %q, want %q (all %v)", k, got, v, app.Labels)
		}
	}
	for k := range app.Labels {
		if len(k) > 1 && k[:2] == "__" {
			t.Errorf("internal label %s kept", k)
		}
	}

	// A pod on another node is not tailed here (__host__); a deleted pod goes away.
	if _, err := cs.CoreV1().Pods("shop").Create(ctx, testPod("other", "node-2"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	waitTargets(3)
	if err := cs.CoreV1().Pods("shop").Delete(ctx, "checkout-7d9f8b6c5d-abcde", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitTargets(0)
}

func TestFieldSelectorFromConfig(t *testing.T) {
	d := NewPods(fake.NewClientset(), config.KubernetesSDConfig{Role: "pod", Namespaces: config.NamespaceDiscovery{Names: []string{"a"}},
		Selectors: []config.SelectorConfig{{Role: "pod", Field: "spec.nodeName=node-1", Label: "app=x"}}}, nil)
	if d.field != "spec.nodeName=node-1" || d.label != "app=x" || len(d.namespaces) != 1 {
		t.Fatalf("pods = %+v", d)
	}
}

func TestSanitizeLabelName(t *testing.T) {
	for in, want := range map[string]string{"app.kubernetes.io/name": "app_kubernetes_io_name", "9lives": "_lives", "ok_1": "ok_1"} {
		if got := SanitizeLabelName(in); got != want {
			t.Errorf("SanitizeLabelName(%q) = %q, want %q", in, got, want)
		}
	}
}
