// Package workload generates the benchmark's log lines: a deterministic, realistic Kubernetes
// workload of 100 streams (labels namespace, app, container, pod) writing nginx access lines,
// JSON application logs, logfmt worker logs and Java logs with multi-line stack traces.
//
// A Generator is a pure function of its Config: the same seed, line count, span and end time
// give the same streams, the same lines and the same timestamps, in the same order.
// Timestamps rise strictly from line to line across the whole span, so every stream's entries
// are in order whichever way the lines are later split among pushers by stream.
package workload

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Config says what to generate.
type Config struct {
	// Seed picks every random choice.
	Seed uint64
	// Lines is the number of lines to generate.
	Lines int
	// End is the exclusive upper bound of the timestamps; the lines spread over (End-Span, End).
	End time.Time
	// Span is the time the lines cover.
	Span time.Duration
}

// Validate checks that c describes a workload.
func (c Config) Validate() error {
	var errs []error
	if c.Lines <= 0 {
		errs = append(errs, fmt.Errorf("lines: must be positive, got %d", c.Lines))
	}
	if c.Span <= 0 {
		errs = append(errs, fmt.Errorf("span: must be positive, got %s", c.Span))
	}
	if c.Lines > 0 && c.Span > 0 && c.Span.Nanoseconds() < int64(c.Lines) {
		errs = append(errs, fmt.Errorf("span: %s is too short for %d lines with distinct nanosecond timestamps", c.Span, c.Lines))
	}
	if c.End.IsZero() {
		errs = append(errs, errors.New("end: must be set"))
	}
	return errors.Join(errs...)
}

// Generator produces the lines of one workload, in timestamp order.
type Generator struct {
	cfg     Config
	rng     *rand.Rand
	streams []Stream
	// cum holds the running sum of stream weights, for picking a stream per line.
	cum   []int
	total int

	sessions []session // per stream
	bytes    []int64   // line bytes generated per stream
	visitors []visitor
	ips      []string // client addresses, nginx
	podIPs   []string // upstream addresses, ingress
	first    int64    // timestamp of line 0 before jitter
	step     int64    // nanoseconds between consecutive lines
	next     int      // index of the next line
	buf      []byte
}

// New returns a generator for cfg.
func New(cfg Config) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("workload config: %w", err)
	}
	// PCG's output is fixed by its definition, so the lines do not change with the Go release.
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5eed5eed5eed5eed))
	g := &Generator{cfg: cfg, rng: rng, buf: make([]byte, 0, 4096)}
	g.streams = newStreams(rng)
	g.cum = make([]int, len(g.streams))
	for i, s := range g.streams {
		g.total += s.weight
		g.cum[i] = g.total
	}
	g.ips = make([]string, 4000)
	for i := range g.ips {
		g.ips[i] = fmt.Sprintf("%d.%d.%d.%d", 1+rng.IntN(223), rng.IntN(256), rng.IntN(256), 1+rng.IntN(254))
	}
	g.podIPs = make([]string, 64)
	for i := range g.podIPs {
		g.podIPs[i] = fmt.Sprintf("10.244.%d.%d", rng.IntN(16), 2+rng.IntN(250))
	}
	g.newVisitors()
	g.sessions = make([]session, len(g.streams))
	g.bytes = make([]int64, len(g.streams))
	g.step = cfg.Span.Nanoseconds() / int64(cfg.Lines)
	g.first = cfg.End.UnixNano() - int64(cfg.Lines)*g.step
	return g, nil
}

// Streams returns the workload's streams; Next's stream numbers index this slice.
// The caller must not modify it.
func (g *Generator) Streams() []Stream { return g.streams }

// Next generates the next line. It returns the stream the line belongs to, its timestamp in
// Unix nanoseconds and its text, or ok false when all lines have been generated.
// The line is a fresh string the caller owns.
func (g *Generator) Next() (stream int, ts int64, line string, ok bool) {
	if g.next >= g.cfg.Lines {
		return 0, 0, "", false
	}
	// Line i falls in [first+i*step, first+(i+1)*step), never on its lower end, so timestamps
	// rise strictly and stay inside (End-Span, End).
	ts = g.first + int64(g.next)*g.step + 1
	if g.step > 1 {
		ts += g.rng.Int64N(g.step - 1)
	}
	g.next++
	stream = g.pickStream()
	g.buf = g.appendLine(g.buf[:0], &g.streams[stream], &g.sessions[stream], time.Unix(0, ts).UTC())
	g.bytes[stream] += int64(len(g.buf))
	return stream, ts, string(g.buf), true
}

// StreamBytes returns the line bytes generated so far for each stream, indexed like Streams.
func (g *Generator) StreamBytes() []int64 { return append([]int64(nil), g.bytes...) }

// pickStream draws a stream with probability proportional to its weight.
func (g *Generator) pickStream() int {
	r := g.rng.IntN(g.total)
	lo, hi := 0, len(g.cum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if g.cum[mid] > r {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

func (g *Generator) appendLine(b []byte, s *Stream, ss *session, t time.Time) []byte {
	switch s.Format {
	case Nginx:
		return g.appendNginx(b, s, ss, t)
	case JSON:
		return g.appendJSON(b, ss, t)
	case Logfmt:
		return g.appendLogfmt(b, ss, t)
	default:
		return g.appendJava(b, t)
	}
}
