package compactor

import (
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/validation"
)

// retention answers how long one tenant's streams are kept, by Loki's rules, in order:
//
//  1. the tenant's retention_stream entry with the highest priority that matches the stream;
//  2. else the global (default) retention_stream entry with the highest priority that matches;
//  3. else the tenant's retention_period (which is the global one for a tenant without
//     overrides).
//
// On equal priorities the longer period wins. A period of 0 keeps the stream forever.
type retention struct {
	tenant, global []validation.StreamRetention
	period         time.Duration
}

func retentionOf(l Limits, tenant string) retention {
	tl, dl := l.For(tenant), l.Defaults()
	r := retention{tenant: tl.RetentionStream, period: tl.RetentionPeriod.D()}
	if tl != dl {
		r.global = dl.RetentionStream
	}
	return r
}

// none reports whether the tenant keeps everything forever.
func (r retention) none() bool {
	return r.period == 0 && len(r.tenant) == 0 && len(r.global) == 0
}

// periodOf returns the retention period of the stream lbls.
func (r retention) periodOf(lbls labels.Labels) time.Duration {
	if p, ok := bestStream(r.tenant, lbls); ok {
		return p
	}
	if p, ok := bestStream(r.global, lbls); ok {
		return p
	}
	return r.period
}

func bestStream(rules []validation.StreamRetention, lbls labels.Labels) (time.Duration, bool) {
	var (
		best  time.Duration
		prio  int
		found bool
	)
	for i := range rules {
		rule := &rules[i]
		if !rule.Matches(lbls) {
			continue
		}
		p := rule.Period.D()
		if !found || rule.Priority > prio || (rule.Priority == prio && p > best) {
			best, prio, found = p, rule.Priority, true
		}
	}
	return best, found
}
