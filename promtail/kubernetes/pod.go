// Package kubernetes discovers the pods of this node with client-go informers and turns each
// into a target group labelled as Prometheus' kubernetes_sd_configs role pod does
// (__meta_kubernetes_namespace, __meta_kubernetes_pod_name, __meta_kubernetes_pod_label_<name>,
// __meta_kubernetes_pod_container_name, __meta_kubernetes_pod_uid, ...): one target per
// container port, or one per container without ports.
package kubernetes

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	kclient "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/sluicelog/sluice/promtail/config"
	"github.com/sluicelog/sluice/promtail/targets"
)

// Discoverer sends target groups to update until ctx ends.
type Discoverer interface {
	Run(ctx context.Context, update func([]targets.Group))
}

// Pods discovers pods.
type Pods struct {
	client     kclient.Interface
	namespaces []string
	label      string
	field      string
	log        *slog.Logger
}

// NewFromConfig connects to the API server named by cfg (in-cluster when neither api_server
// nor kubeconfig_file is set).
func NewFromConfig(cfg config.KubernetesSDConfig, log *slog.Logger) (*Pods, error) {
	var rc *rest.Config
	var err error
	switch {
	case cfg.KubeconfigFile != "":
		rc, err = clientcmd.BuildConfigFromFlags("", cfg.KubeconfigFile)
	case cfg.APIServer != "":
		rc = &rest.Config{Host: cfg.APIServer}
	default:
		rc, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes client config: %w", err)
	}
	rc.UserAgent = "promtail (sluice)"
	cs, err := kclient.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return NewPods(cs, cfg, log), nil
}

// NewPods discovers pods through client with cfg's namespaces and pod selectors.
func NewPods(client kclient.Interface, cfg config.KubernetesSDConfig, log *slog.Logger) *Pods {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Pods{client: client, namespaces: cfg.Namespaces.Names, log: log}
	if cfg.Namespaces.OwnNamespace {
		if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil {
			p.namespaces = append(p.namespaces, strings.TrimSpace(string(b)))
		}
	}
	for _, s := range cfg.Selectors {
		if s.Role == "pod" {
			p.label, p.field = s.Label, s.Field
		}
	}
	return p
}

// Run watches pods until ctx ends.
func (p *Pods) Run(ctx context.Context, update func([]targets.Group)) {
	nss := p.namespaces
	if len(nss) == 0 {
		nss = []string{metav1.NamespaceAll}
	}
	for _, ns := range nss {
		f := informers.NewSharedInformerFactoryWithOptions(p.client, 0, informers.WithNamespace(ns),
			informers.WithTweakListOptions(func(o *metav1.ListOptions) {
				o.LabelSelector, o.FieldSelector = p.label, p.field
			}))
		inf := f.Core().V1().Pods().Informer()
		_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { p.send(obj, update, false) },
			UpdateFunc: func(_, obj any) { p.send(obj, update, false) },
			DeleteFunc: func(obj any) { p.send(obj, update, true) },
		})
		if err != nil {
			p.log.Error("kubernetes pod handler", "err", err)
			continue
		}
		f.Start(ctx.Done())
		defer f.Shutdown()
	}
	<-ctx.Done()
}

func (p *Pods) send(obj any, update func([]targets.Group), deleted bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj, deleted = d.Obj, true
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	g := Group(pod)
	if deleted {
		g.Targets = nil
	}
	update([]targets.Group{g})
}

// GroupSource names a pod's group.
func GroupSource(pod *corev1.Pod) string { return "pod/" + pod.Namespace + "/" + pod.Name }

const metaPrefix = model.MetaLabelPrefix + "kubernetes_"

// Group builds the target group of a pod as Prometheus does.
func Group(pod *corev1.Pod) targets.Group {
	g := targets.Group{Source: GroupSource(pod), Labels: podLabels(pod)}
	add := func(c corev1.Container, init bool) {
		base := model.LabelSet{
			metaPrefix + "pod_container_name":  lv(c.Name),
			metaPrefix + "pod_container_image": lv(c.Image),
			metaPrefix + "pod_container_init":  lv(strconv.FormatBool(init)),
		}
		if id := containerID(pod, c.Name, init); id != "" {
			base[metaPrefix+"pod_container_id"] = lv(id)
		}
		if len(c.Ports) == 0 {
			base[model.AddressLabel] = lv(pod.Status.PodIP)
			g.Targets = append(g.Targets, base)
			return
		}
		for _, port := range c.Ports {
			t := base.Clone()
			t[model.AddressLabel] = lv(net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(int(port.ContainerPort))))
			t[metaPrefix+"pod_container_port_name"] = lv(port.Name)
			t[metaPrefix+"pod_container_port_number"] = lv(strconv.Itoa(int(port.ContainerPort)))
			t[metaPrefix+"pod_container_port_protocol"] = lv(string(port.Protocol))
			g.Targets = append(g.Targets, t)
		}
	}
	for _, c := range pod.Spec.InitContainers {
		add(c, true)
	}
	for _, c := range pod.Spec.Containers {
		add(c, false)
	}
	return g
}

func containerID(pod *corev1.Pod, name string, init bool) string {
	st := pod.Status.ContainerStatuses
	if init {
		st = pod.Status.InitContainerStatuses
	}
	for _, s := range st {
		if s.Name == name {
			return s.ContainerID
		}
	}
	return ""
}

func lv(s string) model.LabelValue { return model.LabelValue(s) }

func podLabels(pod *corev1.Pod) model.LabelSet {
	ls := model.LabelSet{
		metaPrefix + "namespace":     lv(pod.Namespace),
		metaPrefix + "pod_name":      lv(pod.Name),
		metaPrefix + "pod_ip":        lv(pod.Status.PodIP),
		metaPrefix + "pod_ready":     lv(podReady(pod)),
		metaPrefix + "pod_phase":     lv(string(pod.Status.Phase)),
		metaPrefix + "pod_node_name": lv(pod.Spec.NodeName),
		metaPrefix + "pod_host_ip":   lv(pod.Status.HostIP),
		metaPrefix + "pod_uid":       lv(string(pod.UID)),
	}
	for k, v := range pod.Labels {
		n := SanitizeLabelName(k)
		ls[model.LabelName(metaPrefix+"pod_label_"+n)] = lv(v)
		ls[model.LabelName(metaPrefix+"pod_labelpresent_"+n)] = "true"
	}
	for k, v := range pod.Annotations {
		n := SanitizeLabelName(k)
		ls[model.LabelName(metaPrefix+"pod_annotation_"+n)] = lv(v)
		ls[model.LabelName(metaPrefix+"pod_annotationpresent_"+n)] = "true"
	}
	if ref := metav1.GetControllerOf(pod); ref != nil {
		ls[metaPrefix+"pod_controller_kind"] = lv(ref.Kind)
		ls[metaPrefix+"pod_controller_name"] = lv(ref.Name)
	}
	return ls
}

func podReady(pod *corev1.Pod) string {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return strings.ToLower(string(c.Status))
		}
	}
	return "unknown"
}

// SanitizeLabelName replaces every character not valid in a label name with '_'.
func SanitizeLabelName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}
