package validation_test

import (
	"flag"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sluicelog/sluice/pkg/runtimeconfig"
	"github.com/sluicelog/sluice/pkg/validation"
)

func parseOTLP(t *testing.T, doc string) (*validation.OTLPConfig, error) {
	t.Helper()
	var c validation.OTLPConfig
	if err := yaml.Unmarshal([]byte(doc), &c); err != nil {
		return nil, err
	}
	return &c, c.Validate()
}

func TestOTLPConfigActions(t *testing.T) {
	c, err := parseOTLP(t, `
resource_attributes:
  attributes_config:
    - action: index_label
      regex: service\.gr.*
    - action: drop
      attributes: [k8s.pod.name, secret]
    - attributes: [explicit.default]
scope_attributes:
  - action: drop
    attributes: [method.name]
log_attributes:
  - action: index_label
    attributes: [tenant]
  - action: drop
    regex: .*
severity_text_as_label: true
`)
	if err != nil {
		t.Fatal(err)
	}
	defaults := validation.DefaultOTLPIndexLabels
	for _, c2 := range []struct {
		kind, name string
		got, want  validation.OTLPAction
	}{
		{"resource", "service.name", c.ResourceAction("service.name", defaults), validation.OTLPIndexLabel},
		// The default index labels come first: k8s.pod.name stays a label.
		{"resource", "k8s.pod.name", c.ResourceAction("k8s.pod.name", defaults), validation.OTLPIndexLabel},
		{"resource", "secret", c.ResourceAction("secret", defaults), validation.OTLPDrop},
		{"resource", "service.group", c.ResourceAction("service.group", defaults), validation.OTLPIndexLabel},
		{"resource", "xservice.group", c.ResourceAction("xservice.group", defaults), validation.OTLPStructuredMetadata},
		{"resource", "explicit.default", c.ResourceAction("explicit.default", defaults), validation.OTLPStructuredMetadata},
		{"resource", "other", c.ResourceAction("other", defaults), validation.OTLPStructuredMetadata},
		{"resource without defaults", "service.name", c.ResourceAction("service.name", nil), validation.OTLPStructuredMetadata},
		{"scope", "method.name", c.ScopeAction("method.name"), validation.OTLPDrop},
		{"scope", "other", c.ScopeAction("other"), validation.OTLPStructuredMetadata},
		{"log", "tenant", c.LogAction("tenant"), validation.OTLPIndexLabel},
		{"log", "anything", c.LogAction("anything"), validation.OTLPDrop},
	} {
		if c2.got != c2.want {
			t.Errorf("%s attribute %q: %s, want %s", c2.kind, c2.name, c2.got, c2.want)
		}
	}
	if !c.SeverityTextAsLabel {
		t.Error("severity_text_as_label not read")
	}

	ignore, err := parseOTLP(t, "resource_attributes:\n  ignore_defaults: true\n  attributes_config:\n    - action: index_label\n      attributes: [service.group]\n")
	if err != nil {
		t.Fatal(err)
	}
	if a := ignore.ResourceAction("service.name", defaults); a != validation.OTLPStructuredMetadata {
		t.Errorf("with ignore_defaults, service.name: %s, want structured_metadata", a)
	}
	if a := ignore.ResourceAction("service.group", defaults); a != validation.OTLPIndexLabel {
		t.Errorf("with ignore_defaults, service.group: %s, want index_label", a)
	}
}

