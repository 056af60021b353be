// Package distributor is the write path's front door: it validates each pushed stream against
// the tenant's limits, canonicalises its labels, and hands the accepted entries to the ingester.
//
// Like Loki 3 it also enriches what it accepts: a stream without a service_name label gets one
// (service_name.go), and each entry a detected_level structured metadata (detected_level.go;
// level_line.go, level_logfmt.go and level_json.go read it from the line). Both are per-tenant
// limits that can be turned off.
//
// Loki's partial-accept rules apply: a bad stream or entry is dropped and reported, while the
// good streams and entries of the same request are still stored. The caller gets a *Error
// (HTTP 400 or 429) describing the first rejection when anything was dropped.
package distributor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/sluicelog/sluice/pkg/logproto"
	"github.com/sluicelog/sluice/pkg/logql/syntax"
	"github.com/sluicelog/sluice/pkg/ratelimit"
	"github.com/sluicelog/sluice/pkg/validation"
)

// Ingester is what the distributor asks of the ingesters. Streams carry their canonical label
// string (sorted, as labels.Labels.String() renders it).
type Ingester interface {
	Push(ctx context.Context, tenant string, streams []logproto.Stream) error
}

// Error is a rejection to report to the client with an HTTP status.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// Distributor validates pushes and forwards them.
type Distributor struct {
	limits   *validation.Overrides
	ingester Ingester
	now      func() time.Time
	metrics  *metrics

	mu      sync.Mutex
	buckets map[string]*ratelimit.Bucket
	// labelCache maps a client's label string to its parsed form: clients send the same few
	// strings over and over, and parsing is the costliest part of validation. It is dropped
	// whole when it reaches maxLabelCache entries, which bounds memory under label churn.
	cacheMu    sync.RWMutex
	labelCache map[string]parsedLabels
}

const maxLabelCache = 100_000

type parsedLabels struct {
	ls    labels.Labels
	canon string
	// The label set with service_name=svc added (see setServiceName); svcCanon is "" until
	// a push needed it.
	svc       string
	svcLabels labels.Labels
	svcCanon  string
}

type metrics struct {
	linesReceived  *prometheus.CounterVec
	bytesReceived  *prometheus.CounterVec
	linesDiscarded *prometheus.CounterVec
	bytesDiscarded *prometheus.CounterVec
}

// New returns a Distributor that forwards to ing. reg may be nil.
func New(limits *validation.Overrides, ing Ingester, reg prometheus.Registerer) *Distributor {
	m := &metrics{
		linesReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loki_distributor_lines_received_total", Help: "Log lines received, per tenant.",
		}, []string{"tenant"}),
		bytesReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loki_distributor_bytes_received_total", Help: "Bytes of log lines received, per tenant.",
		}, []string{"tenant"}),
		linesDiscarded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loki_discarded_samples_total", Help: "Log lines rejected, per reason and tenant.",
		}, []string{"reason", "tenant"}),
		bytesDiscarded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loki_discarded_bytes_total", Help: "Bytes of log lines rejected, per reason and tenant.",
		}, []string{"reason", "tenant"}),
	}
	if reg != nil {
		reg.MustRegister(m.linesReceived, m.bytesReceived, m.linesDiscarded, m.bytesDiscarded)
	}
	return &Distributor{limits: limits, ingester: ing, now: time.Now, metrics: m, buckets: map[string]*ratelimit.Bucket{}, labelCache: map[string]parsedLabels{}}
}

// rejections collects what a push dropped, keeping the first message for the client.
type rejections struct {
	first  string
	count  int
	status int
}

func (r *rejections) add(status int, format string, args ...any) {
	if r.count == 0 {
		r.first = fmt.Sprintf(format, args...)
		r.status = status
	}
	r.count++
}

func (r *rejections) err() error {
	if r.count == 0 {
		return nil
	}
	msg := r.first
	if r.count > 1 {
		msg = fmt.Sprintf("%s (and %d more errors)", msg, r.count-1)
	}
	return &Error{Status: r.status, Msg: msg}
}

