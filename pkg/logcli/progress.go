package logcli

import (
	"fmt"
	"io"
	"time"
)

// progress keeps one status line on a terminal's stderr during a long batched download:
// "<n> lines, <rate> lines/s". It redraws at most every 200ms and erases itself when done.
type progress struct {
	w       io.Writer
	start   time.Time
	last    time.Time
	lines   int
	drawn   bool
	now     func() time.Time
	minWait time.Duration
}

func newProgress(w io.Writer) *progress {
	t := time.Now()
	return &progress{w: w, start: t, now: time.Now, minWait: 200 * time.Millisecond}
}

func (p *progress) add(n int) {
	p.lines += n
	t := p.now()
	if t.Sub(p.last) < p.minWait {
		return
	}
	p.last = t
	rate := float64(p.lines) / t.Sub(p.start).Seconds()
	fmt.Fprintf(p.w, "\r\x1b[K%d lines downloaded, %.0f lines/s", p.lines, rate)
	p.drawn = true
}

// done erases the status line so that it does not mix with later output.
func (p *progress) done() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}