func TestOTLPConfigErrors(t *testing.T) {
	for _, c := range []struct{ name, doc, want string }{
		{"index_label for scope attributes", "scope_attributes:\n  - action: index_label\n    attributes: [a]\n",
			"limits_config.otlp_config.scope_attributes[0].action: index_label is only supported for resource_attributes and log_attributes"},
		{"unknown action", "log_attributes:\n  - action: drop\n    regex: a\n  - action: keep\n    attributes: [a]\n",
			`limits_config.otlp_config.log_attributes[1].action: "keep" is not one of structured_metadata, index_label, drop`},
		{"neither attributes nor regex", "resource_attributes:\n  attributes_config:\n    - action: drop\n",
			"limits_config.otlp_config.resource_attributes.attributes_config[0]: attributes or regex must be set"},
		{"both attributes and regex", "log_attributes:\n  - action: drop\n    regex: a\n    attributes: [b]\n",
			"limits_config.otlp_config.log_attributes[0]: only one of attributes or regex must be set"},
		{"bad regex", "log_attributes:\n  - action: drop\n    regex: '('\n", `otlp_config regex "(" on line 3: error parsing regexp`},
		{"unknown key", "log_attributes:\n  - action: drop\n    regexp: a\n", "field regexp not found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var err error
			if c.name == "unknown key" {
				dec := yaml.NewDecoder(strings.NewReader(c.doc))
				dec.KnownFields(true)
				var cfg validation.OTLPConfig
				err = dec.Decode(&cfg)
			} else {
				_, err = parseOTLP(t, c.doc)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want one containing %q", err, c.want)
			}
		})
	}
}

// TestOTLPConfigOverrides: otlp_config is a per-tenant limit, set in limits_config, replaced
// per tenant in the runtime overrides, checked when they load, and shown back as written.
func TestOTLPConfigOverrides(t *testing.T) {
	var defaults validation.Limits
	defaults.RegisterFlags(flag.NewFlagSet("limits", flag.ContinueOnError))
	defaultsDoc := `
otlp_config:
  resource_attributes:
    attributes_config:
      - action: index_label
        attributes: [service.group]
  log_attributes:
    - action: drop
      regex: debug\..*
`
	if err := yaml.Unmarshal([]byte(defaultsDoc), &defaults); err != nil {
		t.Fatal(err)
	}
	tenants, err := runtimeconfig.Parse([]byte(`
overrides:
  team-a:
    otlp_config:
      log_attributes:
        - action: structured_metadata
          attributes: [debug.keep]
        - action: drop
          regex: debug\..*
  team-b:
    ingestion_rate_mb: 1
`), defaults)
	if err != nil {
		t.Fatal(err)
	}
	a, b := tenants["team-a"].OTLPConfig, tenants["team-b"].OTLPConfig
	// team-a replaced log_attributes and kept the resource rules of limits_config.
	if got := a.LogAction("debug.keep"); got != validation.OTLPStructuredMetadata {
		t.Errorf("team-a debug.keep: %s", got)
	}
	if got := a.ResourceAction("service.group", nil); got != validation.OTLPIndexLabel {
		t.Errorf("team-a service.group: %s", got)
	}
	if got := b.LogAction("debug.keep"); got != validation.OTLPDrop {
		t.Errorf("team-b debug.keep: %s, want limits_config's drop", got)
	}
	if got := defaults.OTLPConfig.LogAction("debug.keep"); got != validation.OTLPDrop {
		t.Errorf("limits_config changed by an override: debug.keep %s", got)
	}

	_, err = runtimeconfig.Parse([]byte("overrides:\n  team-c:\n    otlp_config:\n      scope_attributes:\n        - action: index_label\n          regex: .*\n"), defaults)
	if err == nil || !strings.Contains(err.Error(), "overrides.team-c: limits_config.otlp_config.scope_attributes[0].action") {
		t.Fatalf("invalid override: %v", err)
	}

	out, err := yaml.Marshal(tenants["team-a"])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"regex: debug\\..*", "- debug.keep", "action: index_label"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("marshalled limits lack %q:\n%s", want, out)
		}
	}
	var back validation.Limits
	if err := yaml.Unmarshal(out, &back); err != nil {
		t.Fatalf("marshalled limits do not load: %v\n%s", err, out)
	}
	if got := back.OTLPConfig.LogAction("debug.other"); got != validation.OTLPDrop {
		t.Errorf("after a YAML round trip, debug.other: %s", got)
	}
}
