// Package otlp decodes OpenTelemetry (OTLP/HTTP) log export requests, the bodies the
// OpenTelemetry Collector's otlphttp exporter and Grafana Alloy's otelcol.exporter.otlphttp
// send to Loki's POST /otlp/v1/logs, and maps them to a logproto.PushRequest the way Loki 3
// does, so that the distributor stores exactly the labels, structured metadata, lines and
// timestamps Loki would.
//
// The steps, each usable alone:
//
//   - Decode reads an HTTP request: protobuf (application/x-protobuf) or OTLP/JSON
//     (application/json) bodies, optionally gzip-, zstd- or lz4-compressed, as Loki accepts.
//   - UnmarshalProto and UnmarshalJSON decode a body into Logs, a flat form of
//     ExportLogsServiceRequest whose strings alias the body (no generated code: the protobuf
//     decoder reads the wire format with protowire).
//   - Map turns Logs into streams following a tenant's otlp_config (mapping.go describes the
//     rules and where each comes from in Loki).
//
// One difference with Loki lies outside this package. With discover_service_name set, Map
// gives every stream a service_name, as Loki does, except the streams of a resource that has a
// service.name attribute which is not a stream label (an otlp_config can make it structured
// metadata). Loki stores those without service_name, while Sluice's distributor, which gives
// one to every stream lacking it, adds one (from the stream's labels, else unknown_service).
package otlp
