package validation

import (
	"errors"
	"flag"
	"fmt"
	"regexp"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/sluicelog/sluice/pkg/flagext"
)

// OTLPAction is what the OTLP endpoint (/otlp/v1/logs) does with an attribute, as Loki's
// otlp_config names it.
type OTLPAction string

// The actions of an otlp_config rule.
const (
	// OTLPIndexLabel makes the attribute a stream label.
	OTLPIndexLabel OTLPAction = "index_label"
	// OTLPStructuredMetadata stores the attribute with each entry; it is the default.
	OTLPStructuredMetadata OTLPAction = "structured_metadata"
	// OTLPDrop discards the attribute.
	OTLPDrop OTLPAction = "drop"
)

// DefaultOTLPIndexLabels is Loki's default
// distributor.otlp_config.default_resource_attributes_as_index_labels: the resource attributes
// that become stream labels unless a tenant's otlp_config sets ignore_defaults.
var DefaultOTLPIndexLabels = []string{
	"service.name", "service.namespace", "service.instance.id",
	"deployment.environment", "deployment.environment.name",
	"cloud.region", "cloud.availability_zone",
	"k8s.cluster.name", "k8s.namespace.name", "k8s.pod.name", "k8s.container.name", "container.name",
	"k8s.replicaset.name", "k8s.deployment.name", "k8s.statefulset.name", "k8s.daemonset.name",
	"k8s.cronjob.name", "k8s.job.name",
}

// GlobalOTLPConfig is Loki's distributor.otlp_config: settings of the OTLP endpoint that are
// the same for every tenant.
type GlobalOTLPConfig struct {
	// DefaultResourceAttributesAsIndexLabels are the resource attributes that become stream
	// labels for every tenant whose otlp_config does not set ignore_defaults.
	DefaultResourceAttributesAsIndexLabels flagext.Strings `yaml:"default_resource_attributes_as_index_labels"`
}

// RegisterFlags registers the flag with Loki's name and default. As with Sluice's other list
// flags, its value is one comma-separated list that replaces the default.
func (c *GlobalOTLPConfig) RegisterFlags(fs *flag.FlagSet) {
	c.DefaultResourceAttributesAsIndexLabels = flagext.Strings(slices.Clone(DefaultOTLPIndexLabels))
	fs.Var(&c.DefaultResourceAttributesAsIndexLabels, "distributor.otlp.default_resource_attributes_as_index_labels",
		"Comma-separated OTLP resource attributes that become stream labels for tenants whose otlp_config does not set ignore_defaults.")
}

// OTLPConfig is Loki's per-tenant limits_config.otlp_config: how the attributes of OTLP log
// records are stored. An attribute takes the action of the first rule that matches its name
// (resource attributes: the default index labels first, unless ignore_defaults); attributes no
// rule matches are stored as structured metadata.
type OTLPConfig struct {
	ResourceAttributes OTLPResourceAttributes `yaml:"resource_attributes,omitempty"`
	// ScopeAttributes may not use index_label.
	ScopeAttributes []OTLPAttributes `yaml:"scope_attributes,omitempty"`
	// LogAttributes with index_label put the record in a stream of its own, as in Loki 3's
	// latest releases.
	LogAttributes []OTLPAttributes `yaml:"log_attributes,omitempty"`
	// SeverityTextAsLabel also makes a record's severity_text a stream label.
	SeverityTextAsLabel bool `yaml:"severity_text_as_label,omitempty"`
}

// OTLPResourceAttributes is otlp_config.resource_attributes.
type OTLPResourceAttributes struct {
	// IgnoreDefaults drops the default index labels from the rules: only AttributesConfig
	// applies.
	IgnoreDefaults   bool             `yaml:"ignore_defaults,omitempty"`
	AttributesConfig []OTLPAttributes `yaml:"attributes_config,omitempty"`
}

// OTLPAttributes is one rule: an action and the attributes it applies to, named in Attributes
// or matched by Regex (exactly one of the two).
type OTLPAttributes struct {
	Action     OTLPAction `yaml:"action,omitempty"`
	Attributes []string   `yaml:"attributes,omitempty"`
	Regex      OTLPRegexp `yaml:"regex,omitempty"`
}

