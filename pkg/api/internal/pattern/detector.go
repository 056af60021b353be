package pattern

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/sluicelog/sluice/pkg/logfmt"
)

// Detector clusters lines into patterns and counts each pattern's lines per step. Each stream
// has a parse tree and format per log level, the format picked from the first line it is
// given, as Loki's pattern ingester keeps one per stream and level; patterns of different
// streams that render the same at the same level are merged by Patterns. A Detector is not safe
// for concurrent use.
type Detector struct {
	cfg     Config
	step    int64 // ns
	streams map[streamKey]*stream
	shared  map[sharedKey]*stream // for the lines of streams past Config.MaxStreams
	all     lru                   // every cluster
	n       int                   // clusters in all

	// Scratch space for the line being added.
	toks    []token
	lead    int
	scratch []byte
	logfmt  logfmt.Scanner
}

type streamKey struct {
	id    uint64
	level string
}

type sharedKey struct {
	format Format
	level  string
}

// stream is the parse tree and bookkeeping of one stream's lines of one level.
type stream struct {
	format Format
	level  string
	roots  map[int]*node // by token count
	own    lru           // this stream's clusters
	n      int           // clusters in own
	max    int           // bound on n
	shared bool          // holds the lines of many streams

	// Loki ignores a line older than the stream's last; lastTS is 0 until seen is set.
	seen   bool
	lastTS int64

	// The eviction limiter: lines taken and clusters evicted since the last reset, and
	// whether the stream is throttled until blockedUntil (a line timestamp).
	added, evicted int64
	blocked        bool
	blockedUntil   int64
}

type cluster struct {
	s       *stream
	leaf    *node
	tokens  []token
	lead    int // spaces before the first token (plain and JSON formats)
	total   int64
	buckets []bucket // in time order
	all     link
	own     link
}

type bucket struct {
	t int64 // step start, Unix ns
	n int64
}

// throttle is how long a stream whose lines keep evicting patterns is left alone, in line time
// (Loki blocks such a stream for 10 minutes of wall time, which is about as much line time as
// it ingests meanwhile).
const throttle = int64(10 * time.Minute)

// New returns a Detector counting lines per step (at least 1ns).
func New(cfg Config, step time.Duration) *Detector {
	cfg.defaults()
	d := &Detector{cfg: cfg, step: max(int64(step), 1), streams: map[streamKey]*stream{}, shared: map[sharedKey]*stream{}}
	d.all.init()
	return d
}

func (d *Detector) newStream(f Format, level string, maxClusters int, shared bool) *stream {
	s := &stream{format: f, level: level, max: maxClusters, shared: shared}
	s.own.init()
	return s
}

// Add adds one line of the stream with the given ID (any value that tells streams apart, such
// as a hash of their labels), seen at ts (Unix ns), with no level. line is not retained.
func (d *Detector) Add(streamID uint64, ts int64, line string) { d.AddLevel(streamID, "", ts, line) }

// AddLevel is Add for a line of the given level (its detected_level): as in Loki, the lines of
// each level are clustered apart, and their patterns carry the level. Lines of a stream should
// come in time order: like Loki, it ignores a line older than the last of its stream and level.
func (d *Detector) AddLevel(streamID uint64, level string, ts int64, line string) {
	s := d.streams[streamKey{streamID, level}]
	if s == nil {
		f := DetectFormat(line)
		if len(d.streams) < d.cfg.MaxStreams {
			s = d.newStream(f, level, d.cfg.MaxClustersPerStream, false)
			d.streams[streamKey{streamID, level}] = s
		} else {
			k := sharedKey{f, level}
			if s = d.shared[k]; s == nil {
				s = d.newStream(f, level, d.cfg.MaxClusters, true)
				d.shared[k] = s
			}
		}
	}
	if !s.shared {
		if s.seen && ts < s.lastTS {
			return
		}
		s.seen, s.lastTS = true, ts
	}
	if !s.allow(ts, d.cfg.MaxEvictionRatio) || !d.tokenize(s.format, line) {
		return
	}
	leaf := s.search(d.toks, d.cfg.PrefixTokens)
	var c *cluster
	if leaf != nil {
		c = bestCluster(leaf, d.toks, d.cfg.Similarity)
	}
	if c == nil {
		c = d.newCluster(s)
	} else {
		for i, t := range d.toks {
			if c.tokens[i].text != t.text {
				c.tokens[i].text = Wildcard
			}
		}
		s.own.moveToFront(&c.own)
		d.all.moveToFront(&c.all)
	}
	c.count(ts - mod(ts, d.step))
}

// tokenize splits line by format into d.toks (and d.lead), and reports whether the line is to
// be clustered: not too long, decodable, and with between minTokens and MaxTokens tokens.
func (d *Detector) tokenize(f Format, line string) bool {
	d.toks, d.lead, d.scratch = d.toks[:0], 0, d.scratch[:0]
	ok := false
	switch f {
	case FormatJSON:
		var msg string
		if msg, ok = jsonMessage(line, d.cfg.JSONFields); !ok || len(msg) > d.cfg.MaxLineLength {
			return false
		}
		d.lead, d.toks, ok = punctuate(d.toks, msg, d.cfg.MaxTokens)
	case FormatLogfmt:
		if len(line) > d.cfg.MaxLineLength {
			return false
		}
		d.toks, ok = logfmtTokens(d.toks, &d.logfmt, &d.scratch, line, d.cfg.MaxTokens)
	default:
		if len(line) > d.cfg.MaxLineLength {
			return false
		}
		d.lead, d.toks, ok = punctuate(d.toks, line, d.cfg.MaxTokens)
	}
	return ok && len(d.toks) >= minTokens
}

