// Package push decodes and encodes the bodies of Loki's push API (POST /loki/api/v1/push):
// snappy-compressed protobuf (logproto.PushRequest), Loki's JSON, and the legacy JSON of
// /api/prom/push, each optionally gzip- or deflate-compressed as Content-Encoding says.
//
// The protobuf decoder reads the wire format directly with protowire (no generated code) and
// does not copy strings: lines and labels of the decoded request alias the decompressed body,
// which the decoder allocates and never reuses, so the request may be kept as long as needed.
package push
