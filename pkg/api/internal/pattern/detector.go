package pattern

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Config tunes a Detector. Zero fields take the defaults below.
type Config struct {
	// MaxClusters bounds the patterns kept at once (default 1000).
	MaxClusters int
	// Similarity is the share of tokens that must agree for a line to join a cluster
	// (default 0.3, Drain's usual threshold; wildcards agree with anything).
	Similarity float64
	// PrefixTokens is how many leading tokens route a line in the parse tree (default 2).
	PrefixTokens int
	// MaxChildren bounds the branches of a tree node; further lines share a wildcard branch
	// (default 100).
	MaxChildren int
	// MaxTokens bounds the tokens looked at per line (default 128).
	MaxTokens int
}

func (c *Config) defaults() {
	if c.MaxClusters <= 0 {
		c.MaxClusters = 1000
	}
	if c.Similarity <= 0 {
		c.Similarity = 0.3
	}
	if c.PrefixTokens <= 0 {
		c.PrefixTokens = 2
	}
	if c.MaxChildren <= 0 {
		c.MaxChildren = 100
	}
	if c.MaxTokens <= 1 {
		c.MaxTokens = 128
	}
}

// Detector clusters lines into patterns and counts each pattern's lines per step. It is not
// safe for concurrent use.
type Detector struct {
	cfg      Config
	step     int64 // ns
	root     map[int]*node
	clusters int
	seq      uint64
	buf      []token
}

// node is a level of the parse tree: children by token, clusters at the leaves.
type node struct {
	children map[string]*node
	clusters []*cluster
}

type cluster struct {
	tokens   []token
	leaf     *node
	lastSeen uint64
	total    int64
	samples  map[int64]int64 // step start (ns) → lines
}

// New returns a Detector counting lines per step (at least 1ns).
func New(cfg Config, step time.Duration) *Detector {
	cfg.defaults()
	return &Detector{cfg: cfg, step: max(int64(step), 1), root: map[int]*node{}}
}

// Add adds one line seen at ts (Unix ns). line is not retained.
func (d *Detector) Add(ts int64, line string) {
	d.buf = tokenize(d.buf, line, d.cfg.MaxTokens)
	if len(d.buf) == 0 {
		return
	}
	d.seq++
	leaf := d.leaf(d.buf)
	c := d.best(leaf, d.buf)
	if c == nil {
		c = &cluster{tokens: cloneTokens(d.buf), leaf: leaf, samples: map[int64]int64{}}
		leaf.clusters = append(leaf.clusters, c)
		d.clusters++
		if d.clusters > d.cfg.MaxClusters {
			d.evict(c)
		}
	} else {
		for i, t := range d.buf {
			if c.tokens[i].text != Wildcard && c.tokens[i].text != t.text {
				c.tokens[i].text = Wildcard
			}
		}
	}
	c.lastSeen = d.seq
	c.total++
	bucket := ts - ts%d.step
	if ts < 0 && ts%d.step != 0 {
		bucket -= d.step
	}
	c.samples[bucket]++
}

// leaf walks (creating as needed) the tree path of tokens: their count, then the first
// PrefixTokens tokens, with tokens holding digits on the wildcard branch.
func (d *Detector) leaf(tokens []token) *node {
	n := d.root[len(tokens)]
	if n == nil {
		n = &node{}
		d.root[len(tokens)] = n
	}
	for i := 0; i < d.cfg.PrefixTokens && i < len(tokens); i++ {
		key := tokens[i].text
		if hasDigit(key) {
			key = Wildcard
		}
		child := n.children[key]
		if child == nil {
			if n.children == nil {
				n.children = map[string]*node{}
			}
			if len(n.children) >= d.cfg.MaxChildren {
				key = Wildcard
				child = n.children[key]
			}
			if child == nil {
				child = &node{}
				n.children[strings.Clone(key)] = child
			}
		}
		n = child
	}
	return n
}

// best returns the leaf's cluster most similar to tokens, or nil when none reaches the
// threshold.
func (d *Detector) best(leaf *node, tokens []token) *cluster {
	var best *cluster
	bestSim, bestWild := -1.0, -1
	for _, c := range leaf.clusters {
		same, wild := 0, 0
		for i, t := range c.tokens {
			switch {
			case t.text == Wildcard:
				wild++
				same++
			case t.text == tokens[i].text:
				same++
			}
		}
		sim := float64(same) / float64(len(tokens))
		if sim > bestSim || (sim == bestSim && wild > bestWild) {
			best, bestSim, bestWild = c, sim, wild
		}
	}
	if bestSim < d.cfg.Similarity {
		return nil
	}
	return best
}

// evict drops the least recently matched tenth of the clusters, never keep.
func (d *Detector) evict(keep *cluster) {
	var all []*cluster
	d.walk(func(c *cluster) { all = append(all, c) })
	slices.SortFunc(all, func(a, b *cluster) int { return cmp.Compare(a.lastSeen, b.lastSeen) })
	n := max(len(all)/10, 1)
	for _, c := range all {
		if n == 0 {
			break
		}
		if c == keep {
			continue
		}
		c.leaf.clusters = slices.DeleteFunc(c.leaf.clusters, func(x *cluster) bool { return x == c })
		d.clusters--
		n--
	}
}

func (d *Detector) walk(f func(*cluster)) {
	var visit func(n *node)
	visit = func(n *node) {
		for _, c := range n.clusters {
			f(c)
		}
		for _, child := range n.children {
			visit(child)
		}
	}
	for _, n := range d.root {
		visit(n)
	}
}

// Sample is a pattern's line count in one step starting at T (Unix seconds).
type Sample struct {
	T     int64
	Count int64
}

// Pattern is a detected pattern with its counts per step, in time order.
type Pattern struct {
	Pattern string
	Total   int64
	Samples []Sample
}

// Patterns returns the patterns found so far, the most frequent first. Clusters whose template
// rendered the same (they took different tree paths) are merged.
func (d *Detector) Patterns() []Pattern {
	byText := map[string]map[int64]int64{}
	totals := map[string]int64{}
	d.walk(func(c *cluster) {
		text := render(c.tokens)
		m := byText[text]
		if m == nil {
			m = map[int64]int64{}
			byText[text] = m
		}
		for t, n := range c.samples {
			m[t] += n
		}
		totals[text] += c.total
	})
	out := make([]Pattern, 0, len(byText))
	for text, m := range byText {
		p := Pattern{Pattern: text, Total: totals[text], Samples: make([]Sample, 0, len(m))}
		for t, n := range m {
			p.Samples = append(p.Samples, Sample{T: t / int64(time.Second), Count: n})
		}
		slices.SortFunc(p.Samples, func(a, b Sample) int { return cmp.Compare(a.T, b.T) })
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Pattern) int {
		return cmp.Or(cmp.Compare(b.Total, a.Total), strings.Compare(a.Pattern, b.Pattern))
	})
	return out
}

func cloneTokens(ts []token) []token {
	out := make([]token, len(ts))
	for i, t := range ts {
		out[i] = token{text: strings.Clone(t.text), glued: t.glued}
	}
	return out
}
