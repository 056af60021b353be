package validation

import (
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// The query types a BlockedQuery may name, as Loki classifies queries.
const (
	QueryTypeMetric  = "metric"  // an aggregation: sum(rate({env="prod"}[1m]))
	QueryTypeFilter  = "filter"  // a log query with a line or label filter: {env="prod"} |= "error"
	QueryTypeLimited = "limited" // a log query without one
)

// BlockedQuery is one entry of a tenant's blocked_queries (Loki's): the tenant's queries that
// match it are refused with "query blocked by policy". A query matches when its type is among
// Types (any type when empty), the request carries every tag of QueryTags (X-Query-Tags; keys
// and values in any case), and then, by the first that is set:
//
//   - Hash: the 32-bit FNV-1 hash of the query text equals it;
//   - Pattern: the query text equals it (spaces around either ignored) or, with Regex, the
//     regular expression matches somewhere in the text; no pattern matches every query.
type BlockedQuery struct {
	Pattern string `yaml:"pattern,omitempty"`
	Regex   bool   `yaml:"regex,omitempty"`
	Hash    uint32 `yaml:"hash,omitempty"`
	// Types is a comma-separated list of metric, filter and limited.
	Types     string            `yaml:"types,omitempty"`
	QueryTags map[string]string `yaml:"query_tags,omitempty"`
}

// validate checks the types and compiles the regular expression, so that a rule which could
// never match as meant is refused when the configuration loads rather than at query time.
func (b *BlockedQuery) validate() error {
	for _, t := range b.types() {
		if t != QueryTypeMetric && t != QueryTypeFilter && t != QueryTypeLimited {
			return fmt.Errorf("types: %q is not one of %s, %s, %s", t, QueryTypeMetric, QueryTypeFilter, QueryTypeLimited)
		}
	}
	if b.Regex && b.Hash == 0 {
		if _, err := compiledPattern(b.Pattern); err != nil {
			return fmt.Errorf("pattern: %w", err)
		}
	}
	return nil
}

func (b *BlockedQuery) types() []string {
	var out []string
	for t := range strings.SplitSeq(b.Types, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// Blocks reports whether b blocks query, of type typ, sent with tags (X-Query-Tags as parsed
// by ParseQueryTags).
func (b *BlockedQuery) Blocks(query, typ string, tags map[string]string) bool {
	if ts := b.types(); len(ts) > 0 && !slices.Contains(ts, typ) {
		return false
	}
	for k, v := range b.QueryTags {
		if got, ok := tags[strings.ToLower(k)]; !ok || got != strings.ToLower(v) {
			return false
		}
	}
	if b.Hash != 0 {
		return b.Hash == HashQuery(query)
	}
	if b.Pattern == "" {
		return true
	}
	if strings.TrimSpace(b.Pattern) == strings.TrimSpace(query) {
		return true
	}
	if !b.Regex {
		return false
	}
	re, err := compiledPattern(b.Pattern)
	return err == nil && re.MatchString(query)
}

// patterns holds the compiled regular expressions of blocked_queries by pattern: the rules are
// checked on every query, and reloaded runtime overrides bring new copies of them.
var patterns sync.Map // string -> *regexp.Regexp

func compiledPattern(p string) (*regexp.Regexp, error) {
	if re, ok := patterns.Load(p); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, err
	}
	patterns.Store(p, re)
	return re, nil
}

// HashQuery is the hash a BlockedQuery's Hash is compared with: the 32-bit FNV-1 hash of the
// query text, as Loki computes it.
func HashQuery(query string) uint32 {
	h := fnv.New32()
	h.Write([]byte(query))
	return h.Sum32()
}

// ParseQueryTags reads an X-Query-Tags header ("Source=grafana,user=ann"), keys and values
// lower-cased; pairs without "=" are left out.
func ParseQueryTags(header string) map[string]string {
	if header == "" {
		return nil
	}
	tags := map[string]string{}
	for pair := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(pair, "=")
		if k = strings.TrimSpace(k); ok && k != "" {
			tags[strings.ToLower(k)] = strings.ToLower(strings.TrimSpace(v))
		}
	}
	return tags
}

// validateBlocked checks every entry of blocked_queries, naming the one at fault.
func validateBlocked(bs []BlockedQuery) error {
	var errs []error
	for i := range bs {
		if err := bs[i].validate(); err != nil {
			errs = append(errs, fmt.Errorf("limits_config.blocked_queries[%d].%w", i, err))
		}
	}
	return errors.Join(errs...)
}
