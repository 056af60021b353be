package pattern

import (
	"slices"
	"strings"
)

// node is a level of a stream's parse tree. The root of each token count routes by the line's
// first token, its children by the second, and so on for up to Config.PrefixTokens tokens; the
// node reached holds the clusters lines of that path can join.
type node struct {
	parent   *node
	key      string  // the token leading here from parent, or Wildcard
	children []*node // at most Config.MaxChildren, searched in order (there are few)
	clusters []*cluster
}

func (n *node) child(key string) *node {
	for _, c := range n.children {
		if c.key == key {
			return c
		}
	}
	return nil
}

func (n *node) addChild(key string) *node {
	c := &node{parent: n, key: strings.Clone(key)}
	n.children = append(n.children, c)
	return c
}

func (n *node) wildcardChild() *node {
	if c := n.child(Wildcard); c != nil {
		return c
	}
	return n.addChild(Wildcard)
}

// routed is how many leading tokens of a line of n tokens route it: never the last one.
func routed(n, prefix int) int { return min(prefix, n-1) }

// search returns the node holding the clusters a line's tokens may join, or nil when none
// exists yet. Each token takes its own branch when there is one, else the wildcard branch.
func (s *stream) search(toks []token, prefix int) *node {
	n := s.roots[len(toks)]
	for i := range routed(len(toks), prefix) {
		if n == nil {
			return nil
		}
		next := n.child(toks[i].text)
		if next == nil {
			next = n.child(Wildcard)
		}
		n = next
	}
	return n
}

// insert returns the node for a new cluster of toks, creating the path to it. A token takes
// its own branch when one exists. Otherwise a token holding a digit takes the wildcard branch,
// and any other token gets a new branch while the node has room: the last of maxChildren
// places goes to the wildcard branch, which takes every token once the node is full.
func (s *stream) insert(toks []token, prefix, maxChildren int) *node {
	n := s.roots[len(toks)]
	if n == nil {
		if s.roots == nil {
			s.roots = map[int]*node{}
		}
		n = &node{}
		s.roots[len(toks)] = n
	}
	for i := range routed(len(toks), prefix) {
		t := toks[i].text
		if next := n.child(t); next != nil {
			n = next
			continue
		}
		hasWild := n.child(Wildcard) != nil
		switch {
		case hasNumber(t):
			n = n.wildcardChild()
		case hasWild && len(n.children) < maxChildren, !hasWild && len(n.children)+1 < maxChildren:
			n = n.addChild(t)
		default:
			n = n.wildcardChild()
		}
	}
	return n
}

// prune removes n and its ancestors while they hold neither clusters nor children, so that
// evicted clusters leave no branches behind. size is the token count n's tree is rooted at.
func (s *stream) prune(n *node, size int) {
	for len(n.clusters) == 0 && len(n.children) == 0 {
		p := n.parent
		if p == nil {
			delete(s.roots, size)
			return
		}
		p.children = slices.DeleteFunc(p.children, func(c *node) bool { return c == n })
		n = p
	}
}

// bestCluster returns the cluster of leaf most similar to toks, or nil when none reaches
// threshold. Similarity is the share of positions where the cluster's token is literal and
// equal to the line's; wildcards count for nothing, but among equally similar clusters the one
// with most wildcards wins (Drain's rule).
func bestCluster(leaf *node, toks []token, threshold float64) *cluster {
	var best *cluster
	bestSim, bestWild := -1.0, -1
	for _, c := range leaf.clusters {
		same, wild := 0, 0
		for i, t := range c.tokens {
			switch {
			case t.text == Wildcard:
				wild++
			case t.text == toks[i].text:
				same++
			}
		}
		sim := float64(same) / float64(len(toks))
		if sim > bestSim || sim == bestSim && wild > bestWild {
			best, bestSim, bestWild = c, sim, wild
		}
	}
	if bestSim < threshold {
		return nil
	}
	return best
}
