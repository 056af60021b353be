// Package logcli is the library behind cmd/logcli, Sluice's command-line client. It behaves like
// Grafana Loki's logcli (same commands, flags, environment variables and output) and works against
// both Sluice and a real Loki server.
//
// The pieces:
//   - Client (client.go) speaks Loki's HTTP API: query, query_range, labels, series, index stats
//     and volume, detected fields, deletes, and the tail websocket. It adds tenant, auth and tag
//     headers, retries failed requests with backoff, and turns error responses into *HTTPError.
//   - The response types (response.go) decode Loki's JSON shapes (status, data, resultType,
//     result, stats).
//   - Query (query.go, paging.go, parallel.go, tail.go) runs a LogQL query and prints its result:
//     log lines through a LogOutput (default, raw or jsonl), metric results as indented JSON.
//     Range queries are paged with repeated query_range requests (--batch) without duplicates or
//     gaps at page boundaries, even when many entries share one timestamp.
//   - The other commands (labels, series, stats, volume, detected-fields, delete) live in their
//     own files and print exactly what Loki's logcli prints.
package logcli