// Push validates req for tenant and forwards what is valid. It returns nil when everything was
// accepted, a *Error when some or all of it was rejected, or the ingester's error.
func (d *Distributor) Push(ctx context.Context, tenant string, req *logproto.PushRequest) error {
	lim := d.limits.For(tenant)
	now := d.now()
	var rej rejections
	out := make([]logproto.Stream, 0, len(req.Streams))
	var lines, size int
	levels := newLevelDetector(lim)
	bounds := boundsAt(now, lim)
	for i := range req.Streams {
		s := &req.Streams[i]
		ls, canon, err := d.canonicalLabels(s.Labels, lim)
		if err != nil {
			n, b := streamSize(s)
			d.discard(tenant, reasonOf(err), n, b)
			rej.add(http.StatusBadRequest, "%s", err.Error())
			continue
		}
		levels.forStream(ls)
		var dups dupTimestamps
		// Entries are validated in place (validation may truncate a line). While all pass,
		// the kept ones are s.Entries itself; from the first rejection on, a copy.
		var kept []logproto.Entry
		allKept := true
		for j := range s.Entries {
			e := &s.Entries[j]
			if reason, msg := validateEntry(e, canon, lim, bounds); reason != "" {
				d.discard(tenant, reason, 1, len(e.Line))
				rej.add(http.StatusBadRequest, "%s", msg)
				if allKept {
					kept = append(make([]logproto.Entry, 0, len(s.Entries)-1), s.Entries[:j]...)
					allKept = false
				}
				continue
			}
			if lim.IncrementDuplicateTimestamp {
				dups.increment(e)
			}
			// After validation, as in Loki: the limits on structured metadata apply to what
			// the client sent, not to the detected_level added here.
			levels.apply(e)
			if !allKept {
				kept = append(kept, *e)
			}
			size += len(e.Line)
		}
		if allKept {
			kept = s.Entries
		}
		lines += len(kept)
		if len(kept) > 0 {
			out = append(out, logproto.Stream{Labels: canon, Entries: kept})
		}
	}
	if len(out) == 0 {
		return rej.err()
	}
	if !d.bucket(tenant).Allow(now, float64(size), lim.IngestionRateMB*(1<<20), lim.IngestionBurstSizeMB*(1<<20)) {
		d.discard(tenant, validation.ReasonRateLimited, lines, size)
		return &Error{Status: http.StatusTooManyRequests, Msg: fmt.Sprintf(
			"Ingestion rate limit exceeded for user %s (limit: %d bytes/sec) while attempting to ingest '%d' lines totaling '%d' bytes, reduce log volume or contact your Loki administrator to see if the limit can be increased",
			tenant, int(lim.IngestionRateMB*(1<<20)), lines, size)}
	}
	d.metrics.linesReceived.WithLabelValues(tenant).Add(float64(lines))
	d.metrics.bytesReceived.WithLabelValues(tenant).Add(float64(size))
	if err := d.ingester.Push(ctx, tenant, out); err != nil {
		var de *Error
		if errors.As(err, &de) && rej.count > 0 {
			return rej.err()
		}
		return err
	}
	return rej.err()
}

func streamSize(s *logproto.Stream) (lines, bytes int) {
	for i := range s.Entries {
		bytes += len(s.Entries[i].Line)
	}
	return len(s.Entries), bytes
}

func (d *Distributor) discard(tenant, reason string, lines, bytes int) {
	d.metrics.linesDiscarded.WithLabelValues(reason, tenant).Add(float64(lines))
	d.metrics.bytesDiscarded.WithLabelValues(reason, tenant).Add(float64(bytes))
}

func (d *Distributor) bucket(tenant string) *ratelimit.Bucket {
	d.mu.Lock()
	defer d.mu.Unlock()
	b := d.buckets[tenant]
	if b == nil {
		b = &ratelimit.Bucket{}
		d.buckets[tenant] = b
	}
	return b
}

// labelError is a stream rejected for its labels.
type labelError struct {
	reason string
	msg    string
}

func (e *labelError) Error() string { return e.msg }

func reasonOf(err error) string {
	var le *labelError
	if errors.As(err, &le) {
		return le.reason
	}
	return validation.ReasonInvalidLabels
}

// canonicalLabels parses and validates a stream's labels, adds service_name when the tenant's
// discover_service_name asks for it, and returns the stream's labels and canonical string.
func (d *Distributor) canonicalLabels(s string, lim *validation.Limits) (labels.Labels, string, error) {
	d.cacheMu.RLock()
	p, ok := d.labelCache[s]
	d.cacheMu.RUnlock()
	if !ok {
		ls, err := syntax.ParseLabels(s)
		if err != nil {
			return labels.EmptyLabels(), "", &labelError{validation.ReasonInvalidLabels, fmt.Sprintf("error parsing labels '%s' with error: %v", s, err)}
		}
		p = parsedLabels{ls: ls, canon: ls.String()}
	}
	// service_name is part of the stream's identity, so it is added here, before the
	// canonical string is made; the limits are read on every push (per tenant, reloadable).
	svc, addSvc := discoverServiceName(p.ls, lim.DiscoverServiceName)
	if addSvc && !p.withServiceName(svc) {
		p.setServiceName(svc)
		ok = false
	}
	if !ok {
		d.cacheMu.Lock()
		if len(d.labelCache) >= maxLabelCache {
			d.labelCache = make(map[string]parsedLabels)
		}
		// A new key, always: s may point into the request's buffer.
		d.labelCache[strings.Clone(s)] = p
		d.cacheMu.Unlock()
	}
	// The client's labels are validated; the service_name added is a copy of one of them
	// or unknown_service, and does not count towards the label limit (see validateLabels).
	if err := validateLabels(p.ls, s, lim); err != nil {
		return labels.EmptyLabels(), "", err
	}
	if addSvc {
		return p.svcLabels, p.svcCanon, nil
	}
	return p.ls, p.canon, nil
}

