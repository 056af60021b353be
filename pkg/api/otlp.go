package api

import (
	"net/http"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/sluicelog/sluice/pkg/push/otlp"
	"github.com/sluicelog/sluice/pkg/tenant"
	"github.com/sluicelog/sluice/pkg/validation"
)

// otlpPush serves POST /otlp/v1/logs, Loki's OpenTelemetry logs endpoint, to which the
// OpenTelemetry Collector's otlphttp exporter sends when its endpoint is http://host:3100/otlp.
// The body is mapped to a push request (package otlp), which then takes the path of every
// push: the distributor's validation, limits, service_name and detected_level discovery and
// rate limits. Like Loki, it answers 204 on success.
func (a *API) otlpPush(w http.ResponseWriter, r *http.Request) {
	id, _ := tenant.From(r.Context())
	cfg := a.otlpConfig(id)
	cfg.Now = a.d.Now().UnixNano()
	r.Body = http.MaxBytesReader(w, r.Body, a.d.MaxPushBytes)
	body, err := otlp.Decode(r, a.d.MaxPushBytes, &cfg)
	if err != nil {
		a.writeOTLPError(w, err)
		return
	}
	// The pushers copy what they keep, as for a Loki push (see push).
	defer body.Release()
	if err := a.d.Pusher.Push(r.Context(), id, &body.Request); err != nil {
		a.writeOTLPError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) otlpConfig(tenant string) otlp.Config {
	if a.d.OTLP != nil {
		return a.d.OTLP(tenant)
	}
	return otlp.Config{DefaultIndexLabels: validation.DefaultOTLPIndexLabels, DiscoverServiceName: validation.DefaultDiscoverServiceName}
}

// fieldStatusMessage is google.rpc.Status' message field.
const fieldStatusMessage = 2

// writeOTLPError answers err as Loki's OTLP endpoint does, which follows the OTLP/HTTP
// specification: the status in the header (the same as for a Loki push, except that a 500
// becomes 503, which OTLP clients retry) and, as the body, a protobuf google.rpc.Status
// whose message is the one-line reason and whose code is left out (0), as the specification
// allows. The OpenTelemetry Collector's exporters show that message in their errors.
func (a *API) writeOTLPError(w http.ResponseWriter, err error) {
	status := a.errorStatus(err)
	if status == http.StatusInternalServerError {
		status = http.StatusServiceUnavailable
	}
	b := protowire.AppendTag(nil, fieldStatusMessage, protowire.BytesType)
	b = protowire.AppendString(b, err.Error())
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
