package workload

import (
	"strconv"
	"time"
)

// javaStackChance is the per-mille share of Java lines that are errors with a stack trace.
const javaStackChance = 80

// oomChance is one in how many stack traces is the rare OutOfMemoryError.
const oomChance = 400

// appendJava appends a Spring Boot line. Errors carry their stack trace in the same entry,
// one frame per line, as a multi-line stage (or Docker's json-file joining) would deliver it.
func (g *Generator) appendJava(b []byte, t time.Time) []byte {
	stack := g.rng.IntN(1000) < javaStackChance
	b = t.AppendFormat(b, "2006-01-02 15:04:05.000")
	switch {
	case stack:
		b = append(b, " ERROR"...)
	case g.rng.IntN(20) == 0:
		b = append(b, "  WARN"...)
	default:
		b = append(b, "  INFO"...)
	}
	b = append(b, " 1 --- ["...)
	b = append(b, g.pick(javaThreads)...)
	b = append(b, "] "...)
	b = append(b, g.pick(javaLoggers)...)
	b = append(b, " : "...)
	msgs := javaInfoMessages
	if stack {
		msgs = javaErrorMessages
	}
	b = g.appendPrintf(b, g.pick(msgs), 100000+g.rng.IntN(900000), g.rng.IntN(100000))
	if !stack {
		b = append(b, " in "...)
		b = strconv.AppendInt(b, int64(g.latency()/10), 10)
		return append(b, "ms"...)
	}
	ex := &exceptions[g.rng.IntN(len(exceptions))]
	if g.rng.IntN(oomChance) == 0 {
		ex = &oom
	}
	b = g.appendTrace(b, ex, false)
	if g.rng.IntN(3) == 0 { // a wrapped cause
		b = g.appendTrace(b, &exceptions[g.rng.IntN(len(exceptions))], true)
	}
	return b
}

// appendTrace appends an exception's header and frames: its own, then the framework's.
func (g *Generator) appendTrace(b []byte, ex *exception, cause bool) []byte {
	b = append(b, '\n')
	if cause {
		b = append(b, "Caused by: "...)
	}
	b = append(b, ex.class...)
	b = append(b, ": "...)
	b = append(b, ex.message...)
	for _, f := range ex.frames {
		b = append(b, "\n\tat "...)
		b = append(b, f...)
	}
	if cause {
		b = append(b, "\n\t... "...)
		b = strconv.AppendInt(b, int64(len(springFrames)), 10)
		return append(b, " more"...)
	}
	n := 4 + g.rng.IntN(len(springFrames)-3)
	for _, f := range springFrames[len(springFrames)-n:] {
		b = append(b, "\n\tat "...)
		b = append(b, f...)
	}
	return b
}

// appendPrintf appends format with its two %d verbs replaced by x and y.
func (g *Generator) appendPrintf(b []byte, format string, x, y int) []byte {
	args := [2]int{x, y}
	n := 0
	for i := 0; i < len(format); i++ {
		if format[i] == '%' && i+1 < len(format) && format[i+1] == 'd' && n < len(args) {
			b = strconv.AppendInt(b, int64(args[n]), 10)
			n++
			i++
			continue
		}
		b = append(b, format[i])
	}
	return b
}