func validateLabels(ls labels.Labels, stream string, lim *validation.Limits) error {
	if ls.Len() == 0 {
		return &labelError{validation.ReasonMissingLabels, "error at least one label pair is required per stream"}
	}
	// As in Loki, service_name is not counted: Loki's own infrastructure (discovery, Alloy,
	// the OTLP endpoint) adds it, so a stream may carry it on top of the limit.
	n := ls.Len()
	if ls.Has(serviceNameLabel) {
		n--
	}
	if n > lim.MaxLabelNamesPerSeries {
		return &labelError{validation.ReasonMaxLabelNames, fmt.Sprintf("entry for stream '%s' has %d label names; limit %d", stream, n, lim.MaxLabelNamesPerSeries)}
	}
	var err error
	prev := ""
	ls.Range(func(l labels.Label) {
		switch {
		case err != nil:
		case l.Name == prev:
			err = &labelError{validation.ReasonDuplicateLabelNames, fmt.Sprintf("stream '%s' has duplicate label name: '%s'", stream, l.Name)}
		case len(l.Name) > lim.MaxLabelNameLength:
			err = &labelError{validation.ReasonLabelNameTooLong, fmt.Sprintf("stream '%s' has label name too long: '%s'", stream, l.Name)}
		case len(l.Value) > lim.MaxLabelValueLength:
			err = &labelError{validation.ReasonLabelValueTooLong, fmt.Sprintf("stream '%s' has label value too long: '%s'", stream, l.Value)}
		case !utf8.ValidString(l.Value):
			err = &labelError{validation.ReasonInvalidLabels, fmt.Sprintf("stream '%s' has label value that is not valid UTF-8 for label '%s'", stream, l.Name)}
		}
		prev = l.Name
	})
	return err
}

// timeBounds are the oldest and newest timestamps a push accepts, in Unix nanoseconds. They
// are worked out once per push: doing the time arithmetic per entry took about 15% of
// BenchmarkPush.
type timeBounds struct{ oldest, newest int64 }

func boundsAt(now time.Time, lim *validation.Limits) timeBounds {
	return timeBounds{oldest: now.Add(-lim.RejectOldSamplesMaxAge.D()).UnixNano(), newest: now.Add(lim.CreationGracePeriod.D()).UnixNano()}
}

// validateEntry checks one entry and may truncate its line; it returns a discard reason and
// a message, or "" when the entry is accepted.
func validateEntry(e *logproto.Entry, stream string, lim *validation.Limits, b timeBounds) (reason, msg string) {
	if lim.RejectOldSamples && e.Timestamp < b.oldest {
		return validation.ReasonGreaterThanMaxAge, fmt.Sprintf("entry for stream '%s' has timestamp too old: %s, oldest acceptable timestamp is: %s",
			stream, time.Unix(0, e.Timestamp).UTC().Format(time.RFC3339), time.Unix(0, b.oldest).UTC().Format(time.RFC3339))
	}
	if e.Timestamp > b.newest {
		return validation.ReasonTooFarInFuture, fmt.Sprintf("entry for stream '%s' has timestamp too new: %s",
			stream, time.Unix(0, e.Timestamp).UTC().Format(time.RFC3339))
	}
	if lim.MaxLineSize > 0 && len(e.Line) > lim.MaxLineSize.Int() {
		if !lim.MaxLineSizeTruncate {
			return validation.ReasonLineTooLong, fmt.Sprintf("max entry size '%d' bytes exceeded for stream '%s' while adding an entry with length '%d' bytes",
				lim.MaxLineSize, stream, len(e.Line))
		}
		e.Line = e.Line[:lim.MaxLineSize.Int()]
	}
	if n := e.StructuredMetadata.Len(); n > 0 {
		if !lim.AllowStructuredMetadata {
			return validation.ReasonDisallowedMetadata, fmt.Sprintf("stream '%s' includes structured metadata, but this feature is disallowed. Please see `limits_config.allow_structured_metadata` or contact your Loki administrator to enable it.", stream)
		}
		if lim.MaxStructuredMetadataEntries > 0 && n > lim.MaxStructuredMetadataEntries {
			return validation.ReasonStructuredMetadata, fmt.Sprintf("structured metadata entries count for stream '%s' is %d, exceeding limit of %d", stream, n, lim.MaxStructuredMetadataEntries)
		}
		size := 0
		e.StructuredMetadata.Range(func(l labels.Label) { size += len(l.Name) + len(l.Value) })
		if lim.MaxStructuredMetadataSize > 0 && size > lim.MaxStructuredMetadataSize.Int() {
			return validation.ReasonStructuredMetadata, fmt.Sprintf("structured metadata size for stream '%s' is %d bytes, exceeding limit of %d bytes", stream, size, lim.MaxStructuredMetadataSize)
		}
	}
	return "", ""
}
