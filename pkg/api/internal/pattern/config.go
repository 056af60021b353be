package pattern

// Config tunes a Detector. Zero fields take the defaults, which are those of Loki's pattern
// ingester wherever Loki has one, so that Sluice shows the patterns Loki would.
type Config struct {
	// MaxClusters bounds the patterns held at once over all streams (default 10000, some 25MB
	// at worst). Past it the least recently matched pattern of any stream is dropped, which
	// counts as an eviction of that stream for MaxEvictionRatio.
	MaxClusters int
	// MaxClustersPerStream bounds the patterns of one stream (default 300, Loki's
	// -pattern-ingester.max-clusters). Past it the stream's least recently matched pattern is
	// dropped, which counts as an eviction for MaxEvictionRatio.
	MaxClustersPerStream int
	// MaxEvictionRatio throttles a stream whose lines do not settle into patterns: once its
	// evictions exceed this share of its lines, its next 10 minutes of lines (by timestamp)
	// are skipped (default 0.25, Loki's -pattern-ingester.max-eviction-ratio).
	MaxEvictionRatio float64
	// MaxStreams bounds the streams that get a parse tree of their own (default 10000); the
	// lines of further streams share one tree per log format.
	MaxStreams int
	// Similarity is the share of a line's tokens that must equal a pattern's literal tokens
	// for the line to join it (default 0.3, Drain's and Loki's threshold).
	Similarity float64
	// PrefixTokens is how many leading tokens route a line in the parse tree (default 27: Loki's
	// tree of depth 30 less its root and its token-count level). The last token never routes.
	PrefixTokens int
	// MaxChildren bounds the branches of a tree node; once full, further tokens share the
	// wildcard branch (default 15, Loki's).
	MaxChildren int
	// MaxTokens is the most tokens a line may have; longer lines are skipped (default 80, as
	// Loki). Lines of fewer than 4 tokens are skipped too.
	MaxTokens int
	// MaxLineLength is the longest line, or JSON message, in bytes that is clustered; longer
	// ones are skipped (default 3000, Loki's -pattern-ingester.max-allowed-line-length).
	MaxLineLength int
	// JSONFields names the members whose string value is a JSON line's message, the first
	// present one winning (default Loki's log, message, msg, msg_, _msg, content). At most 64.
	JSONFields []string
}

// minTokens is the fewest tokens a line needs to be clustered; Loki skips shorter lines, whose
// patterns say little.
const minTokens = 4

func (c *Config) defaults() {
	if c.MaxClusters <= 0 {
		c.MaxClusters = 10000
	}
	if c.MaxClustersPerStream <= 0 {
		c.MaxClustersPerStream = 300
	}
	if c.MaxEvictionRatio <= 0 {
		c.MaxEvictionRatio = 0.25
	}
	if c.MaxStreams <= 0 {
		c.MaxStreams = 10000
	}
	if c.Similarity <= 0 {
		c.Similarity = 0.3
	}
	if c.PrefixTokens <= 0 {
		c.PrefixTokens = 27
	}
	if c.MaxChildren <= 1 {
		c.MaxChildren = 15
	}
	if c.MaxTokens < minTokens {
		c.MaxTokens = 80
	}
	if c.MaxLineLength <= 0 {
		c.MaxLineLength = 3000
	}
	if len(c.JSONFields) == 0 {
		c.JSONFields = []string{"log", "message", "msg", "msg_", "_msg", "content"}
	}
	if len(c.JSONFields) > 64 {
		c.JSONFields = c.JSONFields[:64]
	}
}
