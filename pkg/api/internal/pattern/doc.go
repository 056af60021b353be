// Package pattern finds the patterns of log lines the way Loki's pattern ingester does, for
// /loki/api/v1/patterns: lines that differ only in a few tokens (timestamps, durations, IDs)
// collapse into one template where the varying tokens read "<_>".
//
// Each stream gets a format from its first line (DetectFormat), which picks the tokenizer and
// how patterns render:
//
//   - logfmt: key/value pairs; the values of ts, t, time, timestamp and traceID are always
//     "<_>", and the pattern renders as logfmt:
//     ts=<_> level=info caller=x.go:12 msg="job done" job_id=<_> duration=<_>
//   - JSON: only the message (the first string member among log, message, msg, msg_, _msg,
//     content) is tokenized, as plain text; the pattern is that of the message between two
//     wildcards, e.g. <_>item added to cart<_>. Lines without a message are skipped.
//   - plain: split on spaces and punctuation, keeping _ - . : / inside tokens and making '='
//     a token; the pattern renders with the first line's spacing:
//     <_> - - [<_> +0000] "GET <_> HTTP/1.1" 200 <_>
//
// Runs of adjacent wildcards render as one. Lines with fewer than 4 or more than MaxTokens
// tokens, or longer than MaxLineLength, are skipped, as in Loki.
//
// The clustering is Drain: a stream's lines are routed by their token count and their first
// tokens (digits send a token down the wildcard branch) to a short list of clusters, and join
// the most similar one when enough literal tokens agree; tokens that differ become wildcards.
// Otherwise the line starts a new cluster. Each cluster counts its lines per time step.
//
// Memory is bounded: at most Config.MaxClusters clusters in all and MaxClustersPerStream per
// stream (evicting the least recently matched, and pruning the tree branches they leave), at
// most MaxStreams streams with a tree of their own (further streams share one per format), and
// one counter per cluster per step.
package pattern
