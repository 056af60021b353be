// Package pattern finds the patterns of log lines, as Loki's /loki/api/v1/patterns shows them:
// lines that differ only in a few tokens (timestamps, durations, IDs) collapse into one template
// where the varying tokens read "<_>", e.g.
//
//	ts=<_> caller=grpc_logging.go:66 level=info method=/cortex.Ingester/Push duration=<_> msg=gRPC
//
// The clustering is a Drain-style parse tree: lines are split into tokens, routed by token count
// and their first tokens to a small list of clusters, and joined to the most similar cluster
// when enough of their tokens agree; otherwise they start a new cluster. Each cluster counts its
// lines per time step.
//
// Memory is bounded: a Detector keeps at most Config.MaxClusters clusters (evicting the least
// recently matched), looks at most Config.MaxTokens tokens of a line, and keeps one counter per
// cluster per step.
package pattern