// newCluster makes a cluster of the current line in s, evicting to keep the bounds.
func (d *Detector) newCluster(s *stream) *cluster {
	leaf := s.insert(d.toks, d.cfg.PrefixTokens, d.cfg.MaxChildren)
	c := &cluster{s: s, leaf: leaf, tokens: cloneTokens(d.toks), lead: d.lead}
	c.all.c, c.own.c = c, c
	leaf.clusters = append(leaf.clusters, c)
	s.own.pushFront(&c.own)
	s.n++
	d.all.pushFront(&c.all)
	d.n++
	if s.n > s.max {
		d.remove(s.own.back())
	}
	if d.n > d.cfg.MaxClusters {
		d.remove(d.all.back())
	}
	return c
}

// remove evicts c, and the tree branches it leaves empty. The eviction counts against its
// stream's limiter whether the stream or the Detector was full: either way the stream's lines
// keep making patterns that do not last.
func (d *Detector) remove(c *cluster) {
	s := c.s
	s.evicted++
	c.leaf.clusters = slices.DeleteFunc(c.leaf.clusters, func(x *cluster) bool { return x == c })
	s.prune(c.leaf, len(c.tokens))
	s.own.remove(&c.own)
	s.n--
	d.all.remove(&c.all)
	d.n--
}

// allow is Loki's eviction limiter: once a stream's evictions exceed ratio of its lines, its
// lines are skipped until throttle after the line that tripped it, and the counts start over.
func (s *stream) allow(ts int64, ratio float64) bool {
	if s.blocked {
		if ts < s.blockedUntil {
			return false
		}
		s.blocked, s.added, s.evicted = false, 0, 0
	}
	if s.added > 0 && float64(s.evicted)/float64(s.added) > ratio {
		s.blocked, s.blockedUntil = true, ts+throttle
		return false
	}
	s.added++
	return true
}

func (c *cluster) count(t int64) {
	c.total++
	k := len(c.buckets)
	switch {
	case k > 0 && c.buckets[k-1].t == t:
		c.buckets[k-1].n++
	case k == 0 || c.buckets[k-1].t < t:
		c.buckets = append(c.buckets, bucket{t: t, n: 1})
	default:
		i, found := slices.BinarySearchFunc(c.buckets, t, func(b bucket, t int64) int { return cmp.Compare(b.t, t) })
		if found {
			c.buckets[i].n++
		} else {
			c.buckets = slices.Insert(c.buckets, i, bucket{t: t, n: 1})
		}
	}
}

// mod is ts modulo step, in [0, step) also for negative ts.
func mod(ts, step int64) int64 {
	m := ts % step
	if m < 0 {
		m += step
	}
	return m
}

// cloneTokens copies ts with their texts in one allocation.
func cloneTokens(ts []token) []token {
	n := 0
	for _, t := range ts {
		n += len(t.text)
	}
	var sb strings.Builder
	sb.Grow(n)
	for _, t := range ts {
		sb.WriteString(t.text)
	}
	all := sb.String()
	out := make([]token, len(ts))
	for i, t := range ts {
		out[i] = token{text: all[:len(t.text)], spaces: t.spaces}
		all = all[len(t.text):]
	}
	return out
}

// Sample is a pattern's line count in one step starting at T (Unix seconds).
type Sample struct {
	T     int64
	Count int64
}

// Pattern is a detected pattern with its counts per step, in time order.
type Pattern struct {
	Pattern string
	Level   string
	Total   int64
	Samples []Sample
}

// Patterns returns the patterns found so far, the most frequent first (ties in text order).
// Patterns of one level that render the same (in different streams, or reached by different
// tree paths) are merged, as Loki merges the patterns of its streams.
func (d *Detector) Patterns() []Pattern {
	type merged struct {
		total   int64
		buckets []bucket
	}
	type key struct{ level, text string }
	byText := map[key]*merged{}
	var buf []byte
	d.all.each(func(c *cluster) {
		buf = appendPattern(buf[:0], c.s.format, c.lead, c.tokens)
		if len(buf) == 0 {
			return
		}
		m := byText[key{c.s.level, string(buf)}]
		if m == nil {
			m = &merged{}
			byText[key{c.s.level, string(buf)}] = m
		}
		m.total += c.total
		m.buckets = append(m.buckets, c.buckets...)
	})
	out := make([]Pattern, 0, len(byText))
	for k, m := range byText {
		slices.SortFunc(m.buckets, func(a, b bucket) int { return cmp.Compare(a.t, b.t) })
		p := Pattern{Pattern: k.text, Level: k.level, Total: m.total}
		for _, b := range m.buckets {
			t := b.t / int64(time.Second)
			if k := len(p.Samples); k > 0 && p.Samples[k-1].T == t {
				p.Samples[k-1].Count += b.n
				continue
			}
			p.Samples = append(p.Samples, Sample{T: t, Count: b.n})
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Pattern) int {
		return cmp.Or(cmp.Compare(b.Total, a.Total), strings.Compare(a.Pattern, b.Pattern), strings.Compare(a.Level, b.Level))
	})
	return out
}