// UnmarshalYAML reads a rule; an empty action is structured_metadata, as in Loki. The other
// checks are Validate's, so that their errors can name the rule. (This form of the method,
// unlike the one taking a yaml.Node, keeps the decoder's refusal of unknown keys.)
func (a *OTLPAttributes) UnmarshalYAML(unmarshal func(any) error) error {
	type plain OTLPAttributes
	if err := unmarshal((*plain)(a)); err != nil {
		return err
	}
	if a.Action == "" {
		a.Action = OTLPStructuredMetadata
	}
	return nil
}

// matches reports whether the rule applies to the attribute named name.
func (a *OTLPAttributes) matches(name string) bool {
	if a.Regex.re != nil && a.Regex.re.MatchString(name) {
		return true
	}
	return slices.Contains(a.Attributes, name)
}

// OTLPRegexp is a regular expression that must match a whole attribute name, as Prometheus'
// relabel regexps (which Loki uses here) do. The zero value matches nothing.
type OTLPRegexp struct {
	src string
	re  *regexp.Regexp
}

// NewOTLPRegexp compiles s, anchored at both ends.
func NewOTLPRegexp(s string) (OTLPRegexp, error) {
	re, err := regexp.Compile("^(?s:" + s + ")$")
	if err != nil {
		return OTLPRegexp{}, err
	}
	return OTLPRegexp{src: s, re: re}, nil
}

// String returns the expression as written.
func (r OTLPRegexp) String() string { return r.src }

// IsZero reports whether no expression is set (for YAML's omitempty).
func (r OTLPRegexp) IsZero() bool { return r.re == nil }

// UnmarshalYAML compiles the expression, so a bad one fails when the file is loaded.
func (r *OTLPRegexp) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	re, err := NewOTLPRegexp(s)
	if err != nil {
		return fmt.Errorf("otlp_config regex %q on line %d: %w", s, n.Line, err)
	}
	*r = re
	return nil
}

// MarshalYAML writes the expression as written.
func (r OTLPRegexp) MarshalYAML() (any, error) { return r.src, nil }

// Validate checks the rules; each error names the rule, e.g.
// limits_config.otlp_config.scope_attributes[0].action.
func (c *OTLPConfig) Validate() error {
	const prefix = "limits_config.otlp_config."
	var errs []error
	check := func(field string, rules []OTLPAttributes, indexLabel bool) {
		for i, r := range rules {
			at := fmt.Sprintf("%s%s[%d]", prefix, field, i)
			switch r.Action {
			case OTLPStructuredMetadata, OTLPDrop:
			case OTLPIndexLabel:
				if !indexLabel {
					errs = append(errs, fmt.Errorf("%s.action: index_label is only supported for resource_attributes and log_attributes", at))
				}
			default:
				errs = append(errs, fmt.Errorf("%s.action: %q is not one of structured_metadata, index_label, drop", at, r.Action))
			}
			switch {
			case len(r.Attributes) == 0 && r.Regex.IsZero():
				errs = append(errs, fmt.Errorf("%s: attributes or regex must be set", at))
			case len(r.Attributes) > 0 && !r.Regex.IsZero():
				errs = append(errs, fmt.Errorf("%s: only one of attributes or regex must be set", at))
			}
		}
	}
	check("resource_attributes.attributes_config", c.ResourceAttributes.AttributesConfig, true)
	check("scope_attributes", c.ScopeAttributes, false)
	check("log_attributes", c.LogAttributes, true)
	return errors.Join(errs...)
}

// ResourceAction returns the action for the resource attribute named name, given the global
// default index labels.
func (c *OTLPConfig) ResourceAction(name string, defaultIndexLabels []string) OTLPAction {
	if !c.ResourceAttributes.IgnoreDefaults && slices.Contains(defaultIndexLabels, name) {
		return OTLPIndexLabel
	}
	return actionFor(name, c.ResourceAttributes.AttributesConfig)
}

// ScopeAction returns the action for the scope attribute named name.
func (c *OTLPConfig) ScopeAction(name string) OTLPAction { return actionFor(name, c.ScopeAttributes) }

// LogAction returns the action for the log record attribute named name.
func (c *OTLPConfig) LogAction(name string) OTLPAction { return actionFor(name, c.LogAttributes) }

func actionFor(name string, rules []OTLPAttributes) OTLPAction {
	for i := range rules {
		if rules[i].matches(name) {
			if rules[i].Action == "" {
				return OTLPStructuredMetadata
			}
			return rules[i].Action
		}
	}
	return OTLPStructuredMetadata
}
