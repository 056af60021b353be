package distributor

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/validation"
)

func TestServiceNameFromEachDefaultLabel(t *testing.T) {
	for i, name := range validation.DefaultDiscoverServiceName {
		// The stream also has every label later in the list: the earlier one must win.
		stream := `{` + name + `="svc", namespace="prod"`
		for _, later := range validation.DefaultDiscoverServiceName[i+1:] {
			stream += `, ` + later + `="other"`
		}
		stream += `}`
		lim := defaultLimits()
		lim.MaxLabelNamesPerSeries = 20
		got := pushOne(t, lim, stream, entry("x"))
		if v := labelOf(t, got[0].Labels, serviceNameLabel); v != "svc" {
			t.Errorf("stream %s: service_name %q, want svc (from %s)", stream, v, name)
		}
	}
}

func TestServiceName(t *testing.T) {
	cases := []struct {
		name, stream, want string
	}{
		{"no listed label", `{namespace="prod", pod="p-1"}`, `{namespace="prod", pod="p-1", service_name="unknown_service"}`},
		{"already present", `{app="api", service_name="checkout"}`, `{app="api", service_name="checkout"}`},
		{"app before container", `{container="c", app="api"}`, `{app="api", container="c", service_name="api"}`},
		{"empty value is absent", `{app="", job="cron"}`, `{job="cron", service_name="cron"}`},
		{"aggregated metric stream", `{__aggregated_metric__="x", app="a"}`, `{__aggregated_metric__="x", app="a"}`},
		{"pattern stream", `{__pattern__="x", app="a"}`, `{__pattern__="x", app="a"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := pushOne(t, defaultLimits(), tc.stream, entry("x"))
			if got[0].Labels != tc.want {
				t.Errorf("stream %s stored as %s, want %s", tc.stream, got[0].Labels, tc.want)
			}
		})
	}
}

func TestServiceNameDisabled(t *testing.T) {
	lim := defaultLimits()
	lim.DiscoverServiceName = nil
	if got := pushOne(t, lim, `{app="api"}`, entry("x")); got[0].Labels != `{app="api"}` {
		t.Errorf("empty discover_service_name: stored %s, want {app=\"api\"}", got[0].Labels)
	}
	lim.DiscoverServiceName = []string{"team"}
	if got := pushOne(t, lim, `{app="api", team="pay"}`, entry("x")); got[0].Labels != `{app="api", service_name="pay", team="pay"}` {
		t.Errorf("discover_service_name [team]: stored %s", got[0].Labels)
	}
}

// TestServiceNameLabelLimit checks Loki's count: service_name, sent or added, is not counted
// in max_label_names_per_series.
func TestServiceNameLabelLimit(t *testing.T) {
	lim := defaultLimits()
	lim.MaxLabelNamesPerSeries = 2
	if got := pushOne(t, lim, `{app="a", pod="p"}`, entry("x")); got[0].Labels != `{app="a", pod="p", service_name="a"}` {
		t.Errorf("two labels plus service_name: stored %s", got[0].Labels)
	}
	if got := pushOne(t, lim, `{app="a", pod="p", service_name="s"}`, entry("x")); got[0].Labels != `{app="a", pod="p", service_name="s"}` {
		t.Errorf("two labels and a service_name sent: stored %s", got[0].Labels)
	}
	d := New(validation.NewOverrides(lim), &recorder{}, nil)
	err := d.Push(context.Background(), "t", &logproto.PushRequest{Streams: []logproto.Stream{{Labels: `{a="1", b="2", c="3", service_name="s"}`, Entries: []logproto.Entry{entry("x")}}}})
	var de *Error
	if !errors.As(err, &de) || !strings.Contains(de.Msg, "has 3 label names; limit 2") {
		t.Fatalf("three labels and service_name over a limit of 2: %v", err)
	}
}

// TestServiceNamePerTenant pushes the same label string for tenants whose lists pick
// different values: each must get its own, whatever the label cache holds.
func TestServiceNamePerTenant(t *testing.T) {
	def := defaultLimits()
	byJob := defaultLimits()
	byJob.DiscoverServiceName = []string{"job"}
	off := defaultLimits()
	off.DiscoverServiceName = nil
	o := validation.NewOverrides(def)
	o.SetTenantLimits(map[string]*validation.Limits{"job": &byJob, "off": &off})
	rec := &recorder{}
	d := New(o, rec, nil)
	want := map[string]string{
		"default": `{app="api", job="cron", service_name="api"}`,
		"job":     `{app="api", job="cron", service_name="cron"}`,
		"off":     `{app="api", job="cron"}`,
	}
	for round := 0; round < 2; round++ {
		for _, tenant := range []string{"default", "job", "off", "default"} {
			rec.streams = nil
			if err := d.Push(context.Background(), tenant, &logproto.PushRequest{Streams: []logproto.Stream{{Labels: `{job="cron", app="api"}`, Entries: []logproto.Entry{entry("x")}}}}); err != nil {
				t.Fatal(err)
			}
			if got := rec.streams[0].Labels; got != want[tenant] {
				t.Errorf("round %d, tenant %s: stored %s, want %s", round, tenant, got, want[tenant])
			}
		}
	}
}

func labelOf(t *testing.T, stream, name string) string {
	t.Helper()
	for _, pair := range strings.Split(strings.Trim(stream, "{}"), ", ") {
		if k, v, ok := strings.Cut(pair, "="); ok && k == name {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}
