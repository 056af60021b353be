package distributor

import (
	"github.com/prometheus/prometheus/model/labels"
)

// Loki 3 gives every pushed stream a service_name label, because Grafana's Logs Drilldown lists
// and filters streams by it (limits_config.discover_service_name).
const (
	serviceNameLabel = "service_name"
	unknownService   = "unknown_service"
)

// internalStreamLabels mark the streams Loki writes back into itself (aggregated metrics and
// persisted patterns); Loki gives them no service_name.
var internalStreamLabels = [...]string{"__aggregated_metric__", "__pattern__"}

// discoverServiceName returns the service_name a stream labelled ls gets: the value of the
// first label of list it has, or unknown_service. It returns false when the stream gets none:
// list is empty, the stream has a service_name already, or it is one of Loki's internal
// streams.
func discoverServiceName(ls labels.Labels, list []string) (string, bool) {
	if len(list) == 0 || ls.Has(serviceNameLabel) {
		return "", false
	}
	for _, n := range internalStreamLabels {
		if ls.Has(n) {
			return "", false
		}
	}
	for _, n := range list {
		// Get answers "" for a missing label, and a label cannot have an empty value, so
		// "" always means "not this one" (Loki tests the value the same way).
		if v := ls.Get(n); v != "" {
			return v, true
		}
	}
	return unknownService, true
}

// setServiceName memoises in p the labels with service_name=v added, so that the next push
// of the same label string under the same discovery list costs two map look-ups and no
// allocation. The memo holds one value: tenants whose lists pick different values for the
// same label string rebuild it in turn, which is correct, only slower.
func (p *parsedLabels) setServiceName(v string) {
	b := labels.NewBuilder(p.ls)
	b.Set(serviceNameLabel, v)
	p.svc = v
	p.svcLabels = b.Labels()
	p.svcCanon = p.svcLabels.String()
}

// withServiceName reports whether p's memo is the label set for service_name=v.
func (p *parsedLabels) withServiceName(v string) bool {
	return p.svcCanon != "" && p.svc == v
}
